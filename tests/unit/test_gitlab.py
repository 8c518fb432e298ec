"""The GitLab adapters on our own fixtures (whole rows) and on the real GitLab samples (counts); detection of
every tracker fixture and sample of this family as exactly its own format."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingest import IngestError, ingest_file
from ingest.decode import decode_file
from ingest.detect import FORMATS, probe
from store import db
from tests.samples import DATA, SAMPLES, sample

GITLAB = DATA / "gitlab"
UTC = timezone.utc
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, "
           "priority, severity, created_at, done_at, first_done_at, due_at, story_points, original_estimate_h, "
           "time_spent_h, assignee, reporter, components, labels, sprints, fix_versions, parent_key, reopen_count")
MY_FORMATS = {"gitlab-csv", "gitlab-json", "github-json", "github-events-json", "azure-devops-csv", "redmine-csv"}


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


def codes(result):
    return {w["code"]: w for w in result.warnings}


# --- CSV, three header generations ---------------------------------------------------------------------

# Worked by hand from tests/data/gitlab/issues_12x.csv (dates are UTC as the headers say; the due date is a
# local day, 00:00 Asia/Shanghai).
EXPECTED_12X = [
    ("#1", "Login fails on Safari", "bug", "bug", "Closed", "done", None, "delivered", "1", "2",
     utc(2024, 6, 3, 1), utc(2024, 6, 7, 9, 30), utc(2024, 6, 7, 9, 30), utc(2024, 6, 9, 16), 3.0, 2.0, 1.5,
     "Han Meimei", "Li Lei", [], ["type::bug", "priority::1", "severity::2", "frontend"], ["Sprint 12"],
     ["Sprint 12"], None, None),
    ("#2", "Checkout page redesign", "story", "Enhancement", "in review", "in_progress", None, None, None, None,
     utc(2024, 6, 4, 2), None, None, None, None, None, 0.0, None, "Han Meimei", ["checkout"],
     ["Enhancement", "component::checkout", "workflow::in review"], [], ["v2.0"], None, None),
    ("#3", "Login fails, Safari again", "bug", "bug", "Closed", "done", "duplicate", "invalid", None, None,
     utc(2024, 6, 5, 3), utc(2024, 6, 6, 4), utc(2024, 6, 6, 4), None, None, None, 0.0, None, "Li Lei", [],
     ["bug", "duplicate"], [], [], None, None),
    ("#4", "Write release notes", "other", None, "Doing", "in_progress", None, None, "P2", None,
     utc(2024, 6, 6, 5), None, None, None, 1.0, 1.0, 0.5, "Li Lei", "Li Lei", [], ["Doing", "P2"], [], ["v2.0"],
     None, None),
    ("#5", "Old ticket", "other", None, "Closed", "done", None, "delivered", None, None,
     utc(2024, 6, 1), utc(2024, 6, 20, 10), utc(2024, 6, 20, 10), None, None, None, 0.0, None, "Li Lei", [], [], [],
     [], None, None),
]


def test_csv_12x_whole_rows(cur):
    result = ingest_file(cur, GITLAB / "issues_12x.csv")
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "gitlab-csv", "acme/web-shop", 5, 5)
    assert rows(cur, "acme/web-shop") == EXPECTED_12X
    w = codes(result)
    assert w["done_date_from_updated"]["count"] == 1            # #5: closed, no Closed At
    assert w["milestones_as_sprints"]["names"] == ["Sprint 12"]
    assert w["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 2, "in_scope": 5}
    assert w["resolution_assumed_delivered"] == {"code": "resolution_assumed_delivered", "count": 2}   # #1, #5
    assert cur.execute("SELECT name, source FROM sprints").fetchall() == [("Sprint 12", "names-only")]


def test_csv_18_3_title_first_and_slash_scoped_labels(cur):
    ingest_file(cur, GITLAB / "issues_18_3.csv")
    assert rows(cur, "acme/group/search") == [
        ("#7", "Search is slow", "bug", "bug", "doing", "in_progress", None, None, "critical", None,
         utc(2024, 7, 1, 1), None, None, None, 2.0, 3.0, 1.0, "Han Meimei", "Li Lei", [],
         ["kind/bug", "priority/critical", "status::doing"], [], [], None, None),
        ("#8", "Add filters", "story", "feature", "Closed", "done", None, "delivered", None, None,
         utc(2024, 7, 1, 2), utc(2024, 7, 5, 2), utc(2024, 7, 5, 2), None, 3.0, None, 2.0, None, "Li Lei", [],
         ["feature", "sprint::Iteration 3"], ["Iteration 3"], ["Iteration 3"], None, None),
    ]


def test_csv_18_4_work_items_human_times_and_parents(cur):
    result = ingest_file(cur, GITLAB / "work_items_18_4.csv")
    assert rows(cur, "acme/platform") == [
        ("#10", "Payment API", "story", "feature", "2 - in dev", "in_progress", None, None, None, None,
         utc(2025, 1, 2, 3, 4, 5), None, None, utc(2025, 1, 30, 16), 5.0, 10.0, 0.5, "Li Lei, Han Meimei", "Li Lei",
         [], ["type::feature", "workflow::2 - in dev"], ["Iteration 5"], ["Iteration 5"], None, None),
        ("#11", "Refund endpoint", "task", "Task", "Closed", "done", None, "delivered", None, None,
         utc(2025, 1, 3), utc(2025, 1, 9), utc(2025, 1, 9), None, None, 40.0, 1.5, "Han Meimei", "Han Meimei", [],
         [], [], [], "#10", None),
        ("#12", "Crash on empty cart", "other", "Incident", "Closed", "done", None, "delivered", None, "1",
         utc(2025, 1, 4), utc(2025, 1, 5), utc(2025, 1, 5), None, None, None, None, None, "Li Lei", [],
         ["severity::1"], [], [], None, None),
    ]
    w = codes(result)
    assert w["parent_not_in_file"]["count"] == 1                # #12's parent is a group epic
    assert w["unmapped_type"]["values"] == ["Incident"]
    assert w["resolution_assumed_delivered"] == {"code": "resolution_assumed_delivered", "count": 2}   # #11, #12


def test_project_override_and_value_map_override(cur):
    cur.execute("INSERT INTO value_maps VALUES ('SHOP', 'type', 'incident', 'bug')")
    result = ingest_file(cur, GITLAB / "work_items_18_4.csv", project_key="SHOP")
    assert result.project_key == "SHOP"
    assert cur.execute("SELECT type FROM issues WHERE issue_key = '#12'").fetchone() == ("bug",)
    assert "unmapped_type" not in codes(result)


def test_reimport_is_a_duplicate(cur):
    first = ingest_file(cur, GITLAB / "issues_12x.csv")
    again = ingest_file(cur, GITLAB / "issues_12x.csv")
    assert again.duplicate and again.import_id == first.import_id
    assert cur.execute("SELECT count(*) FROM issues").fetchone()[0] == 5


def test_csv_without_url_needs_a_project(cur, tmp_path):
    path = tmp_path / "export.csv"
    path.write_text("IID,Title,State,Created At (UTC),Updated At (UTC),Labels\n"
                    "1,Alpha,Open,2024-06-03 01:00:00,2024-06-03 01:00:00,\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert err.value.code == "project_unknown"
    assert ingest_file(cur, path, project_key="P1").issues == 1


# --- REST JSON -------------------------------------------------------------------------------------------

def test_json_whole_rows_and_iterations(cur):
    result = ingest_file(cur, GITLAB / "issues_api.json")
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("gitlab-json", "acme/shop", 3, 3)
    assert rows(cur, "acme/shop") == [
        ("#1", "Login fails on Safari", "bug", "bug", "closed", "done", None, "delivered", "2", None,
         utc(2024, 6, 3, 1), utc(2024, 6, 14, 8), utc(2024, 6, 14, 8), None, 2.0, 1.0, 2.0, "Li Lei", "Han Meimei", [],
         ["type::bug", "priority::2", "frontend"], ["2024-06-03 - 2024-06-16"], ["Release 1.0"], None, None),
        ("#2", "Wishlist", "story", "Enhancement", "Doing", "in_progress", None, None, None, None,
         utc(2024, 6, 4, 2), None, None, utc(2024, 6, 29, 16), None, None, 0.0, None, "Li Lei", [],
         ["Doing", "Enhancement"], ["Sprint 7"], [], None, None),
        ("#3", "Login fails again", "other", "incident", "closed", "done", "duplicate", "invalid", None, "HIGH",
         utc(2024, 6, 5, 3), utc(2024, 6, 6, 4), utc(2024, 6, 6, 4), None, None, None, 0.0, None, "Li Lei", [],
         ["bug"], [], [], None, None),
    ]
    # Iteration dates are local days: 00:00 to the day's last instant, Asia/Shanghai.
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at, source FROM sprints ORDER BY name").fetchall() == [
        ("2024-06-03 - 2024-06-16", "closed", utc(2024, 6, 2, 16), utc(2024, 6, 16, 15, 59, 59, 999000),
         utc(2024, 6, 16, 15, 59, 59, 999000), "tracker"),
        ("Sprint 7", "active", utc(2024, 6, 16, 16), utc(2024, 6, 30, 15, 59, 59, 999000), None, "tracker"),
    ]


def test_json_short_milestones_are_sprints_when_there_are_no_iterations(cur):
    result = ingest_file(cur, GITLAB / "milestones_as_sprints.json")
    assert codes(result)["milestones_as_sprints"]["names"] == ["24.06"]
    assert cur.execute("SELECT issue_key, sprints, fix_versions FROM issues ORDER BY issue_key").fetchall() == [
        ("#1", ["24.06"], ["24.06"]), ("#2", [], ["v1.0"])]
    assert cur.execute("SELECT name, state, start_at FROM sprints").fetchall() == [
        ("24.06", "closed", utc(2024, 6, 2, 16))]


# --- Real samples ----------------------------------------------------------------------------------------

def test_real_csv_fixture_counts(cur):
    result = ingest_file(cur, sample("gitlab/ui_export_issues_csv_gitlabhq_fixture.csv"))
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "gitlab-csv", "jashkenas/underscore", 4, 4)
    got = cur.execute("SELECT issue_key, status_category, labels, fix_versions, time_spent_h FROM issues "
                      "ORDER BY length(issue_key), issue_key").fetchall()
    assert [g[0] for g in got] == ["#1", "#3", "#34", "#35"]
    assert got[0][1:] == ("todo", ["Brene", "Cutlass", "Escort", "GVM"], ["v1.0"], 0.0)
    assert ingest_file(cur, sample("gitlab/ui_export_issues_csv_gitlabhq_fixture.csv")).duplicate


def test_real_rest_sample_counts(cur):
    result = ingest_file(cur, sample("gitlab/rest_project_issues_gitlab.com.json"))
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "gitlab-json", "gitlab-data/snowflake_spend", 16, 16)
    by_cat = dict(cur.execute("SELECT status_category, count(*) FROM issues GROUP BY 1").fetchall())
    assert by_cat == {"done": 12, "todo": 4}
    assert cur.execute("SELECT count(*) FROM issues WHERE done_at IS NOT NULL").fetchone()[0] == 12
    # #10 was moved to another project: closed here, but not delivered.
    assert cur.execute("SELECT resolution_class FROM issues WHERE issue_key = '#10'").fetchone() == ("invalid",)
    assert cur.execute("SELECT priority FROM issues WHERE issue_key = '#11'").fetchone() == ("3-Other",)
    # The data team runs two-week milestones as sprints: six of them, with dates.
    assert cur.execute("SELECT count(*), count(start_at) FROM sprints").fetchone() == (6, 6)
    assert cur.execute("SELECT sum(story_points) FROM issues").fetchone()[0] == 8.0      # six weighted issues
    assert ingest_file(cur, sample("gitlab/rest_project_issues_gitlab.com.json")).duplicate


# --- Detection -------------------------------------------------------------------------------------------

def sniff_hits(path: Path) -> list[str] | None:
    """The formats whose sniff accepts the file (None when the file cannot even be decoded)."""
    try:
        decoded = decode_file(path)
    except IngestError:
        return None
    try:
        p = probe(decoded)
        return [f.name for f in FORMATS.values() if f.kind == p.kind and f.sniff(p)]
    except IngestError:
        return None
    finally:
        decoded.cleanup()


OWN_FILES = {
    "gitlab-csv": ["gitlab/issues_12x.csv", "gitlab/issues_18_3.csv", "gitlab/work_items_18_4.csv"],
    "gitlab-json": ["gitlab/issues_api.json", "gitlab/milestones_as_sprints.json"],
    "github-json": ["github/rest_issues.json", "github/gh_issue_list.json"],
    "github-events-json": ["github/repo_events.json", "github/timeline_issue_6.json",
                           "github/timeline_no_issue.json"],
    "azure-devops-csv": ["azure_devops/agile_query_quoted_bom.csv", "azure_devops/tree_query_unquoted_crlf.csv"],
    "redmine-csv": ["redmine/issues_en.csv", "redmine/issues_semicolon_decimal_comma.csv",
                    "redmine/issues_zh_gb18030.csv"],
}
OWN_SAMPLES = {
    "gitlab-csv": ["gitlab/ui_export_issues_csv_gitlabhq_fixture.csv"],
    "gitlab-json": ["gitlab/rest_project_issues_gitlab.com.json"],
    "github-json": ["github/rest_repo_issues_panjf2000-ants.json"],
    "github-events-json": ["github/rest_repo_issue_events_panjf2000-ants.json",
                           "github/rest_repo_issue_events_pygithub.json",
                           "github/rest_issue_events_all_types_pygithub.json", "github/rest_issue_timeline_pygithub.json"],
    "azure-devops-csv": ["azure_devops/query_export_assigned_to_me_quoted_bom.csv"],
}


@pytest.mark.parametrize("fmt,rel", [(f, r) for f, rels in OWN_FILES.items() for r in rels])
def test_each_fixture_is_detected_as_exactly_its_own_format(fmt, rel):
    assert sniff_hits(DATA / rel) == [fmt]


@pytest.mark.parametrize("fmt,rel", [(f, r) for f, rels in OWN_SAMPLES.items() for r in rels])
def test_each_real_sample_is_detected_as_exactly_its_own_format(fmt, rel):
    assert sniff_hits(sample(rel)) == [fmt]


def _other_files() -> list[Path]:
    mine = {"gitlab", "github", "azure_devops", "redmine", "bad"}     # bad/: broken files of every tracker
    files = [p for p in DATA.rglob("*") if p.is_file() and p.relative_to(DATA).parts[0] not in mine]
    if SAMPLES.exists():
        files += [p for p in SAMPLES.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".jsonl", ".xml")
                  and p.relative_to(SAMPLES).parts[0] not in mine | {"azure_devops"}]
    return sorted(files)


def test_other_trackers_files_are_not_claimed_by_these_formats():
    checked = 0
    for path in _other_files():
        hits = sniff_hits(path)
        if hits is None:
            continue
        checked += 1
        assert not set(hits) & MY_FORMATS, (path, hits)
    assert checked >= 10
