"""Deleting an import (store/history.delete_import, `cli.py delete-import`): one transaction that removes exactly
what the import added and restores what it overwrote; every table is compared (store.db.TABLES, audit_log aside).
"""
from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import date, datetime, timezone

import pytest

from ingest import ingest_file
from store import db, history, projects
from tests.samples import DATA, REPO

HIST = DATA / "history"
A = HIST / "HIS_Jira_current_fields_2026-08-31.csv"
B = HIST / "HIS_Jira_current_fields_2026-09-30.csv"
C = HIST / "HIS_Jira_current_fields_2026-10-30.csv"
SPRINTS = HIST / "HIS_board_7_sprints.json"
ZA = HIST / "ZT_bugs_2026-09-15.csv"
ZB = HIST / "ZT_bugs_2026-10-15.csv"
COMPARED = tuple(t for t in db.TABLES if t != "audit_log")


def fresh():
    return db.cursor(db.connect(":memory:"))


def dump(cur, *, when: bool = True) -> dict[str, list]:
    """Every table's rows, sorted; when=False blanks imports.imported_at (it differs between two databases)."""
    out = {}
    for table in COMPARED:
        cols = [r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()]
        select = ", ".join("NULL" if (table == "imports" and c == "imported_at" and not when) else f'"{c}"'
                           for c in cols)
        out[table] = sorted(cur.execute(f"SELECT {select} FROM {table}").fetchall(), key=repr)
    return out


def burn(cur, n: int) -> None:
    """Use up import ids, so that a database built with fewer imports numbers them as the other one did."""
    for _ in range(n):
        cur.execute("SELECT nextval('import_seq')").fetchone()


def imp(cur, path, **kw):
    return ingest_file(cur, path, **kw).import_id


def test_delete_the_newer_import_gives_back_the_state_after_the_older(tmp_path):
    cur = fresh()
    imp(cur, A)
    after_a = dump(cur)
    b = imp(cur, B)
    assert dump(cur) != after_a
    out = history.delete_import(cur, b)
    assert dump(cur) == after_a
    assert (out["issues_restored"], out["issues_deleted"], out["snapshots"], out["changes_derived"]) == (6, 1, 7, 8)
    assert out["projects_removed"] == []
    audit = cur.execute("SELECT action, detail FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
    assert audit[0] == "delete" and json.loads(audit[1])["import_id"] == b


def test_delete_the_older_import_gives_the_newer_as_if_imported_alone():
    cur = fresh()
    imp(cur, A)
    b = imp(cur, B)
    history.delete_import(cur, 1)
    alone = fresh()
    burn(alone, 1)
    assert imp(alone, B) == b
    # first_import_id is fixed up too (the earliest remaining import that holds the issue)
    assert dump(cur, when=False) == dump(alone, when=False)
    # B's work log that A had brought first is now B's, as if A had never been imported
    assert cur.execute("SELECT count(*), min(import_id), max(also_import_ids) FROM worklogs").fetchone() == (2, b, None)


@pytest.mark.parametrize("first", ["newer", "older"])
def test_delete_both_in_either_order_leaves_nothing(first):
    cur = fresh()
    empty = dump(cur)
    a, b = imp(cur, A), imp(cur, B)
    for x in ((b, a) if first == "newer" else (a, b)):
        history.delete_import(cur, x)
    assert dump(cur) == empty
    assert [r[0] for r in cur.execute("SELECT action FROM audit_log ORDER BY id").fetchall()] == [
        "import", "import", "delete", "delete"]


def test_delete_the_middle_export_derives_the_diff_between_its_neighbours():
    cur = fresh()
    imp(cur, A)
    b = imp(cur, B)
    imp(cur, C)
    out = history.delete_import(cur, b)
    assert out["issues_deleted"] == 0
    neighbours = fresh()
    imp(neighbours, A)
    burn(neighbours, 1)
    imp(neighbours, C)
    assert dump(cur, when=False) == dump(neighbours, when=False)
    # HIS-1 was done in A and in C: without B the reopen is gone, and so is its reopen count
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 0
    assert cur.execute("SELECT count(*) FROM changes WHERE issue_key = 'HIS-1' AND field = 'status_category'"
                       ).fetchone()[0] == 0


@pytest.mark.parametrize("order", list(itertools.permutations([A, B, C])), ids=lambda o: "-".join(f.stem[-5:] for f in o))
def test_any_upload_order_then_delete_equals_never_importing_it(order):
    """Upload the three months in any order, delete the second upload: the same database as uploading only the
    other two, in the same order (history, issue rows, reopen counts, work logs, sprints)."""
    cur = fresh()
    ids = [imp(cur, f) for f in order]
    history.delete_import(cur, ids[1])
    ref = fresh()
    imp(ref, order[0])
    burn(ref, 1)
    imp(ref, order[2])
    assert dump(cur, when=False) == dump(ref, when=False)


def test_delete_an_older_export_imported_late():
    cur = fresh()
    imp(cur, C)
    after_c = dump(cur)
    a = imp(cur, A)                          # older, uploaded later: adds history, keeps C's rows
    assert dump(cur) != after_c
    history.delete_import(cur, a)
    assert dump(cur) == after_c


def test_zentao_exports_delete_in_both_orders():
    for order in ((2, 1), (1, 2)):
        cur = fresh()
        imp(cur, ZA, project_key="ZT")
        after_a = dump(cur)
        imp(cur, ZB, project_key="ZT")
        history.delete_import(cur, order[0])
        if order[0] == 2:
            assert dump(cur) == after_a
        else:
            alone = fresh()
            burn(alone, 1)
            imp(alone, ZB, project_key="ZT")
            assert dump(cur, when=False) == dump(alone, when=False)
        history.delete_import(cur, order[1])
        assert all(rows == [] for rows in dump(cur).values())


def test_sprints_an_import_updated_get_their_previous_values_back():
    cur = fresh()
    imp(cur, A)                                                      # sprint names only
    after_a = dump(cur)
    s = imp(cur, SPRINTS, project_key="HIS")                         # their dates
    assert cur.execute("SELECT source, start_at IS NOT NULL FROM sprints WHERE name = 'HIS Sprint 1'"
                       ).fetchone() == ("tracker", True)
    history.delete_import(cur, s)
    assert dump(cur) == after_a
    # with B on top, deleting the sprints file keeps B's names and drops only the dates
    s = imp(cur, SPRINTS, project_key="HIS")
    b = imp(cur, B)
    history.delete_import(cur, s)
    assert cur.execute("SELECT name, state, start_at, source, import_id FROM sprints ORDER BY name").fetchall() == [
        ("HIS Sprint 1", None, None, "names-only", b), ("HIS Sprint 2", None, None, "names-only", b)]
    # deleting the CSV that first named a sprint keeps the dates the sprints file gave it
    cur = fresh()
    a = imp(cur, A)
    s = imp(cur, SPRINTS, project_key="HIS")
    before = cur.execute("SELECT name, state, start_at, end_at, completed_at FROM sprints ORDER BY name").fetchall()
    history.delete_import(cur, a)
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at FROM sprints ORDER BY name"
                       ).fetchall() == before
    assert cur.execute("SELECT DISTINCT import_id FROM sprints").fetchall() == [(s,)]


def test_manual_sprint_dates_and_pmo_settings_survive():
    cur = fresh()
    a = imp(cur, A)
    projects.set_sprint_dates(cur, "HIS", [{"name": "HIS Sprint 1", "start": date(2026, 8, 3),
                                            "end": date(2026, 8, 28)}])
    projects.update_project(cur, "HIS", size_kloc=12)
    out = history.delete_import(cur, a)
    assert out["projects_removed"] == []
    assert cur.execute("SELECT name, source FROM sprints").fetchall() == [("HIS Sprint 1", "manual")]
    assert cur.execute("SELECT size_kloc FROM projects WHERE project_key = 'HIS'").fetchone()[0] == 12
    assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 0


def test_an_unknown_import_changes_nothing():
    cur = fresh()
    imp(cur, A)
    before = dump(cur)
    with pytest.raises(history.ImportNotFound):
        history.delete_import(cur, 42)
    with pytest.raises(history.ImportNotFound):
        history.delete_import(cur, "x")
    assert dump(cur) == before


def test_a_failure_rolls_the_delete_back(monkeypatch):
    cur = fresh()
    imp(cur, A)
    b = imp(cur, B)
    before = dump(cur)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(history, "_restore_sprints", boom)
    with pytest.raises(RuntimeError):
        history.delete_import(cur, b)
    assert dump(cur) == before


def run_cli(*args, db_path):
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *args, "--db", str(db_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def test_cli_delete_import(tmp_path):
    path = tmp_path / "p.duckdb"
    rc, out, err = run_cli("ingest", str(A), str(B), db_path=path)
    assert rc == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(o["issues_new"], o["issues_updated"], o["changes_derived"]) for o in lines] == [(6, 0, 0), (1, 6, 8)]
    rc, out, err = run_cli("delete-import", "2", db_path=path)
    assert rc == 0, err
    result = json.loads(out)
    assert (result["import_id"], result["file_name"], result["issues_restored"], result["issues_deleted"]) == (
        2, B.name, 6, 1)
    rc, out, err = run_cli("delete-import", "2", db_path=path)
    assert rc == 2 and out == ""
    assert err.strip().splitlines() == ["import '2' not found (known: 1)"]


def test_readme_documents_the_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python cli.py delete-import IMPORT_ID [--db PATH]" in readme


def test_a_database_made_before_the_history_columns(tmp_path):
    """Opening an older database adds the columns and table (store/schema.sql); its imports get an export time
    and sprint snapshots on the next import or delete, so history and deletes work on them too."""
    path = tmp_path / "old.duckdb"
    con = db.connect(path)
    cur = db.cursor(con)
    imp(cur, A)
    imp(cur, SPRINTS, project_key="HIS")
    # as a database made before: no exported_at, no also_import_ids, no sprint_snapshots
    cur.execute("DROP TABLE sprint_snapshots")
    cur.execute("ALTER TABLE imports DROP COLUMN exported_at")
    cur.execute("ALTER TABLE worklogs DROP COLUMN also_import_ids")
    cur.execute("ALTER TABLE changes DROP COLUMN also_import_ids")
    con.close()
    con = db.connect(path)
    cur = db.cursor(con)
    assert cur.execute("SELECT count(*) FROM imports WHERE exported_at IS NULL").fetchone()[0] == 2
    b = imp(cur, B)
    assert cur.execute("SELECT exported_at FROM imports WHERE import_id = 1").fetchone()[0] == datetime(
        2026, 8, 31, 9, tzinfo=timezone.utc)                        # backfilled from its snapshots
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 1
    history.delete_import(cur, 2)                                   # the sprints file: dates go, names stay
    history.delete_import(cur, b)
    assert cur.execute("SELECT name, source, import_id FROM sprints").fetchall() == [("HIS Sprint 1", "names-only", 1)]
    assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 6
