"""The ZenTao adapters (zentao-bug/-task/-story CSV, zentao-xlsx, zentao-json) on our own fixtures (whole rows,
worked by hand from tests/data/zentao) and on the real ZenTao API samples (counts checked against the files).

No real ZenTao UI export exists anywhere (FORMATS.md 9), so the CSV fixtures are written exactly as ZenTao's
`export2csv.html.php` writes (FORMATS.md 2.2): see tests/data/zentao/README.md. Times in the CSV/XLSX files are
Asia/Shanghai wall-clock (ZenTao writes no offset); `sh(...)` turns such a time into the expected UTC instant.
"""
from __future__ import annotations

import codecs
import csv
import io
import json
import re
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from ingest import IngestError, ingest_file, ingest_files
from ingest.decode import decode_file
from ingest.detect import FORMATS, Probe, detect, is_xlsx, probe
from ingest.zentao import kind_of
from store import db
from tests.samples import DATA, REPO, sample
from ui import i18n

ZT = DATA / "zentao"
UTC = timezone.utc
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, priority, "
           "severity, created_at, updated_at, done_at, first_done_at, due_at, story_points, original_estimate_h, "
           "remaining_estimate_h, time_spent_h, assignee, reporter, components, labels, sprints, fix_versions, "
           "parent_key, found_phase, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def rows(cur, project):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY length(issue_key), issue_key",
                       [project]).fetchall()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def sh(*args):
    """A wall-clock time in Asia/Shanghai (UTC+8, no DST) as the UTC instant the database holds."""
    return (datetime(*args) - timedelta(hours=8)).replace(tzinfo=UTC)


def whole_database(cur) -> dict:
    return {t: sorted(map(repr, cur.execute(f"SELECT * FROM {t}").fetchall())) for t in db.TABLES if t != "audit_log"}


def codes(result) -> dict:
    return {w["code"]: w for w in result.warnings}


# --- Writers: ZenTao's CSV and a minimal XLSX (no xlsx writer is a dependency of the project) -------------

def zentao_csv(header: list[str], records: list[list[str]], footer: str | None = None) -> str:
    """As module/file/view/export2csv.html.php: every cell quoted, `"` -> `“`, LF, one extra empty cell per data
    row, the task export's free-text last line without a newline."""
    out = '"' + '","'.join(header) + '"\n'
    for record in records:
        out += '"' + "".join(str(v).replace('"', "“") + '","' for v in record) + '"\n'
    return out + (footer or "")


def _col(i: int) -> str:
    name, i = "", i + 1
    while i:
        i, r = divmod(i - 1, 26)
        name = chr(65 + r) + name
    return name


def write_xlsx(path: Path, sheet_rows: list[list], sheet: str = "Sheet1") -> Path:
    """A minimal SpreadsheetML workbook: text as shared strings, int/float as numbers, None as no cell."""
    strings: list[str] = []
    index: dict[str, int] = {}
    body = []
    for r, row in enumerate(sheet_rows, start=1):
        cells = []
        for c, v in enumerate(row):
            if v is None:
                continue
            ref = f"{_col(c)}{r}"
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                cells.append(f'<c r="{ref}"><v>{v}</v></c>')
            else:
                if v not in index:
                    index[v] = len(strings)
                    strings.append(v)
                cells.append(f'<c r="{ref}" t="s"><v>{index[v]}</v></c>')
        body.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    head = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    parts = {
        "[Content_Types].xml": f'{head}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        f'<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{ct}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{ct}.worksheet+xml"/>'
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{ct}.sharedStrings+xml"/></Types>',
        "_rels/.rels": f'{head}<Relationships xmlns="{pkg}"><Relationship Id="rId1" '
        f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'{head}<workbook xmlns="{main}" xmlns:r="{rel}"><sheets>'
        f'<sheet name="{escape(sheet)}" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'{head}<Relationships xmlns="{pkg}">'
        f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'{head}<worksheet xmlns="{main}"><sheetData>{"".join(body)}</sheetData></worksheet>',
        "xl/sharedStrings.xml": f'{head}<sst xmlns="{main}" count="{len(strings)}" uniqueCount="{len(strings)}">'
        + "".join(f'<si><t xml:space="preserve">{escape(s)}</t></si>' for s in strings) + "</sst>",
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(zipfile.ZipInfo(name, (2024, 1, 1, 0, 0, 0)), data)
    return path


# --- The fixtures are what ZenTao writes ------------------------------------------------------------------

def test_fixtures_have_the_zentao_writer_quirks():
    raw = (ZT / "bug_zh_gbk.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    for name, encoding in (("bug_zh_gbk.csv", "gbk"), ("bug_en.csv", "utf-8"), ("task_zh.csv", "utf-8"),
                           ("story_zh.csv", "utf-8")):
        data = (ZT / name).read_bytes()
        assert not data.startswith(codecs.BOM_UTF8) and b"\r\n" not in data, name
        text = data.decode(encoding)
        records = list(csv.reader(io.StringIO(text)))
        header, body = records[0], records[1:]
        if name == "task_zh.csv":
            assert body[-1] == ["任务名称前有'>'标记的为子任务"] and not text.endswith("\n")
            body = body[:-1]
        assert body and all(len(r) == len(header) + 1 and r[-1] == "" for r in body), name
        assert text.startswith('"') and text.count('"\n"') == len(body)        # every cell quoted, LF records
        assert not any('"' in v for r in records for v in r), name              # `"` is written as `“`
    assert is_xlsx(ZT / "bug_zh.xlsx") and not is_xlsx(ZT / "bug_en.csv")


@pytest.mark.parametrize("name, fmt, kind", [
    ("bug_zh_gbk.csv", "zentao-bug", "csv"), ("bug_en.csv", "zentao-bug", "csv"),
    ("task_zh.csv", "zentao-task", "csv"), ("story_zh.csv", "zentao-story", "csv"),
    ("api_v1_park.jsonl", "zentao-json", "json"),
])
def test_text_files_are_detected(name, fmt, kind):
    decoded = decode_file(ZT / name)
    try:
        p = probe(decoded)
        assert (p.kind, detect(p, name).name) == (kind, fmt)
    finally:
        decoded.cleanup()


def test_header_rules_zh_en_and_older_labels():
    assert kind_of(["Bug编号", "Bug标题", "Bug状态"]) == "bug"
    assert kind_of(["Bug编号", "所属产品", "激活次数"]) == "bug"
    assert kind_of(["ID", "Title", "Severity", "Activation"]) == "bug"
    assert kind_of(["ID", "Title", "Steps", "Activated count"]) == "bug"            # ZenTao before 15
    assert kind_of(["编号", "任务名称", "总计消耗"]) == "task"
    assert kind_of(["ID", "Name", "Estimates", "Total Cost", "Hours Left"]) == "task"
    for title in ("研发需求名称", "软件需求名称", "需求名称", "故事名称", "用户需求名称"):
        assert kind_of(["编号", "所属产品", title, "所处阶段"]) == "story", title
    assert kind_of(["ID", "Product", "Title", "Status", "Phase"]) == "story"
    # Not ZenTao: Jira, Azure DevOps (its bugs have Repro Steps too), a task list without hour columns.
    assert kind_of(["Issue key", "Issue id", "Summary", "Activation"]) is None
    assert kind_of(["ID", "Work Item Type", "Title", "Repro Steps", "Severity"]) is None
    assert kind_of(["编号", "任务名称", "任务状态"]) is None
    assert kind_of([]) is None


# --- zentao-bug ---------------------------------------------------------------------------------------------

# Worked by hand from bug_zh_gbk.csv (GBK, zh-cn labels, `label(#key)` values).
_S = "[步骤]打开页面\n[结果]出错\n[期望]正常"
BUG_ZH = [
    ("BUG-1", "登录页验证码不显示", "bug", "代码错误", "激活", "todo", None, None, "2", "3",
     sh(2024, 5, 6, 9, 30), sh(2024, 5, 6, 9, 30), None, None, None, None, None, None, None, "张三", "测试甲",
     ["登录"], ["验证码", "前端"], ["迭代1"], [], None, None, 0),
    ("BUG-2", "点击“导出“按钮后退款金额错误", "bug", "代码错误", "已解决", "done", "已解决", "delivered", "1", "1-致命",
     sh(2024, 5, 7, 10), sh(2024, 5, 10, 18), sh(2024, 5, 10, 18), sh(2024, 5, 10, 18), None, None, None, None, None,
     "测试甲", "测试甲", ["支付/退款"], [], ["迭代1"], [], None, None, 1),
    ("BUG-3", "退款页面重复提交", "bug", "代码错误", "已关闭", "done", "重复Bug", "invalid", "3", "3",
     sh(2024, 5, 7, 11), sh(2024, 5, 9, 11), sh(2024, 5, 8, 10), sh(2024, 5, 8, 10), None, None, None, None, None,
     None, "测试乙", [], [], [], [], None, None, 0),
    ("BUG-4", "记住密码失效", "bug", "代码错误", "已关闭", "done", "已解决", "delivered", "2", "2",
     sh(2024, 5, 15, 14), sh(2024, 5, 21, 9), sh(2024, 5, 20, 17, 30), sh(2024, 5, 20, 17, 30), None, None, None,
     None, None, None, "测试乙", ["登录"], [], ["迭代2"], [], None, None, 2),
    ("BUG-5", "报表导出慢", "bug", "性能问题", "已解决", "done", "不予解决", "valid_not_fixed", "3", "4",
     sh(2024, 5, 16, 9), sh(2024, 5, 22, 10), sh(2024, 5, 22, 10), sh(2024, 5, 22, 10), None, None, None, None,
     None, "测试甲", "测试甲", ["报表"], ["性能"], ["迭代2"], [], None, None, 0),
    ("BUG-6", "希望支持按部门筛选", "bug", "其他", "已解决", "done", "转为研发需求", "invalid", "3", "3",
     sh(2024, 5, 17, 9), sh(2024, 5, 23, 11), sh(2024, 5, 23, 11), sh(2024, 5, 23, 11), None, None, None, None,
     None, "测试甲", "测试甲", ["报表"], [], ["迭代2"], [], None, None, 0),
    ("BUG-7", "退款通知短信重复", "bug", "代码错误", "激活", "todo", None, None, "2", "2",
     sh(2024, 5, 18, 9), sh(2024, 5, 24, 15), None, None, sh(2024, 6, 1), None, None, None, None, "李四", "测试乙",
     ["支付/退款"], ["短信"], ["迭代2"], [], None, None, 1),
    ("BUG-8", "密码框不显示明文", "bug", "设计缺陷", "已关闭", "done", "设计如此", "invalid", "4", "4",
     sh(2024, 5, 19, 9), sh(2024, 5, 24, 10), sh(2024, 5, 24, 9), sh(2024, 5, 24, 9), None, None, None, None, None,
     None, "测试乙", ["登录"], [], ["迭代2"], [], None, None, 0),
    ("BUG-9", "IE11 下图表错位", "bug", "代码错误", "已解决", "done", "延期处理", "valid_not_fixed", "4", "3",
     sh(2024, 5, 20, 9), sh(2024, 5, 25, 9), sh(2024, 5, 25, 9), sh(2024, 5, 25, 9), None, None, None, None, None,
     "测试甲", "测试甲", ["报表"], [], ["迭代2"], [], None, None, 0),
    ("BUG-10", "银行回调超时", "bug", "代码错误", "已解决", "done", "外部原因", "invalid", "2", "2",
     sh(2024, 5, 21, 9), sh(2024, 5, 26, 9), sh(2024, 5, 26, 9), sh(2024, 5, 26, 9), None, None, None, None, None,
     "测试甲", "测试甲", ["支付/退款"], [], ["迭代2"], [], None, None, 0),
    ("BUG-11", "偶发登录失败", "bug", "代码错误", "已解决", "done", "无法重现", "invalid", "3", "3",
     sh(2024, 5, 22, 9), sh(2024, 5, 27, 9), sh(2024, 5, 27, 9), sh(2024, 5, 27, 9), None, None, None, None, None,
     "测试乙", "测试乙", ["登录"], [], ["迭代2"], [], None, None, 0),
]


def test_bug_zh_gbk_whole_rows(cur):
    result = ingest_file(cur, ZT / "bug_zh_gbk.csv")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("zentao-bug", "ZT5", 11, 11)
    assert result.warnings == []
    assert rows(cur, "ZT5") == BUG_ZH
    # 所属项目 `智慧园区一期(#5)`: not ASCII, so the key is ZT<id> and the name the project's.
    assert cur.execute("SELECT project_key, name, tracker FROM projects").fetchall() == [("ZT5", "智慧园区一期", "zentao")]
    assert cur.execute("SELECT name, start_at, source FROM sprints ORDER BY name").fetchall() == [
        ("迭代1", None, "names-only"), ("迭代2", None, "names-only")]
    # The rework metric's inputs: reopen counts from 激活次数, classes from 解决方案.
    assert cur.execute("SELECT resolution_class, count(*), sum(reopen_count) FROM issues GROUP BY 1 ORDER BY 1 "
                       "NULLS FIRST").fetchall() == [(None, 2, 1), ("delivered", 2, 3), ("invalid", 5, 0),
                                                     ("valid_not_fixed", 2, 0)]


BUG_EN = [
    ("BUG-101", "Cart total shows “NaN“", "bug", "Code Error", "Active", "todo", None, None, "1", "3",
     sh(2024, 7, 1, 10), sh(2024, 7, 1, 10), None, None, None, None, None, None, None, "Dev One", "QA One",
     ["Checkout"], [], ["Sprint 3"], [], None, None, 0),
    ("BUG-102", "Coupon not applied", "bug", "Code Error", "Resolved", "done", "Fixed", "delivered", "2", "2",
     sh(2024, 7, 1, 11), sh(2024, 7, 3, 16), sh(2024, 7, 3, 16), sh(2024, 7, 3, 16), None, None, None, None, None,
     "QA One", "QA One", ["Checkout"], [], ["Sprint 3"], [], None, None, 2),
    ("BUG-103", "Search returns duplicates", "bug", "Code Error", "Closed", "done", "Duplicate", "invalid", "3", "3",
     sh(2024, 7, 2, 9), sh(2024, 7, 4, 9), sh(2024, 7, 3, 9), sh(2024, 7, 3, 9), None, None, None, None, None,
     None, "QA One", ["Search"], [], ["Sprint 3"], [], None, None, 0),
    ("BUG-104", "Old browser layout broken", "bug", "Code Error", "Resolved", "done", "Won't Fix", "valid_not_fixed",
     "4", "4", sh(2024, 7, 2, 10), sh(2024, 7, 5, 10), sh(2024, 7, 5, 10), sh(2024, 7, 5, 10), None, None, None,
     None, None, "QA One", "QA One", [], [], ["Sprint 3"], [], None, None, 0),
    ("BUG-105", "Sort order is alphabetical", "bug", "Code Error", "Closed", "done", "As Designed", "invalid", "3",
     "4", sh(2024, 7, 2, 11), sh(2024, 7, 6, 9), sh(2024, 7, 5, 11), sh(2024, 7, 5, 11), None, None, None, None,
     None, None, "QA One", ["Search"], [], ["Sprint 3"], [], None, None, 1),
    ("BUG-106", "Payment page blank once", "bug", "Code Error", "Resolved", "done", "Irreproducible", "invalid", "2",
     "2", sh(2024, 7, 3, 9), sh(2024, 7, 6, 15), sh(2024, 7, 6, 15), sh(2024, 7, 6, 15), None, None, None, None,
     None, "QA One", "QA One", ["Checkout"], [], ["Sprint 3"], [], None, None, 0),
]


def test_bug_en_whole_rows(cur):
    """en labels, plain values (no `(#key)`), numbers ending in a TAB (newer exporters), an ASCII project name."""
    result = ingest_file(cur, ZT / "bug_en.csv")
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "zentao-bug", "SHOP-REVAMP", 6, 6)
    assert result.warnings == []
    assert rows(cur, "SHOP-REVAMP") == BUG_EN
    assert cur.execute("SELECT name FROM projects").fetchall() == [("Shop Revamp",)]
    assert cur.execute("SELECT title FROM issues WHERE issue_key = 'BUG-101'").fetchone() == ("Cart total shows “NaN“",)


def test_reimport_is_a_duplicate_and_changes_nothing(cur):
    first = ingest_file(cur, ZT / "bug_zh_gbk.csv")
    before = whole_database(cur)
    again = ingest_file(cur, ZT / "bug_zh_gbk.csv")
    assert again.duplicate and again.import_id == first.import_id and again.issues == 0
    assert whole_database(cur) == before
    x1 = ingest_file(cur, ZT / "bug_zh.xlsx")
    x2 = ingest_file(cur, ZT / "bug_zh.xlsx")
    assert not x1.duplicate and x2.duplicate and x2.import_id == x1.import_id


# --- zentao-task ----------------------------------------------------------------------------------------------

# task_zh.csv: dates cut to YYYY-MM-DD by the task exporter (midnight Shanghai), hours `8h`, a parent task (1) and
# its `>` children (2, 3) right after it, a `[多人]` task with `name:hours` lines, a task from bug #2, a cancelled,
# a paused and a 需求-type task, the free-text last line.
TASK_ZH = [
    ("TASK-1", "开发登录功能", "task", "开发", "进行中", "in_progress", None, None, "2", None,
     sh(2024, 5, 5), sh(2024, 5, 13), None, None, sh(2024, 5, 17), None, 16.0, 4.0, 10.0, "张三", "王经理",
     ["登录"], [], ["迭代1"], [], None, None, 0),
    ("TASK-2", "登录接口", "subtask", "开发", "已完成", "done", None, "delivered", "2", None,
     sh(2024, 5, 5), sh(2024, 5, 10), sh(2024, 5, 10), sh(2024, 5, 10), sh(2024, 5, 10), None, 8.0, 0.0, 6.0, "张三",
     "王经理", ["登录"], [], ["迭代1"], [], None, None, 0),
    ("TASK-3", "登录页面", "subtask", "开发", "进行中", "in_progress", None, None, "2", None,
     sh(2024, 5, 5), sh(2024, 5, 13), None, None, sh(2024, 5, 17), None, 8.0, 4.0, 4.0, "李四", "王经理",
     ["登录"], [], ["迭代1"], [], None, None, 0),
    ("TASK-4", "联调测试", "task", "测试", "进行中", "in_progress", None, None, "3", None,
     sh(2024, 5, 12), sh(2024, 5, 14), None, None, sh(2024, 5, 17), None, 6.0, 2.0, 4.0, "张三", "王经理",
     ["支付/退款"], [], ["迭代1"], [], None, None, 0),
    ("TASK-5", "修复退款金额错误", "task", "开发", "已关闭", "done", "已完成", "delivered", "1", None,
     sh(2024, 5, 10), sh(2024, 5, 13), sh(2024, 5, 12), sh(2024, 5, 12), sh(2024, 5, 12), None, 4.0, 0.0, 5.0,
     None, "王经理", ["支付/退款"], ["from_bug:BUG-2"], ["迭代2"], [], None, None, 1),
    ("TASK-6", "编写接口文档", "task", "事务", "已取消", "done", "已取消", "invalid", "3", None,
     sh(2024, 5, 6), sh(2024, 5, 8), sh(2024, 5, 8), sh(2024, 5, 8), sh(2024, 5, 9), None, 2.0, 0.0, 0.0,
     "王经理", "王经理", [], [], ["迭代2"], [], None, None, 0),
    ("TASK-7", "性能压测", "task", "测试", "已暂停", "todo", None, None, "3", None,
     sh(2024, 5, 13), sh(2024, 5, 15), None, None, sh(2024, 5, 24), None, 8.0, 7.0, 1.0, "王五", "王经理",
     ["报表"], [], ["迭代2"], [], None, None, 0),
    ("TASK-8", "需求澄清会议", "task", "需求", "未开始", "todo", None, None, "4", None,
     sh(2024, 5, 15), sh(2024, 5, 15), None, None, sh(2024, 5, 20), None, 2.0, 2.0, 0.0, "王经理", "王经理",
     [], [], ["迭代2"], [], None, None, 0),
]


def test_task_zh_whole_rows(cur):
    result = ingest_file(cur, ZT / "task_zh.csv", project_key="PARK")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("zentao-task", "PARK", 8, 8)
    assert rows(cur, "PARK") == TASK_ZH
    assert result.warnings == [
        {"code": "zentao_child_tasks_unlinked", "count": 2},
        {"code": "hours_coverage", "estimated": 6, "in_scope": 6},
        {"code": "resolution_assumed_delivered", "count": 1},          # TASK-2: 已完成, no 关闭原因
    ]


def test_task_export_names_no_project_so_one_must_be_given(cur):
    before = whole_database(cur)
    with pytest.raises(IngestError) as err:
        ingest_file(cur, ZT / "task_zh.csv")
    assert (err.value.code, err.value.row) == ("zentao_project_required", 2)
    assert "--project" in err.value.render("en") and "--project" in err.value.render("zh-CN")
    assert whole_database(cur) == before


def test_row_numbers_hold_inside_a_multi_file_transaction(cur, tmp_path):
    """cli.py imports through ingest_files (one transaction for all files), where DuckDB numbers the rows of a
    new temp table from a large base: the refused row must still be the file's record number."""
    with pytest.raises(IngestError) as err:
        ingest_files(cur, [ZT / "bug_en.csv", ZT / "task_zh.csv"])
    assert (err.value.code, err.value.row) == ("zentao_project_required", 2)
    assert cur.execute("SELECT count(*) FROM issues").fetchone() == (0,)     # all or nothing
    results = ingest_files(cur, [ZT / "bug_zh_gbk.csv", ZT / "task_zh.csv", ZT / "story_zh.csv"], project_key="P")
    assert [r.issues for r in results] == [11, 8, 9]
    assert cur.execute("SELECT count(*) FROM issues WHERE project_key = 'P'").fetchone() == (28,)


def test_task_cells_multi_person_child_tab_and_bad_hours(cur, tmp_path):
    header = ["编号", "所属执行", "任务名称", "任务状态", "最初预计", "总计消耗", "预计剩余", "父任务", "激活日期"]
    body = [
        ["11\t", "迭代9(#19)", "[多人] >联调子任务", "进行中", "张三:1.5\n李四:2.5h\n", "张三：1\n", "3h", "长任务(#10)",
         "2024-05-09 10:00:00"],
        ["12", "(#0)", "[UI] 修改按钮", "未开始", "8天", "0h", "8h", "", ""],
    ]
    path = tmp_path / "tasks.csv"
    path.write_text(zentao_csv(header, body, footer="It's a child task if there is a '>' before the name."),
                    encoding="utf-8")
    result = ingest_file(cur, path, project_key="P")
    assert cur.execute("SELECT issue_key, title, type, parent_key, sprints, original_estimate_h, time_spent_h, "
                       "remaining_estimate_h, reopen_count FROM issues ORDER BY issue_key").fetchall() == [
        ("TASK-11", "联调子任务", "subtask", "TASK-10", ["迭代9"], 4.0, 1.0, 3.0, 1),
        ("TASK-12", "[UI] 修改按钮", "task", None, [], None, 0.0, 8.0, 0),
    ]
    assert codes(result)["unparsable_hours"] == {"code": "unparsable_hours", "column": "最初预计", "count": 1,
                                                 "example": "8天"}
    assert "zentao_child_tasks_unlinked" not in codes(result)     # a 父任务 column links the child


# --- zentao-story ---------------------------------------------------------------------------------------------

STORY_ZH = [
    ("STORY-1", "用户登录", "requirement", "功能", "研发中", "in_progress", None, None, "1", None,
     sh(2024, 5, 2, 10), sh(2024, 5, 6, 9), None, None, None, None, 8.0, None, None, "张三", "产品经理",
     ["登录"], ["登录"], [], [], None, None, None),
    ("STORY-2", "在线退款", "requirement", "功能", "已发布", "done", None, "delivered", "1", None,
     sh(2024, 5, 2, 11), sh(2024, 5, 28, 17), sh(2024, 5, 28, 17), sh(2024, 5, 28, 17), None, None, 16.0, None, None,
     "李四", "产品经理", ["支付/退款"], [], [], [], None, None, None),
    ("STORY-3", "报表按部门筛选", "requirement", "功能", "草稿", "todo", None, None, "3", None,
     sh(2024, 5, 23, 11), sh(2024, 5, 23, 11), None, None, None, None, 0.0, None, None, "产品经理", "产品经理",
     ["报表"], [], [], [], None, None, None),
    ("STORY-4", "找回密码", "requirement", "功能", "已关闭", "done", "已完成", "delivered", "2", None,
     sh(2024, 5, 3, 9), sh(2024, 5, 30, 10), sh(2024, 5, 30, 10), sh(2024, 5, 30, 10), None, None, 4.0, None, None,
     None, "产品经理", ["登录"], [], [], [], None, None, None),
    ("STORY-5", "忘记密码", "requirement", "功能", "已关闭", "done", "重复", "invalid", "2", None,
     sh(2024, 5, 3, 10), sh(2024, 5, 4, 10), sh(2024, 5, 4, 10), sh(2024, 5, 4, 10), None, None, 4.0, None, None,
     None, "产品经理", ["登录"], [], [], [], None, None, None),
    ("STORY-6", "数据导入模板", "requirement", "接口", "评审中", "todo", None, None, "3", None,
     sh(2024, 5, 10, 10), sh(2024, 5, 10, 10), None, None, None, None, 6.0, None, None, "产品经理", "产品经理",
     [], [], [], [], None, None, None),
    ("STORY-7", "退款审批", "requirement", "功能", "研发完毕", "done", None, "delivered", "2", None,
     sh(2024, 5, 4, 10), sh(2024, 5, 20, 18), sh(2024, 5, 20, 18), sh(2024, 5, 20, 18), None, None, 12.0, None, None,
     "李四", "产品经理", ["支付/退款"], [], [], [], None, None, None),
    ("STORY-8", "报表导出", "requirement", "功能", "测试中", "in_progress", None, None, "2", None,
     sh(2024, 5, 5, 10), sh(2024, 5, 24, 9), None, None, None, None, 10.0, None, None, "王五", "产品经理",
     ["报表"], ["性能", "报表"], [], [], None, None, None),
    ("STORY-9", "报表打印", "requirement", "功能", "已关闭", "done", "不做", "valid_not_fixed", "4", None,
     sh(2024, 5, 5, 11), sh(2024, 5, 15, 10), sh(2024, 5, 15, 10), sh(2024, 5, 15, 10), None, None, 3.0, None, None,
     None, "产品经理", ["报表"], [], [], [], None, None, None),
]


def test_story_zh_whole_rows(cur):
    result = ingest_file(cur, ZT / "story_zh.csv")
    # Stories belong to a product: 所属产品 `智慧园区(#2)` -> ZTP2 (products and projects are numbered apart).
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("zentao-story", "ZTP2", 9, 9)
    assert rows(cur, "ZTP2") == STORY_ZH
    assert cur.execute("SELECT name FROM projects").fetchall() == [("智慧园区",)]
    # Released and developed stories are done but not closed: their done date is the last edit, said so.
    assert result.warnings == [{"code": "done_date_from_updated", "count": 2},
                               {"code": "hours_coverage", "estimated": 9, "in_scope": 9},
                               {"code": "resolution_assumed_delivered", "count": 2}]   # STORY-2, STORY-7


def test_story_points_instance_and_story_concept(cur, tmp_path):
    header = ["编号", "所属产品", "故事名称", "预计故事点", "当前状态", "所处阶段", "创建日期", "激活日期"]
    path = tmp_path / "stories.csv"
    path.write_text(zentao_csv(header, [["7", "CRM(#3)", "导出客户", "5", "激活(#active)", "已验收(#verified)",
                                         "2024-05-02 10:00:00", "2024-05-03 10:00:00"]]), encoding="utf-8")
    result = ingest_file(cur, path)
    assert result.project_key == "CRM"
    assert cur.execute("SELECT issue_key, type, status_raw, status_category, story_points, original_estimate_h, "
                       "reopen_count FROM issues").fetchall() == [("STORY-7", "story", "已验收", "done", 5.0, None, 1)]
    assert codes(result)["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 1, "in_scope": 1}


def test_a_pmo_mapping_wins_over_zentao_defaults(cur):
    cur.execute("INSERT INTO value_maps (project_key, kind, raw_value, canonical) VALUES "
                "('ZTP2', 'status', '研发完毕', 'in_progress'), ('*', 'resolution', '不做', 'invalid')")
    ingest_file(cur, ZT / "story_zh.csv")
    assert cur.execute("SELECT issue_key, status_category, done_at, resolution_class FROM issues "
                       "WHERE issue_key IN ('STORY-7', 'STORY-9') ORDER BY 1").fetchall() == [
        ("STORY-7", "in_progress", None, None), ("STORY-9", "done", sh(2024, 5, 15, 10), "invalid")]


# --- Older exports, re-saved files, refusals ------------------------------------------------------------------

def test_before_zentao_15_the_project_column_is_the_iteration(cur, tmp_path):
    header = ["Bug编号", "所属产品", "所属项目", "Bug标题", "Bug状态", "激活次数", "创建日期", "最后修改日期"]
    path = tmp_path / "old.csv"
    path.write_text(zentao_csv(header, [["3", "OA系统(#4)", "第二期迭代(#8)", "旧版缺陷", "激活", "0",
                                         "2012-06-05 10:00:00", "0000-00-00 00:00:00"]]), encoding="utf-8")
    result = ingest_file(cur, path)
    assert result.project_key == "ZTP4"
    assert cur.execute("SELECT sprints, updated_at FROM issues").fetchone() == (["第二期迭代"], None)


def test_excel_resaved_csv_without_the_extra_cell(cur, tmp_path):
    """Excel writes CRLF, quotes only where needed, doubles `"`, and drops ZenTao's extra cell: still read."""
    path = tmp_path / "resaved.csv"
    path.write_bytes('Bug编号,所属项目,所属执行,Bug标题,Bug状态,激活次数,创建日期\r\n'
                     '5,园区(#5),,"含""引号""的标题",已解决,1,2024/5/6 9:30\r\n'.encode("gbk"))
    ingest_file(cur, path)
    assert cur.execute("SELECT issue_key, title, status_category, created_at, reopen_count FROM issues").fetchall() == [
        ("BUG-5", '含"引号"的标题', "done", sh(2024, 5, 6, 9, 30), 1)]


def test_refusals_name_the_row(cur, tmp_path):
    header = ["Bug编号", "所属项目", "Bug标题", "激活次数"]
    path = tmp_path / "bad_id.csv"
    path.write_text(zentao_csv(header, [["1", "P(#1)", "a", "0"], ["#2", "P(#1)", "b", "0"]]), encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert (err.value.code, err.value.row, err.value.column, err.value.params) == (
        "zentao_bad_id", 3, "Bug编号", {"value": "#2"})
    path.write_text(zentao_csv(header, [["", "P(#1)", "a", "0"]]), encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert (err.value.code, err.value.row) == ("empty_key", 2)
    path.write_text(zentao_csv(header, [["1", "项目甲", "a", "0"]]), encoding="utf-8")   # no (#id), not ASCII
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert err.value.code == "zentao_project_required"
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)


# --- zentao-xlsx (and the binary path through ingest_file / probe) ------------------------------------------

def test_xlsx_bug_export(cur):
    result = ingest_file(cur, ZT / "bug_zh.xlsx")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("zentao-xlsx", "ZT5", 3, 3)
    assert result.warnings == []
    assert rows(cur, "ZT5") == [
        ("BUG-21", "登录后\n跳转到空白页", "bug", "代码错误", "已解决", "done", "已解决", "delivered", "2", "2",
         sh(2024, 6, 3, 9), sh(2024, 6, 5, 16), sh(2024, 6, 5, 16), sh(2024, 6, 5, 16), None, None, None, None, None,
         "测试甲", "测试甲", ["登录"], [], ["迭代2"], [], None, None, 1),
        ("BUG-22", "报表标题错别字", "bug", "标准规范", "激活", "todo", None, None, "4", "4",
         sh(2024, 6, 4, 10), sh(2024, 6, 4, 10), None, None, None, None, None, None, None, "王五", "测试乙",
         ["报表"], [], ["迭代2"], [], None, None, 0),
        ("BUG-23", "首页加载慢", "bug", "性能问题", "已关闭", "done", "重复Bug", "invalid", "3", "3",
         sh(2024, 6, 4, 11), sh(2024, 6, 6, 9), sh(2024, 6, 5, 9), sh(2024, 6, 5, 9), None, None, None, None, None,
         None, "测试乙", [], [], [], [], None, None, 0),
    ]


def test_xlsx_kind_comes_from_the_header(cur, tmp_path):
    path = write_xlsx(tmp_path / "任务.xlsx", [
        ["编号", "所属执行", "任务名称", "任务状态", "最初预计", "总计消耗", "预计剩余", "实际完成"],
        [7, "迭代1(#11)", ">写单测", "已完成", 3, 2.5, 0, "2024-05-10"],
        ["任务名称前有'>'标记的为子任务"],
    ], sheet="任务")
    result = ingest_file(cur, path, project_key="P")
    assert (result.source_format, result.rows) == ("zentao-xlsx", 1)
    assert cur.execute("SELECT issue_key, type, status_category, done_at, original_estimate_h, time_spent_h, "
                       "remaining_estimate_h FROM issues").fetchall() == [
        ("TASK-7", "subtask", "done", sh(2024, 5, 10), 3.0, 2.5, 0.0)]


def test_xlsx_probe_and_refusals(cur, tmp_path):
    from ingest.decode import Decoded
    p = probe(Decoded(ZT / "bug_zh.xlsx", "xlsx", "bug_zh.xlsx"))
    assert (p.kind, p.header[:3], detect(p, "bug_zh.xlsx").name) == ("xlsx", ["Bug编号", "所属产品", "所属模块"],
                                                                     "zentao-xlsx")
    other = write_xlsx(tmp_path / "other.xlsx", [["Name", "Amount"], ["a", 1]])
    with pytest.raises(IngestError) as err:
        ingest_file(cur, other)
    assert err.value.code == "unknown_shape"
    not_a_workbook = tmp_path / "notes.zip"
    with zipfile.ZipFile(not_a_workbook, "w") as z:
        z.writestr("notes.txt", "hello")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, not_a_workbook)
    assert err.value.code == "zip_not_workbook" and err.value.render("zh-CN").startswith("notes.zip：该文件是 ZIP 压缩包")
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)


# --- zentao-json: our own API fixture --------------------------------------------------------------------------

PARK_JSON = [
    ("BUG-31", "接口超时未重试", "bug", "codeerror", "closed", "done", "fixed", "delivered", "2", "2",
     utc(2024, 6, 10, 1), utc(2024, 6, 13, 2), utc(2024, 6, 12, 8), utc(2024, 6, 12, 8), None, None, None, None, None,
     None, "测试一", [], [], [], [], None, None, 2),
    ("BUG-32", "列表分页错误", "bug", "codeerror", "delay", "todo", None, None, "3", "3",
     utc(2024, 6, 11, 2), utc(2024, 6, 11, 2), None, None, sh(2024, 6, 20), None, None, None, None, "开发一", "测试一",
     [], ["分页", "列表"], [], [], None, None, 0),
    ("TASK-41", "接口联调", "task", "devel", "doing", "in_progress", None, None, "3", None,
     utc(2024, 6, 10, 2), utc(2024, 6, 14, 9, 30), None, None, sh(2024, 6, 21), None, 10.0, 4.0, 6.0, "开发一",
     "项目经理", [], [], ["迭代3"], [], None, None, 0),
    ("TASK-42", "重试机制", "subtask", "devel", "done", "done", None, "delivered", "3", None,
     utc(2024, 6, 10, 2), utc(2024, 6, 14, 9, 30), utc(2024, 6, 14, 9, 30), utc(2024, 6, 14, 9, 30), sh(2024, 6, 21),
     None, 4.0, 0.0, 5.0, "开发一", "项目经理", [], ["from_bug:BUG-31"], ["迭代3"], [], "TASK-41", None, 1),
    ("TASK-43", "旧接口文档", "task", "affair", "cancel", "done", "cancel", "invalid", "3", None,
     utc(2024, 6, 10, 3), utc(2024, 6, 11, 3), utc(2024, 6, 11, 3), utc(2024, 6, 11, 3), sh(2024, 6, 21), None,
     2.0, 0.0, 0.0, "项目经理", "项目经理", [], [], ["迭代3"], [], None, None, 0),
    ("STORY-51", "接口自动重试", "requirement", "feature", "tested", "done", None, "delivered", "2", None,
     utc(2024, 6, 5, 1), utc(2024, 6, 15, 6), utc(2024, 6, 15, 6), utc(2024, 6, 15, 6), None, None, 6.0, None, None,
     "产品一", "产品一", [], [], [], [], None, None, 0),
    ("STORY-52", "接口监控（拆分前）", "requirement", "feature", "closed", "done", "subdivided", "invalid", "2", None,
     utc(2024, 6, 4, 1), utc(2024, 6, 9, 1), utc(2024, 6, 9, 1), utc(2024, 6, 9, 1), None, None, 0.0, None, None,
     "产品一", "产品一", [], [], [], [], None, None, 0),
]


def test_json_lines_of_bugs_tasks_stories_and_executions(cur):
    result = ingest_file(cur, ZT / "api_v1_park.jsonl", project_key="PARK")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("zentao-json", "PARK", 9, 7)
    assert rows(cur, "PARK") == PARK_JSON
    assert result.warnings == [{"code": "done_date_from_updated", "count": 1}, {"code": "zentao_ids_only", "count": 3},
                               {"code": "hours_coverage", "estimated": 4, "in_scope": 4},
                               {"code": "resolution_assumed_delivered", "count": 2}]   # TASK-42, STORY-51
    # Executions: dates are whole days in the source zone, the end day included; the deleted one is left out.
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at, source FROM sprints "
                       "ORDER BY name").fetchall() == [
        ("迭代3", "active", sh(2024, 6, 10), sh(2024, 6, 22) - timedelta(milliseconds=1), None, "tracker"),
        ("迭代4", "future", sh(2024, 6, 24), sh(2024, 7, 6) - timedelta(milliseconds=1), None, "tracker")]


def test_json_without_project_uses_zentao_ids(cur):
    result = ingest_file(cur, ZT / "api_v1_park.jsonl")
    assert result.project_key == "ZT5,ZTP2"       # bugs, tasks, executions of project 5; stories of product 2
    assert cur.execute("SELECT project_key, count(*) FROM issues GROUP BY 1 ORDER BY 1").fetchall() == [
        ("ZT5", 5), ("ZTP2", 2)]
    assert cur.execute("SELECT DISTINCT project_key FROM sprints").fetchall() == [("ZT5",)]


def test_json_shapes_page_list_and_devlake_text(cur, tmp_path):
    bug = {"id": 9, "project": 2, "product": 1, "title": "t", "status": "resolved", "resolution": "notrepro",
           "activatedCount": 0, "openedDate": "2024-01-02T03:04:05Z", "resolvedDate": "2024-01-03T00:00:00Z"}
    for doc in ({"page": 1, "total": 1, "limit": 20, "bugs": [bug]}, [bug],
                [{"id": 1, "params": "{}", "data": json.dumps(bug), "url": "u"}]):
        path = tmp_path / "doc.json"
        path.write_text(json.dumps(doc), encoding="utf-8")
        decoded = decode_file(path)
        try:
            assert detect(probe(decoded), "doc.json").name == "zentao-json"
        finally:
            decoded.cleanup()
    result = ingest_file(cur, path)
    assert cur.execute("SELECT project_key, issue_key, resolution_class, done_at FROM issues").fetchall() == [
        ("ZT2", "BUG-9", "invalid", utc(2024, 1, 3))]
    assert result.rows == 1
    assert not FORMATS["zentao-json"].sniff(Probe("json", document={"issues": [{"key": "A-1", "fields": {}}]}))


# --- The real ZenTao API samples (../shared/samples/zentao) -----------------------------------------------------

def test_real_api_bugs(cur):
    result = ingest_file(cur, sample("zentao/api_v1_bugs.json"))
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("zentao-json", "ZT7", 6, 6)
    assert cur.execute("SELECT issue_key, status_raw, status_category, reopen_count FROM issues "
                       "ORDER BY issue_key").fetchall() == [
        ("BUG-1", "active", "todo", 0), ("BUG-2", "delay", "todo", 1), ("BUG-3", "active", "todo", 0),
        ("BUG-4", "resolved", "done", 0), ("BUG-5", "active", "todo", 0), ("BUG-6", "delay", "todo", 1)]
    assert cur.execute("SELECT resolution_class, done_at, severity, priority, assignee FROM issues "
                       "WHERE issue_key = 'BUG-4'").fetchone() == ("delivered", utc(2022, 10, 5, 4, 9, 59), "3", "1",
                                                                   "测试丙")
    assert codes(result)["zentao_ids_only"]["count"] == 6     # module and execution are numbers in the API list


def test_real_api_stories(cur):
    result = ingest_file(cur, sample("zentao/api_v1_stories.json"))
    assert (result.project_key, result.rows, result.issues) == ("ZTP3", 9, 9)
    assert dict(cur.execute("SELECT status_raw, count(*) FROM issues GROUP BY 1").fetchall()) == {
        "reviewing": 3, "developing": 3, "projected": 2, "developed": 1}
    assert dict(cur.execute("SELECT status_category, count(*) FROM issues GROUP BY 1").fetchall()) == {
        "todo": 5, "in_progress": 3, "done": 1}
    assert cur.execute("SELECT sum(original_estimate_h), count(*) FILTER (WHERE reopen_count = 0) "
                       "FROM issues").fetchone() == (8.0, 9)


def test_real_api_tasks(cur):
    """Five task records, but ids 2 and 3 appear twice (DevLake copied them under execution 9): three tasks."""
    result = ingest_file(cur, sample("zentao/api_v1_tasks.json"))
    assert (result.project_key, result.rows, result.issues) == ("ZT1", 5, 3)
    assert codes(result)["duplicate_keys"] == {"code": "duplicate_keys", "count": 2}
    assert cur.execute("SELECT issue_key, status_category, original_estimate_h, time_spent_h, remaining_estimate_h, "
                       "due_at FROM issues ORDER BY issue_key").fetchall() == [
        ("TASK-1", "todo", 0.0, 0.0, 0.0, sh(2022, 10, 1)), ("TASK-2", "todo", 12.1, 2.1, 10.0, sh(2022, 10, 1)),
        ("TASK-3", "todo", 11.2, 0.0, 0.0, sh(2022, 10, 1))]


def test_real_api_executions_become_sprints_with_dates(cur):
    result = ingest_file(cur, sample("zentao/api_v1_executions.json"))
    assert (result.project_key, result.rows, result.issues) == ("ZT192", 8, 0)
    # 8 executions, two named alike (ids 193 and 133): 7 sprints, the one with a state kept.
    assert codes(result)["duplicate_sprints"] == {"code": "duplicate_sprints", "count": 1}
    got = cur.execute("SELECT name, state, start_at, end_at, completed_at FROM sprints ORDER BY start_at, name").fetchall()
    assert len(got) == 7 and all(s is not None and e is not None for _, _, s, e, _ in got)
    assert got[0] == ("为长期项目创建一个迭代", "active", sh(2023, 8, 28), sh(2023, 9, 9) - timedelta(milliseconds=1), None)
    assert ("新建一个迭代，完成之后检查sprints表", "closed", sh(2023, 8, 30), sh(2023, 9, 6) - timedelta(milliseconds=1),
            utc(2023, 8, 29, 8, 4, 13)) in got
    assert dict((n, s) for n, s, *_ in got)["把迭代挂起"] == "active"          # suspended
    assert dict((n, s) for n, s, *_ in got)["建一个计划未来开始迭代"] == "future"  # wait


# --- Catalog and documentation ----------------------------------------------------------------------------------

def test_every_code_the_adapter_raises_or_warns_is_translated():
    source = (REPO / "ingest" / "zentao.py").read_text(encoding="utf-8")
    source += (REPO / "ingest" / "detect.py").read_text(encoding="utf-8")
    errors = set(re.findall(r'IngestError\("([a-z_]+)"', source))
    warns = set(re.findall(r'warning\(\s*(?:f?)"([a-z_]+)"', source)) | {"unmapped_status", "unmapped_resolution"}
    assert {"zentao_project_required", "zentao_bad_id", "bad_xlsx"} <= errors
    assert {"zentao_child_tasks_unlinked", "zentao_ids_only", "unparsable_hours", "hours_coverage"} <= warns
    for lang in i18n.LANGS:
        cat = i18n.catalog(lang)
        assert sorted(c for c in errors if f"error.{c}" not in cat) == [], lang
        assert sorted(c for c in warns if f"warn.{c}" not in cat) == [], lang
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("zentao-bug", "zentao-task", "zentao-story", "zentao-xlsx", "zentao-json"):
        assert name in FORMATS and f"| `{name}` |" in readme
