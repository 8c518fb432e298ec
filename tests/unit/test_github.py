"""The GitHub adapters: issues (REST, gh CLI) as whole rows, pull-request filtering, reopen counts from issue
events in either import order, timelines, and counts on every real GitHub sample."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from ingest import IngestError, ingest_file
from store import db
from tests.samples import DATA, sample

GITHUB = DATA / "github"
UTC = timezone.utc
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, "
           "priority, severity, created_at, done_at, first_done_at, assignee, reporter, labels, sprints, "
           "fix_versions, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def rows(cur, project):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY length(issue_key), issue_key",
                       [project]).fetchall()


def codes(result):
    return {w["code"]: w for w in result.warnings}


# Worked by hand from tests/data/github/rest_issues.json.
EXPECTED_REST = [
    ("#1", "Crash on start", "bug", "bug", "closed", "done", "completed", "delivered", "high", None,
     utc(2024, 6, 1, 8), utc(2024, 6, 8, 12), utc(2024, 6, 8, 12), "hanmm", "lilei", ["bug", "priority: high"], [],
     ["v1.0"], None),
    # The issue type object wins over a `type: bug` label; not_planned is valid-not-fixed.
    ("#2", "Dark mode", "story", "Feature", "closed", "done", "not_planned", "valid_not_fixed", None, None,
     utc(2024, 6, 2, 8), utc(2024, 6, 3, 8), utc(2024, 6, 3, 8), None, "hanmm", ["type: bug"], [], [], None),
    # Closed as completed with a `duplicate` label: the label says what the close meant.
    ("#3", "Crash on start (again)", "bug", "bug", "closed", "done", "duplicate", "invalid", None, None,
     utc(2024, 6, 2, 9), utc(2024, 6, 2, 10), utc(2024, 6, 2, 10), None, "lilei", ["duplicate", "bug"], [], [], None),
    # Open with state_reason reopened: reopened at least once (a lower bound).
    ("#4", "Sync loses edits", "bug", "bug", "in progress", "in_progress", None, None, "P1", "critical",
     utc(2024, 6, 1, 9), None, None, "lilei, hanmm", "lilei",
     ["P1", "severity: critical", "status: in progress", "bug"], [], ["v1.1"], 1),
    ("#6", "Add export", "story", "enhancement", "open", "todo", None, None, None, None,
     utc(2024, 6, 1, 10), None, None, None, "hanmm", ["enhancement"], [], [], None),
    # Closed before GitHub had close reasons, labelled wontfix.
    ("#7", "Support IE6", "other", None, "closed", "done", "wontfix", "valid_not_fixed", None, None,
     utc(2024, 5, 1, 10), utc(2024, 5, 2, 10), utc(2024, 5, 2, 10), None, "hanmm", ["wontfix"], [], [], None),
]


def test_rest_issues_whole_rows_and_pull_requests_skipped(cur):
    result = ingest_file(cur, GITHUB / "rest_issues.json")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("github-json", "acme/app", 7, 6)
    assert codes(result)["pull_requests_skipped"]["count"] == 1
    assert rows(cur, "acme/app") == EXPECTED_REST


def test_gh_issue_list_json(cur):
    result = ingest_file(cur, GITHUB / "gh_issue_list.json")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("github-json", "acme/cli", 4, 4)
    assert rows(cur, "acme/cli") == [
        ("#11", "Flag parsing broken", "bug", "bug", "open", "todo", None, None, None, None,
         utc(2024, 6, 1, 8), None, None, "hanmm", "lilei", ["bug"], [], ["v0.9"], 1),
        ("#12", "Plugin system", "story", "enhancement", "closed", "done", "not_planned", "valid_not_fixed", None, None,
         utc(2024, 6, 2, 8), utc(2024, 6, 3, 8), utc(2024, 6, 3, 8), None, "hanmm", ["enhancement"], [], [], None),
        ("#13", "Typo in help", "other", None, "closed", "done", "completed", "delivered", None, None,
         utc(2024, 6, 2, 9), utc(2024, 6, 4, 9), utc(2024, 6, 4, 9), None, "lilei", [], [], ["v0.9"], None),
        ("#14", "Help typo", "other", None, "closed", "done", "duplicate", "invalid", None, None,
         utc(2024, 6, 3, 9), utc(2024, 6, 3, 10), utc(2024, 6, 3, 10), None, "hanmm", [], [], [], None),
    ]


# --- Events -----------------------------------------------------------------------------------------------

HISTORY = "SELECT issue_key, reopen_count, done_at, first_done_at, status_category FROM issues ORDER BY issue_key"
# #1: closed 06-05, reopened 06-06, closed 06-08; #4: closed 06-02, reopened 06-03 (open now);
# #6: only labelled (history unknown); #8: closed once, known only from the events' embedded issue.
EXPECTED_HISTORY = [
    ("#1", 1, utc(2024, 6, 8, 12), utc(2024, 6, 5, 10), "done"),
    ("#2", None, utc(2024, 6, 3, 8), utc(2024, 6, 3, 8), "done"),
    ("#3", None, utc(2024, 6, 2, 10), utc(2024, 6, 2, 10), "done"),
    ("#4", 1, None, utc(2024, 6, 2, 10), "in_progress"),
    ("#6", None, None, None, "todo"),
    ("#7", None, utc(2024, 5, 2, 10), utc(2024, 5, 2, 10), "done"),
    ("#8", 0, utc(2024, 6, 9, 7), utc(2024, 6, 9, 7), "done"),
]


def test_events_after_issues_give_reopen_counts(cur):
    ingest_file(cur, GITHUB / "rest_issues.json")
    result = ingest_file(cur, GITHUB / "repo_events.json")
    assert (result.source_format, result.project_key, result.rows) == ("github-events-json", "acme/app", 9)
    assert result.issues == 4                                   # #1, #4, #6 updated; #8 new
    assert codes(result)["pull_requests_skipped"]["count"] == 2
    assert cur.execute(HISTORY).fetchall() == EXPECTED_HISTORY
    changes = cur.execute("SELECT issue_key, changed_at, field, from_value, to_value, author FROM changes "
                          "WHERE issue_key = '#1' ORDER BY changed_at, field").fetchall()
    assert changes == [
        ("#1", utc(2024, 6, 5, 10), "status", "open", "closed", "lilei"),
        ("#1", utc(2024, 6, 5, 10), "status_category", "todo", "done", "lilei"),
        ("#1", utc(2024, 6, 6, 9), "status", "closed", "open", "hanmm"),
        ("#1", utc(2024, 6, 6, 9), "status_category", "done", "todo", "hanmm"),
        ("#1", utc(2024, 6, 8, 12), "resolution_class", None, "delivered", "lilei"),
        ("#1", utc(2024, 6, 8, 12), "status", "open", "closed", "lilei"),
        ("#1", utc(2024, 6, 8, 12), "status_category", "todo", "done", "lilei"),
    ]
    assert ingest_file(cur, GITHUB / "repo_events.json").duplicate


def test_events_before_issues_give_the_same_result(cur):
    ingest_file(cur, GITHUB / "repo_events.json")
    ingest_file(cur, GITHUB / "rest_issues.json")
    assert cur.execute(HISTORY).fetchall() == EXPECTED_HISTORY
    # Both files in one all-or-nothing batch, events first.
    con = db.connect(":memory:")
    other = db.cursor(con)
    from ingest import ingest_files
    ingest_files(other, [GITHUB / "repo_events.json", GITHUB / "rest_issues.json"])
    assert other.execute(HISTORY).fetchall() == EXPECTED_HISTORY
    con.close()


def test_timeline_newer_than_the_issues_export_moves_the_state(cur):
    ingest_file(cur, GITHUB / "rest_issues.json")
    result = ingest_file(cur, GITHUB / "timeline_issue_6.json")
    assert (result.issues, result.changes) == (1, 3)
    assert cur.execute("SELECT status_raw, status_category, done_at, first_done_at, resolution_class, reopen_count "
                       "FROM issues WHERE issue_key = '#6'").fetchone() == (
        "closed", "done", utc(2024, 6, 10, 6), utc(2024, 6, 10, 6), "delivered", 0)


def test_timeline_without_issue_or_imported_issues_is_refused(cur):
    with pytest.raises(IngestError) as err:
        ingest_file(cur, GITHUB / "timeline_no_issue.json")
    assert err.value.code == "github_timeline_issue_unknown"
    with pytest.raises(IngestError) as err:
        ingest_file(cur, GITHUB / "timeline_issue_6.json")
    assert err.value.code == "github_events_no_issues"
    assert cur.execute("SELECT count(*) FROM imports").fetchone()[0] == 0


def test_events_of_issues_neither_imported_nor_embedded_are_kept_for_later(cur, tmp_path):
    events = json.loads((GITHUB / "repo_events.json").read_text(encoding="utf-8"))
    bare = {**events[1], "id": 999, "issue": {"number": 9}, "created_at": "2024-06-11T07:00:00Z"}
    path = tmp_path / "events.json"
    path.write_text(json.dumps([events[1], bare]), encoding="utf-8")
    result = ingest_file(cur, path)
    assert result.issues == 1                                   # #8, from its embedded issue
    assert codes(result)["events_for_unknown_issues"] == {"code": "events_for_unknown_issues", "count": 1,
                                                          "issues": ["#9"]}
    assert cur.execute("SELECT count(*) FROM changes WHERE issue_key = '#9'").fetchone()[0] == 2
    # The issue arrives later: its reopen history (one close, no reopen) is applied on import.
    issue = {"number": 9, "html_url": "https://github.com/acme/app/issues/9", "title": "Late", "state": "closed",
             "state_reason": "completed", "labels": [], "created_at": "2024-06-10T07:00:00Z",
             "updated_at": "2024-06-11T07:00:00Z", "closed_at": "2024-06-11T07:00:00Z"}
    path = tmp_path / "issues.json"
    path.write_text(json.dumps([issue]), encoding="utf-8")
    ingest_file(cur, path)
    assert cur.execute("SELECT reopen_count, first_done_at FROM issues WHERE issue_key = '#9'").fetchone() == (
        0, utc(2024, 6, 11, 7))


def test_project_override_applies_to_issues_and_events(cur):
    ingest_file(cur, GITHUB / "rest_issues.json", project_key="APP")
    ingest_file(cur, GITHUB / "repo_events.json", project_key="APP")
    assert cur.execute("SELECT DISTINCT project_key FROM issues").fetchall() == [("APP",)]
    assert cur.execute("SELECT reopen_count FROM issues WHERE issue_key = '#1'").fetchone() == (1,)


# --- Real samples ----------------------------------------------------------------------------------------

def test_real_issues_sample_filters_pull_requests(cur):
    result = ingest_file(cur, sample("github/rest_repo_issues_panjf2000-ants.json"))
    # 42 items: 16 pull requests (PR #4 twice), 26 issues.
    assert (result.project_key, result.rows, result.issues) == ("panjf2000/ants", 42, 26)
    assert codes(result)["pull_requests_skipped"]["count"] == 16
    assert cur.execute("SELECT count(*) FROM issues WHERE type = 'bug'").fetchone()[0] == 2       # #6, #7 (PR #8 is skipped)
    assert cur.execute("SELECT count(*) FROM issues WHERE reopen_count IS NULL").fetchone()[0] == 26
    assert ingest_file(cur, sample("github/rest_repo_issues_panjf2000-ants.json")).duplicate


def test_real_events_sample(cur):
    ingest_file(cur, sample("github/rest_repo_issues_panjf2000-ants.json"))
    result = ingest_file(cur, sample("github/rest_repo_issue_events_panjf2000-ants.json"))
    # 50 events, 10 of them on pull requests; 15 issues touched (none in the issues slice above: new rows).
    assert (result.rows, result.issues) == (50, 15)
    assert codes(result)["pull_requests_skipped"]["count"] == 10
    # 11 closes on issues, one recorded twice: 10 status + 10 category changes, 1 not_planned resolution.
    assert result.changes == 21
    assert cur.execute("SELECT count(*), sum(reopen_count) FROM issues WHERE reopen_count IS NOT NULL").fetchone() == (10, 0)
    assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 41


def test_real_pygithub_events_and_timeline(cur):
    # 2012-era issues carry "pull_request" with null links: they are issues, not pull requests.
    result = ingest_file(cur, sample("github/rest_repo_issue_events_pygithub.json"))
    assert (result.project_key, result.rows, result.issues, result.changes) == ("PyGithub/PyGithub", 30, 10, 12)
    # The only real `reopened` event is on pull request #857: skipped with the other PR events.
    result = ingest_file(cur, sample("github/rest_issue_events_all_types_pygithub.json"))
    assert (result.rows, result.issues) == (27, 2)
    assert codes(result)["pull_requests_skipped"]["count"] == 21
    assert cur.execute("SELECT count(*) FROM issues WHERE issue_key = '#857'").fetchone()[0] == 0
    # The timeline of #28 names its issue only in its comments' issue_url; its close is already known.
    result = ingest_file(cur, sample("github/rest_issue_timeline_pygithub.json"))
    assert (result.rows, result.issues, result.changes) == (16, 1, 0)
    assert cur.execute("SELECT status_category, reopen_count FROM issues WHERE issue_key = '#28'").fetchone() == ("done", 0)


def test_real_timeline_alone_is_refused_without_its_issue(cur):
    with pytest.raises(IngestError) as err:
        ingest_file(cur, sample("github/rest_issue_timeline_pygithub.json"))
    assert err.value.code == "github_events_no_issues"
    assert err.value.params == {"project": "PyGithub/PyGithub", "count": 1}
