"""bench/ingest.py still runs end to end (so the benchmark cannot rot), and the date shortcuts it relies on
agree with the plain SQL they replace."""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from ingest import dates
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
