"""History without a changelog (store/history.py): successive plain exports of the same project give reopen,
sprint-membership and estimate history in `changes`, ordered by the exports' own dates, in any upload order.

Fixtures (tests/data/history/README.md): three monthly Jira "current fields" exports of project HIS (with Sprint,
Story Points, estimates, Parent key and Log Work columns), a file of problems, two monthly ZenTao bug exports.
"""
from __future__ import annotations

import itertools
from datetime import date, datetime, timezone

import pytest

from ingest import ingest_file
from metrics import compute
from store import db, history, projects
from store.load import ISSUE_COLUMNS, Staged, commit_import
from tests.samples import DATA

HIST = DATA / "history"
A = HIST / "HIS_Jira_current_fields_2026-08-31.csv"
B = HIST / "HIS_Jira_current_fields_2026-09-30.csv"
C = HIST / "HIS_Jira_current_fields_2026-10-30.csv"
ZA = HIST / "ZT_bugs_2026-09-15.csv"
ZB = HIST / "ZT_bugs_2026-10-15.csv"
PROBLEMS = HIST / "HIS_Jira_problems.csv"

# Jira CSV dates carry no offset: read as Asia/Shanghai (UTC+8).
T_A = datetime(2026, 8, 31, 9, 0, tzinfo=timezone.utc)     # 31/Aug/26 5:00 PM, the latest Updated of A
T_B = datetime(2026, 9, 30, 9, 0, tzinfo=timezone.utc)
T_C = datetime(2026, 10, 30, 9, 0, tzinfo=timezone.utc)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


# Every derived row after A, B, C (any upload order): issue, changed_at, field, from, to, the export it is dated by.
EXPECTED = [
    ("HIS-1", utc(2026, 8, 20, 8), "status_category", "in_progress", "done", B.name),   # how it entered DONE (A)
    ("HIS-1", T_B, "sprint", '["HIS Sprint 1"]', '["HIS Sprint 1","HIS Sprint 2"]', B.name),
    ("HIS-1", T_B, "status_category", "done", "in_progress", B.name),                   # the reopen
    ("HIS-1", utc(2026, 10, 8, 7), "status_category", "in_progress", "done", C.name),   # done again: C's date
    ("HIS-2", T_B, "sprint", '["HIS Sprint 1"]', '["HIS Sprint 2"]', B.name),
    ("HIS-2", T_B, "story_points", "3", "5", B.name),
    ("HIS-3", T_B, "remaining_estimate_h", "8", "4", B.name),
    ("HIS-3", T_B, "sprint", '["HIS Sprint 1"]', '["HIS Sprint 2"]', B.name),
    ("HIS-3", T_C, "remaining_estimate_h", "4", "0", C.name),
    ("HIS-5", T_B, "remaining_estimate_h", "4", "2", B.name),
    ("HIS-5", T_C, "remaining_estimate_h", "2", "0", C.name),
]


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    cursor = db.cursor(con)
    yield cursor
    cursor.close()
    con.close()


def derived(cur) -> list[tuple]:
    names = dict(cur.execute("SELECT import_id, file_name FROM imports").fetchall())
    rows = cur.execute("SELECT issue_key, changed_at, field, from_value, to_value, import_id FROM changes "
                       "WHERE author = 'snapshot-diff'").fetchall()
    return sorted((k, at, f, a, b, names[i]) for k, at, f, a, b, i in rows)


def issue_rows(cur) -> list[tuple]:
    """The issues table with import ids replaced by file names (ids depend on the upload order)."""
    names = dict(cur.execute("SELECT import_id, file_name FROM imports").fetchall())
    cols = ", ".join(c for c in ISSUE_COLUMNS)
    rows = cur.execute(f"SELECT {cols}, last_import_id FROM issues ORDER BY project_key, issue_key").fetchall()
    return [r[:-1] + (names[r[-1]],) for r in rows]


def test_monthly_exports_give_reopen_scope_and_estimate_history(cur):
    ra = ingest_file(cur, A)
    assert (ra.issues_new, ra.issues_updated, ra.issues_kept, ra.changes_derived) == (6, 0, 0, 0)
    assert ra.exported_at == T_A
    # a first import derives nothing and leaves reopen counts unknown
    assert derived(cur) == []
    assert cur.execute("SELECT count(*) FROM issues WHERE reopen_count IS NOT NULL").fetchone()[0] == 0

    rb = ingest_file(cur, B)
    assert (rb.issues_new, rb.issues_updated, rb.issues_kept, rb.changes_derived, rb.changes) == (1, 6, 0, 8, 0)
    rc = ingest_file(cur, C)
    assert (rc.issues_new, rc.issues_updated, rc.issues_kept, rc.changes_derived) == (0, 7, 0, 3)
    assert derived(cur) == EXPECTED
    assert cur.execute("SELECT import_id, exported_at FROM imports ORDER BY 1").fetchall() == [
        (1, T_A), (2, T_B), (3, T_C)]
    # reopen_count: derived where two snapshots exist (0 when none happened); first_done_at the earliest
    rows = {k: (s, n, f) for k, s, n, f in cur.execute(
        "SELECT issue_key, status_category, reopen_count, first_done_at FROM issues").fetchall()}
    assert rows["HIS-1"] == ("done", 1, utc(2026, 8, 20, 8))
    assert {k: v[1] for k, v in rows.items()} == {"HIS-1": 1, "HIS-2": 0, "HIS-3": 0, "HIS-4": 0, "HIS-5": 0,
                                                  "HIS-6": 0, "HIS-7": 0}
    # the JSON the CLI prints keeps its keys and adds the new ones
    out = rc.as_json()
    assert {"import_id", "project_key", "source_format", "rows", "issues", "changes", "warnings"} <= set(out)
    assert (out["issues_new"], out["issues_updated"], out["changes_derived"]) == (0, 7, 3)
    assert out["exported_at"] == "2026-10-30T09:00:00+00:00"


def test_a_single_snapshot_keeps_reopen_count_unknown(cur):
    ingest_file(cur, A)
    ingest_file(cur, B)
    # HIS-7 appears in B only: one snapshot, count still unknown
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-7'").fetchone()[0] is None
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 1


@pytest.mark.parametrize("order", list(itertools.permutations([A, B, C])))
def test_upload_order_never_inverts_history(order):
    """Older exports uploaded after newer ones take their place by date: the same history, the same issue rows
    (the newest export's state) whatever the order."""
    con = db.connect(":memory:")
    cur = db.cursor(con)
    results = [ingest_file(cur, f) for f in order]
    assert derived(cur) == EXPECTED
    in_order = db.cursor(db.connect(":memory:"))
    for f in (A, B, C):
        ingest_file(in_order, f)
    assert issue_rows(cur) == issue_rows(in_order)
    assert {r[-1] for r in issue_rows(cur)} == {C.name}
    # an export older than the rows it meets keeps them and says so
    for f, r in zip(order, results):
        newer_before = [g for g in order[:order.index(f)] if g.name > f.name]
        assert (r.issues_kept > 0) == bool(newer_before), (f.name, r)


def test_an_older_export_imported_late_keeps_the_newer_state(cur):
    ingest_file(cur, C)
    late = ingest_file(cur, A)
    assert (late.issues_new, late.issues_updated, late.issues_kept) == (0, 0, 6)
    assert cur.execute("SELECT status_category, last_import_id FROM issues WHERE issue_key = 'HIS-2'").fetchone() == (
        "done", 1)
    # HIS-1 was done in A and in C: no reopen is visible between them
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 0
    # the diff A -> C is dated by C, never by the upload of A
    assert ("HIS-2", T_C, "story_points", "3", "5", C.name) in derived(cur)
    assert all(row[1] <= T_C for row in derived(cur))


def test_zentao_known_reopen_counts_are_never_lowered(cur):
    ingest_file(cur, ZA, project_key="ZT")
    assert cur.execute("SELECT issue_key, reopen_count FROM issues ORDER BY 1").fetchall() == [
        ("BUG-201", 0), ("BUG-202", 1), ("BUG-203", 0)]
    r = ingest_file(cur, ZB, project_key="ZT")
    assert (r.issues_new, r.issues_updated) == (1, 3)
    assert cur.execute("SELECT issue_key, reopen_count FROM issues ORDER BY 1").fetchall() == [
        ("BUG-201", 1), ("BUG-202", 1), ("BUG-203", 0), ("BUG-204", 0)]
    t_b = utc(2026, 10, 14, 9)     # 2026-10-14 17:00 Asia/Shanghai, the latest EditedDate of the second export
    assert [row[:5] for row in derived(cur)] == [
        ("BUG-201", utc(2026, 9, 5, 2), "status_category", "in_progress", "done"),
        ("BUG-201", t_b, "sprint", '["Sprint 7"]', '["Sprint 8"]'),
        ("BUG-201", t_b, "status_category", "done", "todo"),
    ]


def test_metrics_read_the_derived_history(cur):
    for f in (A, B, C):
        ingest_file(cur, f)
    projects.set_sprint_dates(cur, "HIS", [
        {"name": "HIS Sprint 2", "start": date(2026, 9, 14), "end": date(2026, 10, 9), "completed": date(2026, 10, 9),
         "state": "closed"}])
    result = compute("burndown", cur, project_key="HIS", sprint="HIS Sprint 2", statistic="points")
    assert {"code": "burndown_no_history"} not in result.warnings
    events = result.extra["events"]
    assert set(events[events["issue_key"] == "HIS-1"]["type"]) == {"reopen", "burndown"}
    assert result.extra["summary"]["reopen"] == 5.0
    assert result.extra["summary"]["estimate_change"] == 2.0       # HIS-2: 3 -> 5 points
    rate = compute("reopen_rate", cur, project_key="HIS", month="2026-10", scope="all")
    assert rate.value == 0.25 and rate.warnings == []              # HIS-1 of HIS-1, 2, 3, 7


def test_reopen_rate_is_not_derivable_from_one_export(cur):
    ingest_file(cur, C)
    rate = compute("reopen_rate", cur, project_key="HIS", month="2026-10", scope="all")
    assert rate.value is None and {"code": "reopen_not_derivable"} in rate.warnings


def _stage_from_snapshot(cur, import_id: int, **changes) -> None:
    """stage_issues as a copy of one import's snapshots (for a hand-made import)."""
    cols = ", ".join(ISSUE_COLUMNS)
    cur.execute(f"CREATE OR REPLACE TEMP TABLE stage_issues AS SELECT {cols} FROM issue_snapshots "
                f"WHERE import_id = {int(import_id)}")
    for col, value in changes.items():
        cur.execute(f"UPDATE stage_issues SET {col} = ?", [value])


def test_tracker_history_replaces_derived_rows(cur):
    ingest_file(cur, A)
    ingest_file(cur, B)
    assert ("HIS-1", T_B, "status_category", "done", "in_progress", B.name) in derived(cur)
    # a history-carrying export (as jira-json stages it) of HIS-1's status
    _stage_from_snapshot(cur, 2, updated_at=utc(2026, 10, 1))
    cur.execute("DELETE FROM stage_issues WHERE issue_key <> 'HIS-1'")
    cur.execute("""CREATE OR REPLACE TEMP TABLE stage_changes AS
                   SELECT 'HIS' AS project_key, 'HIS-1' AS issue_key, TIMESTAMPTZ '2026-09-11 03:00:00+00' AS changed_at,
                          'status_category' AS field, 'done' AS from_value, 'in_progress' AS to_value,
                          'dev-1' AS author""")
    r = commit_import(cur, Staged("jira-json", rows=1, has_changes=True), file_name="his.json", file_sha256="x")
    assert r.changes == 1
    statuses = [row for row in derived(cur) if row[0] == "HIS-1" and row[2] == "status_category"]
    assert statuses == []                                                  # the tracker's history stands
    assert ("HIS-1", T_B, "sprint", '["HIS Sprint 1"]', '["HIS Sprint 1","HIS Sprint 2"]', B.name) in derived(cur)
    # the project now has tracker status history: its counts are the tracker's, never lowered
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 1


def test_a_status_mapping_re_derives_the_history(cur):
    for f in (A, B, C):
        ingest_file(cur, f)
    # the PMO decides "In Progress" means done here: HIS-1 was never reopened
    projects.set_value_maps(cur, "HIS", "status", {"In Progress": "done"})
    assert [r for r in derived(cur) if r[2] == "status_category"] == []
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 0
    projects.set_value_maps(cur, "HIS", "status", {"In Progress": "in_progress"})
    assert derived(cur) == EXPECTED
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = 'HIS-1'").fetchone()[0] == 1


def test_the_report_names_what_to_check(cur):
    ingest_file(cur, A)
    r = ingest_file(cur, PROBLEMS)
    codes = {w["code"]: w for w in r.warnings}
    assert codes["duplicate_keys"]["count"] == 1
    assert codes["unparsable_dates"]["column"] == "Created" and codes["unparsable_dates"]["rows"] == [4]
    assert codes["unmapped_status"]["values"] == ["Blocked by vendor"]
    assert codes["future_created"] == {"code": "future_created", "count": 1, "keys": ["HIS-21"],
                                       "limit": codes["future_created"]["limit"]}
    assert codes["future_updated"]["keys"] == ["HIS-21"]
    assert "future_done" not in codes
    assert codes["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 1, "in_scope": 3}
    # checked after the load: HIS-23's parent HIS-2 came with the August export, HIS-24's is in no export
    assert codes["parent_not_in_project"] == {"code": "parent_not_in_project", "count": 1, "parents": ["HIS-98"]}
    # a file in the future is dated by its import, never ahead of it
    imported, exported = cur.execute("SELECT imported_at, exported_at FROM imports WHERE import_id = ?",
                                     [r.import_id]).fetchone()
    assert exported == imported == r.exported_at
    # the warnings are stored with the import
    stored = cur.execute("SELECT warnings FROM imports WHERE import_id = ?", [r.import_id]).fetchone()[0]
    assert "parent_not_in_project" in stored and "future_created" in stored


def test_a_parent_imported_later_clears_the_warning(cur):
    r = ingest_file(cur, A)
    assert any(w["code"] == "parent_not_in_project" for w in r.warnings)
    _stage_from_snapshot(cur, 1)
    cur.execute("DELETE FROM stage_issues WHERE issue_key <> 'HIS-6'")
    cur.execute("UPDATE stage_issues SET issue_key = 'HIS-99', parent_key = NULL")
    r = commit_import(cur, Staged("jira-csv", rows=1), file_name="parent.csv", file_sha256="p")
    assert not any(w["code"] == "parent_not_in_project" for w in r.warnings)


def test_first_import_runs_no_diff(cur, monkeypatch):
    calls = []
    monkeypatch.setattr(history, "derive_in_order", lambda *a, **k: calls.append("in_order"))
    monkeypatch.setattr(history, "rederive", lambda *a, **k: calls.append("rederive"))
    ingest_file(cur, A)
    assert calls == []
    ingest_file(cur, B)
    assert calls == ["in_order"]


def test_worklogs_another_import_also_holds_are_noted(cur):
    ingest_file(cur, A)
    ingest_file(cur, B)
    ingest_file(cur, C)
    assert cur.execute("SELECT started_at, hours, import_id, also_import_ids FROM worklogs ORDER BY 1").fetchall() == [
        (utc(2026, 8, 10, 2), 4.0, 1, [2, 3]), (utc(2026, 9, 11, 6), 2.0, 2, [3])]
