"""bench/ingest.py and bench/zentao.py still run end to end (so the benchmarks cannot rot), and the shortcuts the
imports they measure rely on agree with the plain code they replace: dates (ingest/dates.py), trimming and ISO
dates (ingest/zentao.py), the GB18030 pass (ingest/bytescan.py)."""
from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import random
import subprocess
import sys

import duckdb

from ingest import bytescan, dates, decode, zentao
from tests.samples import REPO


def test_bench_runs_on_2000_rows_and_reports_its_numbers(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "bench" / "ingest.py"), "--rows", "2000", "--repeat", "1",
                          "--out", str(tmp_path), "--keep"],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in result, result.get("error")
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    assert isinstance(result["peak_mb"], float) and result["peak_mb"] > 0
    assert result["issues"] == 2000
    # The ingested database itself holds exactly the generated rows.
    con = duckdb.connect(str(tmp_path / "ingest.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT issue_key) FROM issues").fetchone() == (2000, 2000)
    finally:
        con.close()
    # The step breakdown came through (PULSE_PROFILE lines and DuckDB's query log).
    steps = result["ingest"]["steps"]
    assert {"decode_check", "read_csv_to_stage_issues", "load: insert issues",
            "load: insert issue_snapshots"} <= set(steps)


def _old_normalized(expr: str) -> str:
    # ingest/dates.py before the fast path (kept here as the reference).
    return (f"regexp_replace(replace(replace(replace(trim({expr}), '上午', 'AM'), '下午', 'PM'), '月', ''),"
            f" '\\s+', ' ', 'g')")


def _old_parse(expr: str, family: str) -> str:
    fmts = ", ".join(f"'{f}'" for f in dates.FAMILIES[family])
    return f"try_strptime({_old_normalized(expr)}, [{fmts}])"


def _date_texts(con) -> list[str]:
    """Well- and ill-formed date texts: every format of every family, and mutations of them."""
    stamps = [r[0] for r in con.execute(
        "SELECT TIMESTAMP '2021-09-08 14:02:05.123' + to_minutes(i * 7919) + to_seconds(i * 13) "
        "FROM range(12) t(i)").fetchall()]
    texts = {"", " ", "N/A", "31/Feb/21 1:00 AM", "13/13/2021", "12/13/2021", "13/12/2021", "2021-02-30",
             "2021-09-08T14:02:05Z", "2021-09-08T14:02:05+08:00", "9/7/2021 16:49", "08/9月/21 2:02 下午",
             "2021/9/8", "8.9.2021 14:02", "1/1/1", "12:00", "AM", "1:2:3", "//", "::", "1/1/2021 25:00",
             "08/Sep/21 2:02 PM", "08/Sep/2021 2:02 PM", "8-Sep-21 14:02", "2021-09-08 14:02:05.548"}
    fmts = sorted({f for fs in dates.FAMILIES.values() for f in fs})
    for ts in stamps:
        for fmt in fmts:
            s = con.execute("SELECT strftime(?, ?)", [ts, fmt]).fetchone()[0]
            texts.update([s, s.lower(), f"  {s} ", s + "\t", s.replace(" ", "  "), s.replace(" ", "\n"), s + "x",
                          s.replace("PM", "下午").replace("AM", "上午"), s.replace("/", "月/", 1), s[:-1], s[1:],
                          s + "\u00a0", s.replace(":", "::"), s.replace("/", "-"), s.replace("-", "/"),
                          s.replace(" ", "T"), s + ":00", s.replace(" PM", "PM")])
    return sorted(texts)


def test_fast_date_parsing_matches_the_plain_sql():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS v", [_date_texts(con)])
    assert con.execute(f"SELECT count(*) FROM t WHERE {_old_normalized('v')} IS DISTINCT FROM "
                       f"{dates.normalized('v')}").fetchone()[0] == 0
    for family in dates.FAMILIES:
        shaped = dates.parse_shaped_sql("n", "k", family)
        diff = con.execute(f"""
            SELECT v FROM (SELECT v, {_old_parse('v', family)} AS a,
                (SELECT {shaped} FROM (SELECT n, {dates.shape_sql('n')} AS k
                                       FROM (SELECT {dates.normalized('v')} AS n))) AS b FROM t)
            WHERE a IS DISTINCT FROM b""").fetchall()
        assert diff == [], (family, diff[:5])
        assert con.execute(f"SELECT count({_old_parse('v', family)}) FROM t").fetchone()[0] > 0, family


# --- bench/zentao.py and the ZenTao import's shortcuts -------------------------------------------------------------

def test_zentao_bench_runs_on_2000_rows_and_reports_its_numbers(tmp_path):
    out = subprocess.run([sys.executable, str(REPO / "bench" / "zentao.py"), "--rows", "2000", "--repeat", "1",
                          "--out", str(tmp_path), "--keep"],
                         capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in result, result.get("error")
    assert isinstance(result["ratio"], float) and result["ratio"] > 0
    assert isinstance(result["peak_mb"], float) and result["peak_mb"] > 0
    assert result["issues"] == 2000
    con = duckdb.connect(str(tmp_path / "ingest.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT count(*), count(DISTINCT issue_key), min(project_key), max(project_key) "
                           "FROM issues").fetchone() == (2000, 2000, "ZT", "ZT")
        assert con.execute("SELECT source_format FROM imports").fetchall() == [("zentao-bug",)]
    finally:
        con.close()
    # The file is written as ZenTao writes it: GBK, every cell quoted, one extra empty cell per data row.
    raw = (tmp_path / "zentao_bug_2000_gbk.csv").read_bytes()
    text = raw.decode("gbk")
    assert raw.startswith(b'"') and b"\r" not in raw and text == (tmp_path / "zentao_bug_2000_utf8.csv").read_text(
        encoding="utf-8")
    records = list(csv.reader(io.StringIO(text)))
    header, body = records[0], records[1:]
    assert len(header) == 40 and header[:3] == ["Bug编号", "所属产品", "平台/分支"] and len(body) == 2000
    assert all(len(r) == 41 and r[-1] == "" for r in body)
    assert text.count('"\n"') == 2000 and not any('"' in v for r in records for v in r)
    assert any("\n" in r[15] for r in body) and {r[18] for r in body} >= {"0", "1", "2"}
    assert any(r[29] == "0000-00-00 00:00:00" for r in body) and any(r[27].endswith("(#fixed)") for r in body)
    steps = result["ingest"]["steps"]
    assert {"decode_check", "read_csv_to_zt_cells", "date_inference_and_stage_issues", "load: insert issues"} <= set(
        steps)


def _edge_texts() -> list[str]:
    rnd = random.Random(4)
    base = ["2024-05-06 09:30:00", "1999-12-31 23:59:59", "2024-02-29 00:00:00", "0000-00-00 00:00:00",
            "0000-00-00", "2024-5-6 9:30:00", "2024-05-06T09:30:00Z", "激活(#active)", "1\t", "", " ", "x", "中"]
    alphabet = "0123456789-: \t\r\nT.Z+/年月上午下午PMa中"
    texts = set(base)
    for b in base:
        for _ in range(300):
            s = list(b)
            for _ in range(rnd.randint(1, 3)):
                i = rnd.randrange(len(s) + 1)
                if rnd.random() < 0.5 or not s:
                    s.insert(i, rnd.choice(alphabet))
                else:
                    s[min(i, len(s) - 1)] = rnd.choice(alphabet)
            texts.add("".join(s))
    return sorted(texts)


def test_zentao_fast_paths_match_the_plain_sql():
    """_trim_sql skips trim for a text with no space at either end; _stage_issues takes a text strptime reads as
    `%Y-%m-%d %H:%M:%S` without the general parse: both give what the plain expressions give."""
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest(?) AS x", [_edge_texts() + [None]])
    plain = "nullif(trim(x, ' ' || chr(9) || chr(10) || chr(13)), '')"
    assert con.execute(f"SELECT count(*) FROM t WHERE {plain} IS DISTINCT FROM {zentao._trim_sql('x')}"
                       ).fetchone()[0] == 0
    cell = f"CASE WHEN starts_with({plain}, '0000-00-00') THEN NULL ELSE {plain} END"
    assert con.execute(f"SELECT count(*) FROM t WHERE {cell} IS DISTINCT FROM {zentao._date_text_sql('x')}"
                       ).fetchone()[0] == 0
    fast = "CASE WHEN strlen(x) = 19 AND NOT starts_with(x, '0000') THEN try_strptime(x, '%Y-%m-%d %H:%M:%S') END"
    offset = "coalesce(regexp_matches(c, 'T.*(Z|[+-][0-9]{2}:?[0-9]{2})$'), false)"
    rows = con.execute(f"""
        SELECT x, fast, slow
        FROM (SELECT x, {fast} AS fast, {dates.parse_sql('c', 'iso')} AS slow, {offset} AS off
              FROM (SELECT x, {cell} AS c FROM t))
        WHERE fast IS NOT NULL AND (fast IS DISTINCT FROM slow OR off)""").fetchall()
    assert rows == []
    assert con.execute(f"SELECT count({fast}) FROM t").fetchone()[0] > 10


def test_gb18030_pass_matches_the_whole_file_decode(tmp_path, monkeypatch):
    """Both halves at once (the split lowered to 64 bytes here), and the UTF-8 line check without decoding, give
    what decoding the whole file and decode._utf8_lines' regular expressions give."""
    monkeypatch.setattr(bytescan, "PARALLEL_FROM", 64)
    rnd = random.Random(9)
    pieces = ["智慧园区", "迭代1(#11)", "abc", ",", '"', "é", "\u4e00", "\u9fff", "\r", " ", "😀"]
    path = tmp_path / "f.csv"
    for _ in range(60):
        lines = []
        for _ in range(rnd.randint(1, 25)):
            text = "".join(rnd.choice(pieces) for _ in range(rnd.randint(0, 5)))
            kind = rnd.random()
            lines.append(text.encode("utf-8") if kind < 0.2 else text.encode("gb18030") if kind < 0.9
                         else bytes(rnd.randrange(256) for _ in range(3)).replace(b"\n", b""))
        data = b"\n".join(lines) + rnd.choice([b"\n", b"", b"\x81"])
        path.write_bytes(data)
        try:
            want = data.decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            want = None
        clean = sum(len(decode._CJK_LINE.findall(t)) for t in decode._utf8_texts(path, 0)) > 0
        got = bytescan.gb18030_pass(path)
        try:
            assert (got.clean_cjk, got.sha256) == (clean, hashlib.sha256(data).hexdigest())
            assert (open(got.out, "rb").read() if got.out else None) == want
            assert bytescan.has_clean_cjk_line(path) == clean
        finally:
            got.discard()
    assert codecs.lookup("gb18030")
