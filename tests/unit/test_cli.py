"""cli.py as scripts use it: JSON out, exit 2 with one line naming the file, database unchanged."""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb

from store import db
from tests.samples import DATA, REPO

JIRA = DATA / "jira"


def run(*args, db_path):
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *args, "--db", str(db_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def dump(db_path):
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in db.TABLES}
    finally:
        con.close()


def test_ingest_prints_one_json_object_per_file(tmp_path):
    path = tmp_path / "p.duckdb"
    rc, out, err = run("ingest", str(JIRA / "allfields_small.csv"), str(JIRA / "excel_resaved_dmy.csv"),
                       "--project", "CLI", db_path=path)
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(o["import_id"], o["project_key"], o["source_format"], o["rows"], o["issues"], o["changes"])
            for o in lines] == [(1, "CLI", "jira-csv", 6, 6, 0), (2, "CLI", "jira-csv", 6, 6, 0)]
    assert "Estimate coverage: 3 of 5 issues have story points." in lines[0]["warnings"]
    rc, out, _ = run("ingest", str(JIRA / "allfields_small.csv"), "--project", "CLI", db_path=path)
    assert rc == 0 and json.loads(out)["duplicate"] is True


def test_refused_file_exits_2_names_it_and_rolls_back_the_whole_command(tmp_path):
    path = tmp_path / "p.duckdb"
    assert run("ingest", str(JIRA / "allfields_small.csv"), db_path=path)[0] == 0
    before = dump(path)
    bad = tmp_path / "no_key.csv"
    bad.write_text("Summary,Status\nx,Done\n", encoding="utf-8")
    # The good file listed first is rolled back too: one command, all or nothing.
    rc, out, err = run("ingest", str(JIRA / "excel_resaved_mdy.csv"), str(bad), "--project", "OTHER",
                       db_path=path)
    assert rc == 2 and out == ""
    assert err.strip().splitlines() == [
        "no_key.csv: the columns do not match any known tracker export (first columns: Summary, Status). "
        "Choose the format by hand."]
    assert dump(path) == before


def test_error_message_in_chinese(tmp_path):
    bad = tmp_path / "空.csv"
    bad.write_bytes(b"")
    rc, _, err = run("ingest", str(bad), "--lang", "zh-CN", db_path=tmp_path / "p.duckdb")
    assert rc == 2 and err.strip() == "空.csv：文件是空的。"


def test_unknown_project_for_metrics_exits_2(tmp_path):
    rc, out, err = run("metrics", "--project", "NOPE", db_path=tmp_path / "p.duckdb")
    assert rc == 2 and out == "" and "NOPE" in err


def test_metrics_prints_every_registry_id_in_the_contract_shape(tmp_path):
    from metrics import REGISTRY
    path = tmp_path / "p.duckdb"
    assert run("ingest", str(JIRA / "allfields_small.csv"), db_path=path)[0] == 0
    rc, out, err = run("metrics", "--project", "DEMO", "--sprint", "DEMO Sprint 2", db_path=path)
    assert rc == 0, err
    data = json.loads(out)
    assert set(data) == set(REGISTRY)
    for body in data.values():
        assert set(body) == {"value", "unit", "series", "warnings", "target", "rag", "signals"}
    # By hand: sprint 2 has no dates in a CSV, so it is inferred (starts 2024-06-18, after DEMO-1 was done);
    # DEMO-2 (3 points, in progress) and DEMO-5 (8 points, reopened) are committed, nothing moves: 11.
    burndown = data["burndown"]
    assert (burndown["value"], burndown["unit"]) == (11.0, "points")
    assert burndown["series"][0] == {"day": "2024-06-18", "remaining": 11.0, "guideline": 10.0, "done": 0.0,
                                     "scope": 11.0, "burndown": 0, "reopen": 0, "scope_plus": 0,
                                     "scope_minus": 0, "is_workday": True}
    assert burndown["warnings"][0] == ("Sprint “DEMO Sprint 2” has no dates in the export; they were inferred "
                                       "from its issues. Set them in Settings.")
    # No size set: null with the reason, never 0 or infinity; one valid open bug (DEMO-2).
    density = data["defect_density"]
    assert density["value"] is None and density["series"][0]["defects"] == 1
    assert "Project size (kloc) is not set: set it in Settings to see defect density." in density["warnings"]
    assert data["reopen_rate"]["value"] is None
    assert data["reopen_rate"]["warnings"] == ["No issue was resolved in 2024-06."]
