"""Write the bad-input corpus of this folder (README.md lists each file and what must happen to it).

Run from the repository root: `python tests/data/bad/make_corpus.py`. Deterministic (no clock, seeded random), so
re-running it leaves `git status` clean. Files too big to commit (a 10 MB line, JSON nested 100,000 deep, 10,000
columns, a file over the upload limit) are made at test time by tests/unit/test_bad_input.py instead.
"""
from __future__ import annotations

import io
import json
import random
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent

JIRA_HEADER = ("Summary,Issue key,Issue id,Issue Type,Status,Project key,Priority,Resolution,Created,Updated,"
               "Resolved,Custom field (Story Points),Sprint")
JIRA_ROWS = [
    "Login page,BAD-1,10001,Story,Done,BAD,High,Done,03/Jun/24 9:00 AM,07/Jun/24 5:30 PM,07/Jun/24 5:30 PM,3.0,BAD Sprint 1",
    "Export report,BAD-2,10002,Bug,In Progress,BAD,Medium,,04/Jun/24 10:00 AM,08/Jun/24 11:00 AM,,,BAD Sprint 1",
    "Dark mode,BAD-3,10003,Story,To Do,BAD,Low,,05/Jun/24 2:00 PM,05/Jun/24 2:00 PM,,5.0,",
]


def jira(rows=JIRA_ROWS, header=JIRA_HEADER, sep="\n") -> str:
    return sep.join([header, *rows]) + sep


ZENTAO_BUG_HEADER = ["Bug编号", "所属产品", "所属模块", "Bug标题", "严重程度", "优先级", "Bug类型", "Bug状态", "激活次数",
                     "由谁创建", "创建日期", "解决方案", "解决日期"]
ZENTAO_BUG_ROWS = [
    ["1", "智慧园区(#2)", "/登录(#8)", "登录页白屏", "2(#2)", "1(#1)", "代码错误(#codeerror)", "已解决(#resolved)", "1",
     "测试甲", "2024-05-06 10:00:00", "已解决(#fixed)", "2024-05-08 17:00:00"],
    ["2", "智慧园区(#2)", "/支付(#12)", "退款金额错误", "1(#1)", "1(#1)", "代码错误(#codeerror)", "激活(#active)", "0",
     "测试乙", "2024-05-07 11:00:00", "", ""],
    ["3", "智慧园区(#2)", "/支付(#12)", "订单列表分页失效", "3(#3)", "2(#2)", "代码错误(#codeerror)", "激活(#active)", "0",
     "测试甲", "2024-05-09 09:30:00", "", ""],
]


def zentao_csv(header, rows) -> str:
    """Exactly as ZenTao's export2csv.html.php writes: every cell quoted, one extra empty cell per data row."""
    out = '"' + '","'.join(header) + '"\n'
    for row in rows:
        out += '"' + "".join(v + '","' for v in row) + '"\n'
    return out


def png_bytes() -> bytes:
    """A real 1x1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def compound_file(streams: list[str]) -> bytes:
    """A minimal, well-formed OLE2 compound file (what Excel 97-2003 writes, and what Excel writes for a
    password-protected .xlsx) holding empty streams with these names."""
    header = bytearray(512)
    header[0:8] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    struct.pack_into("<HHHHH", header, 24, 0x3E, 3, 0xFFFE, 9, 6)
    struct.pack_into("<I", header, 44, 1)              # one FAT sector
    struct.pack_into("<I", header, 48, 1)              # directory starts at sector 1
    struct.pack_into("<I", header, 56, 4096)           # mini stream cutoff
    struct.pack_into("<IIII", header, 60, 0xFFFFFFFE, 0, 0xFFFFFFFE, 0)
    difat = [0] + [0xFFFFFFFF] * 108
    struct.pack_into("<109I", header, 76, *difat)
    fat = struct.pack("<128I", 0xFFFFFFFD, 0xFFFFFFFE, *[0xFFFFFFFF] * 126)

    def entry(name: str, kind: int, child: int = 0xFFFFFFFF, right: int = 0xFFFFFFFF) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        e = bytearray(128)
        e[0:len(raw)] = raw
        struct.pack_into("<HBB", e, 64, len(raw), kind, 1)
        struct.pack_into("<III", e, 68, 0xFFFFFFFF, right, child)
        struct.pack_into("<I", e, 116, 0xFFFFFFFE)
        return bytes(e)
    entries = [entry("Root Entry", 5, child=1)]
    for i, name in enumerate(streams, start=1):
        entries.append(entry(name, 2, right=i + 1 if i < len(streams) else 0xFFFFFFFF))
    directory = b"".join(entries).ljust(512, b"\x00")
    return bytes(header) + fat + directory


def zip_bytes(files: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 6, 1, 0, 0, 0))
            z.writestr(info, text)
    return buf.getvalue()


def corpus() -> dict[str, bytes]:
    rnd = random.Random(20241125)
    files: dict[str, bytes] = {}

    # --- not a text export at all ---
    files["empty.csv"] = b""
    files["whitespace_only.csv"] = b"  \r\n\t\n   \n"
    files["bom_only.csv"] = b"\xef\xbb\xbf"
    files["png_named.csv"] = png_bytes()
    files["zip_not_xlsx.xlsx"] = zip_bytes({"readme.txt": "not a workbook\n", "data/issues.csv": jira()})
    files["random_bytes.xlsx"] = rnd.randbytes(2048)
    files["encrypted.xlsx"] = compound_file(["EncryptionInfo", "EncryptedPackage", "\x06DataSpaces"])
    files["old_excel.xls"] = compound_file(["Workbook", "\x05SummaryInformation"])
    files["nul_bytes_jira.csv"] = jira(JIRA_ROWS[:1] + ["Export\x00report,BAD-2,10002,Bug,In Progress,BAD,Medium,,"
                                                        "04/Jun/24 10:00 AM,08/Jun/24 11:00 AM,,,"] + JIRA_ROWS[2:]
                                       ).encode()

    # --- text, but not in an encoding we read ---
    files["utf16le_no_bom_jira.csv"] = jira().encode("utf-16-le")
    cp = ("#,Project,Tracker,Status,Priority,Subject,Author,Created\n"
          + "".join(f"{100 + i},Café Crème,Bug,New,Normal,Prix affiché – {w} « erroné »,José Müller,06/0{1 + i % 9}/2024 09:00 AM\n"
                    for i, w in enumerate(["déjà", "générique", "réservé", "façade", "naïve", "über", "señal",
                                           "garçon", "fiancée", "Ångström", "œuvre", "côté"])))
    files["cp1252_redmine.csv"] = cp.encode("cp1252")
    utf8_rows = [f"登录页面 {i},MIX-{i},{2000 + i},Story,To Do,MIX,High,,03/Jun/24 9:00 AM,03/Jun/24 9:00 AM,,,"
                 for i in range(1, 5)]
    gbk_rows = [f"导出报表失败 {i},MIX-{i},{2000 + i},Bug,To Do,MIX,High,,03/Jun/24 9:00 AM,03/Jun/24 9:00 AM,,,"
                for i in range(5, 15)]
    files["mixed_utf8_gbk_jira.csv"] = (
        (JIRA_HEADER + "\n" + "\n".join(utf8_rows[:2]) + "\n").encode("utf-8")
        + ("\n".join(gbk_rows) + "\n").encode("gbk")
        + ("\n".join(utf8_rows[2:]) + "\n").encode("utf-8"))

    # --- CSV that cannot be read as CSV, or has no data ---
    files["header_only_jira.csv"] = (JIRA_HEADER + "\n").encode()
    files["header_only_zentao_bug.csv"] = zentao_csv(ZENTAO_BUG_HEADER, []).encode()
    files["导出 数据 (1).csv"] = (JIRA_HEADER + "\r\n").encode()
    files["unterminated_quote_jira.csv"] = jira([JIRA_ROWS[0], '"Export report,BAD-2,10002,Bug,In Progress,BAD,'
                                                 'Medium,,04/Jun/24 10:00 AM,08/Jun/24 11:00 AM,,,', JIRA_ROWS[2]]).encode()
    files["pipe_delimited_jira.csv"] = jira([r.replace(",", "|") for r in JIRA_ROWS],
                                            JIRA_HEADER.replace(",", "|")).encode()
    files["extra_cells_jira.csv"] = jira([JIRA_ROWS[0], JIRA_ROWS[1] + ",surplus,cells", JIRA_ROWS[2]]).encode()
    full = zentao_csv(ZENTAO_BUG_HEADER, ZENTAO_BUG_ROWS)
    files["zentao_truncated_bug.csv"] = full[:full.index('"代码错误(#codeerror)","激活(#active)","0"')].encode()
    files["zentao_truncated_in_cell.csv"] = full[:full.index("订单列表分页") + 3].encode()

    # --- issues that cannot be identified ---
    files["unknown_columns.csv"] = b"Name,Email,Department\nLi Lei,li@example.com,PMO\nHan Meimei,han@example.com,QA\n"
    no_key = JIRA_HEADER.replace("Issue key,", "")
    files["no_key_column_jira.csv"] = jira([",".join(r.split(",")[:1] + r.split(",")[2:]) for r in JIRA_ROWS],
                                           no_key).encode()
    files["empty_key_jira.csv"] = jira([JIRA_ROWS[0], JIRA_ROWS[1].replace("BAD-2", ""), JIRA_ROWS[2]]).encode()
    files["duplicate_key_header_jira.csv"] = jira([r + "," + f"OTHER-{i}" for i, r in enumerate(JIRA_ROWS, 1)],
                                                  JIRA_HEADER + ",Issue key").encode()
    hostile_header = 'Name,"Email ""primary""","Dept\nline two","\x1b[31mred\x1b[0m","; DROP TABLE issues; --"'
    files["hostile_unknown_columns.csv"] = (hostile_header + '\nLi Lei,a@b.c,PMO,x,y\n').encode()

    # --- readable rows with values we cannot understand: imported, with warnings naming rows and columns ---
    files["unparsable_dates_jira.csv"] = jira([
        "Login page,BAD-1,10001,Story,Done,BAD,High,Done,yesterday,last week,soon,3.0,BAD Sprint 1",
        "Export report,BAD-2,10002,Bug,In Progress,BAD,Medium,,32/Foo/24 9:00 AM,n/a,,,BAD Sprint 1",
        "Dark mode,BAD-3,10003,Story,To Do,BAD,Low,,TBD,TBD,,5.0,"]).encode()
    files["text_story_points_jira.csv"] = jira([
        JIRA_ROWS[0].replace(",3.0,", ",five,"), JIRA_ROWS[1].replace(",,,BAD", ",,TBD,BAD"), JIRA_ROWS[2]]).encode()
    hostile_rows = [
        '"Robert""); DROP TABLE issues; --",BAD-1,10001,Story,Done,BAD,High,Done,03/Jun/24 9:00 AM,'
        '07/Jun/24 5:30 PM,07/Jun/24 5:30 PM,3.0,"; DROP TABLE sprints; --"',
        '"He said ""hi"", then \x07\x1b[2J left\ttab",BAD-2,10002,Bug,In Progress,BAD,Medium,,04/Jun/24 10:00 AM,'
        '08/Jun/24 11:00 AM,,,BAD Sprint 1',
        "' OR 1=1 --,BAD-3,10003,Story,To Do,BAD,Low,,05/Jun/24 2:00 PM,05/Jun/24 2:00 PM,,5.0,",
    ]
    files["hostile_values_jira.csv"] = jira([r + ",'; DELETE FROM imports; --" for r in hostile_rows],
                                            JIRA_HEADER + ',"Custom field (x""); DROP TABLE issues; --)"').encode()

    # --- JSON ---
    files["truncated.json"] = json.dumps({"expand": "schema,names", "startAt": 0, "maxResults": 50, "total": 2,
                                          "issues": [{"id": "1", "key": "BAD-1", "fields": {"summary": "x"}}]}
                                         ).encode()[:70]
    files["github_user.json"] = json.dumps({"login": "octocat", "id": 1, "node_id": "MDQ6VXNlcjE=",
                                            "avatar_url": "https://github.com/images/error/octocat_happy.gif",
                                            "html_url": "https://github.com/octocat", "type": "User",
                                            "site_admin": False, "name": "monalisa octocat"}, indent=2).encode()
    files["jira_field_list.json"] = json.dumps([
        {"id": "summary", "key": "summary", "name": "Summary", "custom": False, "orderable": True,
         "navigable": True, "searchable": True, "clauseNames": ["summary"],
         "schema": {"type": "string", "system": "summary"}},
        {"id": "customfield_10016", "key": "customfield_10016", "name": "Story point estimate", "custom": True,
         "orderable": True, "navigable": True, "searchable": True, "clauseNames": ["cf[10016]"],
         "schema": {"type": "number", "custom": "com.pyxis.greenhopper.jira:jsw-story-points",
                    "customId": 10016}}], indent=2).encode()
    files["null.json"] = b"null\n"
    files["numbers.json"] = b"[1, 2, 3, 4.5, -6]\n"
    issue = {"url": "https://api.github.com/repos/o/r/issues/1", "html_url": "https://github.com/o/r/issues/1",
             "number": 1, "title": "Crash", "state": "open", "state_reason": None, "labels": [],
             "created_at": "2024-06-01T10:00:00Z", "updated_at": "2024-06-02T10:00:00Z", "closed_at": None}
    lines = [json.dumps({**issue, "number": n, "html_url": f"https://github.com/o/r/issues/{n}",
                         "url": f"https://api.github.com/repos/o/r/issues/{n}"}) for n in (1, 2, 3, 4)]
    lines[2] = lines[2][:-20]
    files["bad_line.jsonl"] = ("\n".join(lines) + "\n").encode()
    files["github_labels_not_a_list.json"] = json.dumps([issue, {**issue, "number": 2, "labels": 5}]).encode()
    files["jira_search_no_issues.json"] = json.dumps({"expand": "schema,names", "startAt": 0, "maxResults": 50,
                                                      "total": 0, "issues": []}).encode()

    # --- XML ---
    files["not_jira_rss.xml"] = ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
                                 '<title>Team blog</title><item><title>Release notes</title>'
                                 '<link>https://example.com/r</link></item></channel></rss>\n').encode()
    return files


def main() -> None:
    keep = {"make_corpus.py", "README.md"}
    made = corpus()
    for path in HERE.iterdir():
        if path.name not in keep and path.name not in made:
            path.unlink()
    for name, data in made.items():
        (HERE / name).write_bytes(data)
    print(f"{len(made)} files in {HERE}")


if __name__ == "__main__":
    main()
