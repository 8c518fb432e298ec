"""The Jira REST JSON adapters (jira-json, jira-sprints-json) on our own fixtures (whole rows) and on every real
Jira JSON sample (counts checked by hand against the files)."""
from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone

import pytest

from ingest import IngestError, ingest_file
from ingest.detect import FORMATS, Probe
from ingest.jira_json import _sprint_values
from store import db
from tests.samples import DATA, sample

JJ = DATA / "jira_json"
UTC = timezone.utc
MERICO = "jira/api_agile_board_issues_expand_changelog_merico.json"
MERICO_SPRINTS = "jira/api_board_sprints_merico.json"
ACTIONABLE = "jira/api_search_expand_changelog_actionableagile.json"
COLUMNS = ("issue_key, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, priority, "
           "created_at, updated_at, done_at, first_done_at, due_at, story_points, original_estimate_h, "
           "remaining_estimate_h, time_spent_h, assignee, reporter, components, labels, sprints, fix_versions, "
           "parent_key, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def issue_rows(cur, project):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY issue_key", [project]).fetchall()


def change_rows(cur, project):
    return cur.execute("SELECT issue_key, changed_at, field, from_value, to_value, author FROM changes "
                       "WHERE project_key = ? ORDER BY issue_key, changed_at, field", [project]).fetchall()


def changes_by_field(cur, project=None):
    sql = "SELECT field, count(*) FROM changes" + (" WHERE project_key = ?" if project else "") + " GROUP BY 1"
    return dict(cur.execute(sql, [project] if project else []).fetchall())


def whole_database(cur) -> dict:
    return {t: sorted(map(repr, cur.execute(f"SELECT * FROM {t}").fetchall())) for t in db.TABLES}


# --- Our fixtures: tests/data/jira_json (invented data) -----------------------------------------------

# Worked by hand from search_v1.json; times in the file are +0800.
PAY_ISSUES = [
    ("PAY-1", "story", "Story", "Done", "done", "Done", "delivered", "High",
     utc(2024, 6, 3, 1, 0), utc(2024, 6, 18, 2, 0), utc(2024, 6, 18, 2, 0), utc(2024, 6, 7, 8, 0),
     utc(2024, 6, 19, 16, 0), 5.0, 8.0, 0.0, 10.0, "Dev One", "Lead One", ["Auth", "API"], ["backend"],
     ["PAY Sprint 1", "PAY Sprint 2"], ["1.0"], None, 1),
    # "Story Points" is empty, so "Story point estimate" gives the points.
    ("PAY-2", "bug", "Bug", "In Review", "in_progress", None, None, "Highest",
     utc(2024, 6, 4, 3, 15), utc(2024, 6, 18, 1, 0), None, None, None, 2.0, None, None, None, "Dev Two",
     "Lead One", ["Reports"], [], ["PAY Sprint 2"], [], None, 0),
    # The move out of Done came with a Workflow item (a migration): not a reopen.
    ("PAY-3", "task", "Task", "已关闭", "done", "Duplicate", "invalid", "Medium",
     utc(2024, 6, 5, 2, 0), utc(2024, 6, 6, 0, 30), utc(2024, 6, 6, 0, 30), utc(2024, 6, 5, 4, 0), None,
     None, None, None, None, None, "Lead One", [], [], [], [], None, 0),
    # Embedded changelog holds 1 of 3 histories: reopen count unknown.
    ("PAY-4", "subtask", "Sub-task", "To Do", "todo", None, None, "Medium",
     utc(2024, 6, 19, 1, 0), utc(2024, 6, 19, 2, 0), None, None, None, None, 2.0, 2.0, None, "Dev One",
     "Lead One", [], [], [], [], "PAY-1", None),
    # No changelog at all: reopen count unknown.
    ("PAY-5", "epic", "Epic", "In Progress", "in_progress", None, None, "Medium",
     utc(2024, 5, 20, 1, 0), utc(2024, 6, 1, 1, 0), None, None, None, None, None, None, None, None,
     "Lead One", [], [], [], [], None, None),
]

PAY_CHANGES = [
    ("PAY-1", utc(2024, 6, 3, 1, 5), "sprint", "[]", '["PAY Sprint 1"]', "Lead One"),
    ("PAY-1", utc(2024, 6, 3, 1, 5), "story_points", None, "3", "Lead One"),
    ("PAY-1", utc(2024, 6, 4, 2, 0), "status", "To Do", "In Progress", "Dev One"),
    ("PAY-1", utc(2024, 6, 4, 2, 0), "status_category", "todo", "in_progress", "Dev One"),
    ("PAY-1", utc(2024, 6, 5, 3, 0), "original_estimate_h", "4", "8", "Dev One"),
    ("PAY-1", utc(2024, 6, 5, 3, 0), "remaining_estimate_h", "4", "8", "Dev One"),
    ("PAY-1", utc(2024, 6, 5, 3, 0), "story_points", "3", "5", "Dev One"),
    ("PAY-1", utc(2024, 6, 7, 8, 0), "resolution_class", None, "delivered", "Dev One"),
    ("PAY-1", utc(2024, 6, 7, 8, 0), "status", "In Progress", "Done", "Dev One"),
    ("PAY-1", utc(2024, 6, 7, 8, 0), "status_category", "in_progress", "done", "Dev One"),
    ("PAY-1", utc(2024, 6, 11, 1, 30), "resolution_class", "delivered", None, "Lead One"),
    ("PAY-1", utc(2024, 6, 11, 1, 30), "status", "Done", "Reopened", "Lead One"),
    ("PAY-1", utc(2024, 6, 11, 1, 30), "status_category", "done", "todo", "Lead One"),
    ("PAY-1", utc(2024, 6, 14, 10, 0), "sprint", '["PAY Sprint 1"]', '["PAY Sprint 1","PAY Sprint 2"]', "Lead One"),
    ("PAY-1", utc(2024, 6, 18, 2, 0), "remaining_estimate_h", "8", "0", "Dev One"),
    ("PAY-1", utc(2024, 6, 18, 2, 0), "resolution_class", None, "delivered", "Dev One"),
    ("PAY-1", utc(2024, 6, 18, 2, 0), "status", "Reopened", "Done", "Dev One"),
    ("PAY-1", utc(2024, 6, 18, 2, 0), "status_category", "todo", "done", "Dev One"),
    ("PAY-2", utc(2024, 6, 17, 1, 10), "sprint", "[]", '["PAY Sprint 2"]', "Lead One"),
    ("PAY-2", utc(2024, 6, 18, 1, 0), "status", "To Do", "In Review", "Dev Two"),
    ("PAY-2", utc(2024, 6, 18, 1, 0), "status_category", "todo", "in_progress", "Dev Two"),
    ("PAY-3", utc(2024, 6, 5, 4, 0), "resolution_class", None, "invalid", "Dev Two"),
    ("PAY-3", utc(2024, 6, 5, 4, 0), "status", "To Do", "Resolved", "Dev Two"),
    ("PAY-3", utc(2024, 6, 5, 4, 0), "status_category", "todo", "done", "Dev Two"),
    ("PAY-3", utc(2024, 6, 6, 0, 0), "status", "Resolved", "To Do", "Admin One"),
    ("PAY-3", utc(2024, 6, 6, 0, 0), "status_category", "done", "todo", "Admin One"),
    ("PAY-3", utc(2024, 6, 6, 0, 30), "status", "To Do", "已关闭", "Dev Two"),
    ("PAY-3", utc(2024, 6, 6, 0, 30), "status_category", "todo", "done", "Dev Two"),
    ("PAY-4", utc(2024, 6, 19, 2, 0), "original_estimate_h", None, "2", "Dev One"),
]


def test_search_fixture_whole_issue_rows(cur):
    result = ingest_file(cur, JJ / "search_v1.json")
    assert (result.source_format, result.project_key, result.rows, result.issues, result.changes) == (
        "jira-json", "PAY", 5, 5, len(PAY_CHANGES))
    assert issue_rows(cur, "PAY") == PAY_ISSUES
    assert cur.execute("SELECT title FROM issues WHERE issue_key = 'PAY-2'").fetchone() == (
        "Receipt total is rounded twice",)
    assert cur.execute("SELECT project_key, name, tracker FROM projects").fetchall() == [
        ("PAY", "Payments Demo", "jira")]
    assert result.warnings == [
        {"code": "changelog_truncated", "count": 1},
        {"code": "workflow_migration_reopens", "count": 1, "issues": 1},
        {"code": "estimate_coverage", "estimated": 2, "in_scope": 3},
    ]


def test_search_fixture_whole_change_rows(cur):
    ingest_file(cur, JJ / "search_v1.json")
    assert change_rows(cur, "PAY") == PAY_CHANGES


def test_search_fixture_sprints_and_worklogs(cur):
    ingest_file(cur, JJ / "search_v1.json")
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at, source FROM sprints "
                       "ORDER BY name").fetchall() == [
        ("PAY Sprint 1", "closed", utc(2024, 6, 3, 1), utc(2024, 6, 14, 10), utc(2024, 6, 14, 9, 30), "tracker"),
        ("PAY Sprint 2", "active", utc(2024, 6, 17, 1), utc(2024, 6, 28, 10), None, "tracker"),
    ]
    assert cur.execute("SELECT issue_key, started_at, author, hours FROM worklogs ORDER BY started_at").fetchall() == [
        ("PAY-1", utc(2024, 6, 4, 2), "Dev One", 5.0),
        ("PAY-1", utc(2024, 6, 17, 6), "Dev Two", 5.0),
    ]


def test_reimport_changes_nothing(cur):
    first = ingest_file(cur, JJ / "search_v1.json")
    before = whole_database(cur)
    again = ingest_file(cur, JJ / "search_v1.json")
    assert again.duplicate and again.import_id == first.import_id
    assert whole_database(cur) == before


def test_newer_export_updates_issues_and_adds_only_new_changes(cur):
    ingest_file(cur, JJ / "search_v1.json")
    old = change_rows(cur, "PAY")
    newer = ingest_file(cur, JJ / "search_v2.json")
    assert (newer.duplicate, newer.issues, newer.changes) == (False, 6, 5)
    new = [
        ("PAY-2", utc(2024, 6, 21, 9, 0), "resolution_class", None, "delivered", "Dev Two"),
        ("PAY-2", utc(2024, 6, 21, 9, 0), "status", "In Review", "Done", "Dev Two"),
        ("PAY-2", utc(2024, 6, 21, 9, 0), "status_category", "in_progress", "done", "Dev Two"),
        ("PAY-6", utc(2024, 6, 24, 1, 30), "sprint", "[]", '["PAY Sprint 2"]', "Lead One"),
        ("PAY-6", utc(2024, 6, 24, 1, 30), "story_points", None, "8", "Lead One"),
    ]
    assert sorted(change_rows(cur, "PAY"), key=repr) == sorted(old + new, key=repr)
    assert cur.execute("SELECT import_id, count(*) FROM changes GROUP BY 1 ORDER BY 1").fetchall() == [
        (1, len(PAY_CHANGES)), (2, 5)]
    assert cur.execute("SELECT status_category, resolution_class, done_at, first_done_at, reopen_count, "
                       "first_import_id, last_import_id FROM issues WHERE issue_key = 'PAY-2'").fetchone() == (
        "done", "delivered", utc(2024, 6, 21, 9), utc(2024, 6, 21, 9), 0, 1, 2)
    assert cur.execute("SELECT story_points, sprints, first_import_id FROM issues WHERE issue_key = 'PAY-6'"
                       ).fetchone() == (8.0, ["PAY Sprint 2"], 2)
    assert cur.execute("SELECT import_id, count(*) FROM issue_snapshots GROUP BY 1 ORDER BY 1").fetchall() == [
        (1, 5), (2, 6)]
    assert cur.execute("SELECT count(*) FROM issues").fetchone() == (6,)
    assert cur.execute("SELECT count(*) FROM worklogs").fetchone() == (2,)


def test_status_override_in_value_maps_wins_over_jira_category(cur):
    cur.execute("INSERT INTO value_maps VALUES ('PAY', 'status', 'In Review', 'done')")
    ingest_file(cur, JJ / "search_v1.json")
    assert cur.execute("SELECT status_category, done_at FROM issues WHERE issue_key = 'PAY-2'").fetchone() == (
        "done", utc(2024, 6, 18, 1))
    assert cur.execute("SELECT from_value, to_value FROM changes WHERE issue_key = 'PAY-2' "
                       "AND field = 'status_category'").fetchall() == [("todo", "done")]


def test_server_board_pages_without_names(cur):
    """A list of agile pages from an old Server: greenhopper sprint strings (a name with a comma), sprint ids in
    the history, no `names` (story points stay empty rather than guessed), one key on both pages."""
    result = ingest_file(cur, JJ / "board_pages_server.json")
    assert (result.rows, result.issues, result.project_key) == (3, 2, "OPS")
    assert result.warnings == [
        {"code": "duplicate_keys", "count": 1},
        {"code": "story_points_field_unknown"},
        {"code": "estimate_coverage", "estimated": 0, "in_scope": 2},
    ]
    assert cur.execute("SELECT issue_key, title, status_category, resolution_class, done_at, story_points, sprints, "
                       "assignee, reopen_count FROM issues ORDER BY 1").fetchall() == [
        ("OPS-1", "Rotate the keys", "done", "delivered", utc(2016, 3, 10, 2), None, ["OPS Sprint 7, hotfix"],
         "Ops One", 0),
        ("OPS-2", "Patch the proxy", "todo", None, None, None, ["OPS Sprint 7, hotfix", "OPS Sprint 8"], "Ops One", 0),
    ]
    assert change_rows(cur, "OPS") == [
        ("OPS-1", utc(2016, 3, 1, 2, 30), "sprint", "[]", '["OPS Sprint 7, hotfix"]', "Ops One"),
        ("OPS-1", utc(2016, 3, 10, 2), "resolution_class", None, "delivered", "Ops One"),
        ("OPS-1", utc(2016, 3, 10, 2), "status", "Open", "Closed", "Ops One"),
        ("OPS-1", utc(2016, 3, 10, 2), "status_category", "todo", "done", "Ops One"),
        ("OPS-2", utc(2016, 3, 16, 2), "sprint", '["OPS Sprint 7, hotfix"]',
         '["OPS Sprint 7, hotfix","OPS Sprint 8"]', "ops.lead"),
    ]
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at, source FROM sprints ORDER BY 1"
                       ).fetchall() == [
        ("OPS Sprint 7, hotfix", "closed", utc(2016, 3, 1, 1), utc(2016, 3, 15, 1), utc(2016, 3, 15, 10), "tracker"),
        ("OPS Sprint 8", "future", None, None, None, "names-only"),
    ]


def test_board_sprints_need_a_project(cur):
    with pytest.raises(IngestError) as exc:
        ingest_file(cur, JJ / "board_sprints.json")
    assert exc.value.code == "project_required"
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)
    assert cur.execute("SELECT count(*) FROM sprints").fetchone() == (0,)


def test_board_sprints_only_file_records_its_import_and_project(cur):
    result = ingest_file(cur, JJ / "board_sprints.json", project_key="PAY")
    assert (result.source_format, result.project_key, result.rows, result.issues, result.changes) == (
        "jira-sprints-json", "PAY", 3, 0, 0)
    assert cur.execute("SELECT project_key, source_format, rows FROM imports").fetchall() == [
        ("PAY", "jira-sprints-json", 3)]
    assert cur.execute("SELECT project_key FROM projects").fetchall() == [("PAY",)]
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at FROM sprints ORDER BY name").fetchall() == [
        ("PAY Sprint 1", "closed", utc(2024, 6, 3, 1), utc(2024, 6, 14, 10), utc(2024, 6, 14, 9, 30)),
        ("PAY Sprint 2", "closed", utc(2024, 6, 17, 1), utc(2024, 6, 28, 10), utc(2024, 6, 28, 9)),
        ("PAY Sprint 3", "future", None, None, None),
    ]
    before = whole_database(cur)
    assert ingest_file(cur, JJ / "board_sprints.json", project_key="PAY").duplicate
    assert whole_database(cur) == before


def test_board_sprints_complete_the_sprints_an_issue_export_named(cur):
    ingest_file(cur, JJ / "search_v1.json")
    ingest_file(cur, JJ / "board_sprints.json", project_key="PAY")
    assert cur.execute("SELECT name, state, completed_at FROM sprints ORDER BY name").fetchall() == [
        ("PAY Sprint 1", "closed", utc(2024, 6, 14, 9, 30)),
        ("PAY Sprint 2", "closed", utc(2024, 6, 28, 9)),
        ("PAY Sprint 3", "future", None),
    ]
    assert cur.execute("SELECT count(*) FROM issues").fetchone() == (5,)


def test_empty_search_response_is_refused(cur, tmp_path):
    path = tmp_path / "empty.json"
    path.write_text(json.dumps({"startAt": 0, "maxResults": 50, "total": 0, "issues": []}), encoding="utf-8")
    with pytest.raises(IngestError) as exc:
        ingest_file(cur, path)
    assert exc.value.code == "no_issues"
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)


def test_sniffers_claim_only_their_shapes():
    issues_page = json.loads((JJ / "search_v1.json").read_text(encoding="utf-8"))
    sprint_pages = json.loads((JJ / "board_sprints.json").read_text(encoding="utf-8"))
    field_meta = [{"id": "customfield_1", "name": "Team", "custom": True, "schema": {"type": "string"}}]
    claims = {name: [FORMATS[name].sniff(Probe("json", document=d)) for d in (issues_page, sprint_pages, field_meta)]
              for name in ("jira-json", "jira-sprints-json")}
    assert claims == {"jira-json": [True, False, False], "jira-sprints-json": [False, True, False]}


def test_sprint_pages_as_json_lines_with_devlake_wrappers():
    """JSON Lines (one response per line, DevLake wraps each as {"_request_url", "data"}) read as a list."""
    lines = [{"_request_url": "https://example.invalid/rest/agile/1.0/board/9/sprint", "data": page}
             for page in json.loads((JJ / "board_sprints.json").read_text(encoding="utf-8"))]
    assert [s["name"] for s in _sprint_values(lines)] == ["PAY Sprint 1", "PAY Sprint 2", "PAY Sprint 3"]
    assert _sprint_values([{"values": [{"id": "1", "author": {}, "created": "x", "items": []}]}]) is None


# --- Real samples (../shared/samples; skipped with the reason when absent) -----------------------------

def test_merico_board_issues(cur):
    path = sample(MERICO)
    result = ingest_file(cur, path)
    assert (result.rows, result.issues, result.project_key) == (33, 33, "EE,K5")
    assert dict(cur.execute("SELECT project_key, count(*) FROM issues GROUP BY 1").fetchall()) == {"EE": 30, "K5": 3}
    # status 165 and sprint 21 = every status / Sprint item in the file; estimates 16 + 20 = every
    # timeoriginalestimate / timeestimate item; resolution 30 = every resolution item (all unset -> set).
    assert changes_by_field(cur) == {"status": 165, "status_category": 75, "sprint": 21,
                                     "original_estimate_h": 16, "remaining_estimate_h": 20, "resolution_class": 30}
    assert result.changes == 327


def test_merico_reopens_are_workflow_migrations(cur):
    """FORMATS.md counts Resolved -> To Do x14 and Closed -> To Do x1 in merico. Checked by hand: all 15 sit in a
    history that also holds a `Workflow` item (the 2020-06-12 12:58 +0800 workflow switch), so none is a
    person reopening an issue; with the 5 Closed -> 已完成 moves of issues whose 已完成 is in To Do, 20 moves
    out of Done on 18 issues are migrations and every reopen_count is 0."""
    path = sample(MERICO)
    doc = json.loads(path.read_text(encoding="utf-8"))
    moves = Counter()
    for issue in doc["issues"]:
        for h in issue["changelog"]["histories"]:
            migration = any(it["field"] == "Workflow" for it in h["items"])
            for it in h["items"]:
                if it["field"] == "status" and (it["fromString"], it["toString"]) in (
                        ("Resolved", "To Do"), ("Closed", "To Do")):
                    moves[(it["fromString"], migration)] += 1
    assert moves == {("Resolved", True): 14, ("Closed", True): 1}

    result = ingest_file(cur, path)
    assert cur.execute("SELECT from_value, count(*) FROM changes WHERE field = 'status' AND to_value = 'To Do' "
                       "AND from_value IN ('Resolved', 'Closed') GROUP BY 1 ORDER BY 1").fetchall() == [
        ("Closed", 1), ("Resolved", 14)]
    assert cur.execute("SELECT count(*) FROM changes WHERE field = 'status_category' AND from_value = 'done' "
                       "AND to_value <> 'done'").fetchone() == (20,)
    assert cur.execute("SELECT sum(reopen_count), count(*) FILTER (WHERE reopen_count IS NULL) FROM issues"
                       ).fetchone() == (0, 0)
    codes = {w["code"]: w for w in result.warnings}
    assert codes["workflow_migration_reopens"] == {"code": "workflow_migration_reopens", "count": 20, "issues": 18}
    assert codes["status_category_conflict"] == {"code": "status_category_conflict", "status": "已完成",
                                                 "categories": ["done", "todo"], "used": "done"}
    assert codes["unmapped_history_status"] == {"code": "unmapped_history_status",
                                                "values": ["Ready for Dev", "Inbox"], "count": 20}
    assert codes["story_points_field_unknown"] == {"code": "story_points_field_unknown"}
    assert "changelog_truncated" not in codes   # every embedded changelog has total == len(histories)


def test_merico_issue_rows_sprints_and_worklogs(cur):
    ingest_file(cur, sample(MERICO))
    row = ("issue_key, status_raw, status_category, resolution_class, done_at, first_done_at, story_points, "
           "original_estimate_h, remaining_estimate_h, time_spent_h, sprints, parent_key, reopen_count")
    got = {r[0]: r[1:] for r in cur.execute(f"SELECT {row} FROM issues").fetchall()}
    # Resolved 06-12 09:22, moved back to To Do by the migration, resolved again 06-15 16:59 (+0800).
    assert got["EE-14"] == ("已完成", "done", "delivered", utc(2020, 6, 15, 8, 59, 51, 341000),
                            utc(2020, 6, 12, 1, 22, 30, 323000), None, 4.0, 0.0, 10.0, ["EE Sprint 7"], None, 0)
    # 已完成 whose statusCategory.key is "new": the category wins, so not done (done_at NULL), though resolved.
    assert got["EE-1"] == ("已完成", "todo", "delivered", None, utc(2020, 6, 19, 6, 31, 18, 526000), None,
                           None, None, None, ["EE Sprint 7"], None, 0)
    assert got["EE-25"][-2] == "EE-1"
    assert cur.execute("SELECT count(*) FROM issues WHERE story_points IS NOT NULL").fetchone() == (0,)
    # The sprint field is recognised by its values (no `names` in this file); renamed sprint 7 keeps its id.
    assert cur.execute("SELECT to_value, count(*) FROM changes WHERE field = 'sprint' AND from_value = '[]' "
                       "GROUP BY 1 ORDER BY 1").fetchall() == [('["EE Sprint 7"]', 14), ('["EE Sprint 8"]', 2)]
    assert cur.execute("SELECT project_key, name, state, start_at, end_at, completed_at, source FROM sprints "
                       "ORDER BY project_key, start_at NULLS LAST").fetchall() == [
        ("EE", "EE Sprint 7", "closed", utc(2020, 6, 12, 0, 38, 51, 882000), utc(2020, 6, 26, 0, 38),
         utc(2020, 6, 22, 5, 59, 58, 980000), "tracker"),
        ("EE", "EE Sprint 9", "closed", utc(2020, 7, 13, 1, 22, 22, 745000), utc(2020, 7, 27, 1, 22),
         utc(2020, 7, 27, 1, 23, 43, 83000), "tracker"),
        ("EE", "EE Sprint 8", None, None, None, None, "names-only"),
        ("K5", "K5 Sprint 1", "active", utc(2022, 7, 15, 22, 35, 25, 617000), utc(2022, 7, 29, 22, 35), None,
         "tracker"),
    ]
    assert cur.execute("SELECT count(*), sum(hours) FROM worklogs").fetchone() == (6, 22.0)


def test_merico_board_sprints(cur):
    path = sample(MERICO_SPRINTS)
    with pytest.raises(IngestError) as exc:
        ingest_file(cur, path)
    assert exc.value.code == "project_required"
    result = ingest_file(cur, path, project_key="EE")
    assert (result.source_format, result.rows, result.issues) == ("jira-sprints-json", 30, 0)
    assert cur.execute("SELECT count(*), count(start_at), count(end_at), count(completed_at), "
                       "count(*) FILTER (WHERE state = 'closed') FROM sprints").fetchone() == (30, 30, 30, 30, 30)
    assert cur.execute("SELECT start_at, end_at, completed_at FROM sprints WHERE name = 'EE Sprint 8'").fetchone() == (
        utc(2020, 6, 22, 6, 0, 33, 769000), utc(2020, 7, 10, 6), utc(2020, 7, 13, 1, 21, 57, 62000))


def test_merico_issues_then_board_sprints_date_the_history_only_sprint(cur):
    ingest_file(cur, sample(MERICO))
    ingest_file(cur, sample(MERICO_SPRINTS), project_key="EE")
    assert cur.execute("SELECT start_at, completed_at FROM sprints WHERE project_key = 'EE' AND name = 'EE Sprint 8'"
                       ).fetchone() == (utc(2020, 6, 22, 6, 0, 33, 769000), utc(2020, 7, 13, 1, 21, 57, 62000))
    assert cur.execute("SELECT count(*) FROM sprints").fetchone() == (31,)   # 30 on board 8 + K5 Sprint 1


def test_actionableagile_search(cur):
    """Classic /search?expand=changelog, 25 issues (kept aside for independent checks: skipped when absent).
    Expected counts are taken from the file itself by a plain walk, independent of the adapter."""
    path = sample(ACTIONABLE)
    doc = json.loads(path.read_text(encoding="utf-8"))
    result = ingest_file(cur, path)
    assert (result.rows, result.issues) == (25, 25)
    assert result.project_key == ",".join(sorted({i["key"].rsplit("-", 1)[0] if not i["fields"].get("project")
                                                  else i["fields"]["project"]["key"] for i in doc["issues"]}))
    items = [it for i in doc["issues"] for h in (i.get("changelog") or {}).get("histories") or []
             for it in h["items"]]
    got = changes_by_field(cur)
    assert got.get("status", 0) == sum(it["field"] == "status" for it in items)
    assert got.get("original_estimate_h", 0) == sum(it["field"] == "timeoriginalestimate" for it in items)
    assert got.get("remaining_estimate_h", 0) == sum(it["field"] == "timeestimate" for it in items)
    assert got.get("sprint", 0) == sum(it["field"] == "Sprint" for it in items)
    complete = all(isinstance(i.get("changelog"), dict)
                   and i["changelog"].get("total") == len(i["changelog"].get("histories") or [])
                   for i in doc["issues"])
    nulls = cur.execute("SELECT count(*) FROM issues WHERE reopen_count IS NULL").fetchone()[0]
    assert (nulls == 0) == complete
    # Story points by the field's name ("Story Points" before "Story point estimate"), wherever `names` puts it.
    names = {k: str(v).strip().lower() for k, v in (doc.get("names") or {}).items()}
    sp_ids = sorted((k for k, v in names.items() if v in ("story points", "story point estimate")),
                    key=lambda k: (names[k] != "story points", k))
    if sp_ids:
        expected = {i["key"]: next((float(i["fields"][f]) for f in sp_ids if i["fields"].get(f) is not None), None)
                    for i in doc["issues"]}
        assert dict(cur.execute("SELECT issue_key, story_points FROM issues").fetchall()) == expected


def test_changelog_pages_alone_are_refused(cur):
    """GET /issue/{id}/changelog pages carry no issue keys: not importable alone; the database is unchanged."""
    with pytest.raises(IngestError) as exc:
        ingest_file(cur, sample("reference/jira_api_issue_changelog_pages_merico.jsonl"))
    assert exc.value.code == "unknown_json_shape"
    assert exc.value.params == {"seen": "_request_url, _collected_at, data"}
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)


def test_field_metadata_alone_is_refused(cur):
    with pytest.raises(IngestError) as exc:
        ingest_file(cur, sample("reference/jira_api_field_metadata_selfhosted_server.json"))
    assert exc.value.code == "unknown_json_shape"
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (0,)


def test_search_with_field_metadata_in_the_same_list(cur, tmp_path):
    """A list holding GET /field metadata beside issues: story points resolved by the metadata's names."""
    doc = json.loads((JJ / "board_pages_server.json").read_text(encoding="utf-8"))
    doc.append([{"id": "customfield_10002", "name": "Story Points", "custom": True,
                 "schema": {"type": "number", "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float"}}])
    path = tmp_path / "with_fields.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    result = ingest_file(cur, path)
    assert "story_points_field_unknown" not in {w["code"] for w in result.warnings}
    assert cur.execute("SELECT issue_key, story_points FROM issues ORDER BY 1").fetchall() == [
        ("OPS-1", 3.0), ("OPS-2", 3.0)]


def test_unparsable_dates_are_reported_and_their_history_skipped(cur, tmp_path):
    doc = json.loads((JJ / "search_v1.json").read_text(encoding="utf-8"))
    doc["issues"][1]["changelog"]["histories"][0]["created"] = "yesterday"   # PAY-2's sprint change
    doc["issues"][2]["fields"]["created"] = "garbage"
    path = tmp_path / "bad_dates.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = ingest_file(cur, path)
    assert [w for w in result.warnings if w["code"] == "unparsable_dates"] == [
        {"code": "unparsable_dates", "column": "changelog.created", "count": 1, "rows": ["PAY-2"],
         "example": "yesterday"},
        {"code": "unparsable_dates", "column": "created", "count": 1, "rows": ["PAY-3"], "example": "garbage"},
    ]
    assert result.changes == len(PAY_CHANGES) - 1
    assert cur.execute("SELECT created_at FROM issues WHERE issue_key = 'PAY-3'").fetchone() == (None,)
