"""The Azure DevOps query CSV adapter on our own fixtures (whole rows) and on the real export (counts)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ingest import IngestError, ingest_file
from store import db
from tests.samples import DATA, sample

AZURE = DATA / "azure_devops"
UTC = timezone.utc
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, "
           "priority, severity, created_at, updated_at, done_at, story_points, original_estimate_h, "
           "remaining_estimate_h, time_spent_h, assignee, components, labels, sprints, parent_key, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def rows(cur, project):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY issue_key", [project]).fetchall()


def codes(result):
    return {w["code"]: w for w in result.warnings}


# Worked by hand from tests/data/azure_devops/agile_query_quoted_bom.csv: `6/14/2024 5:30:00 PM` is month/day
# (14 > 12), in the exporting user's zone (Asia/Shanghai, UTC+8).
EXPECTED_AGILE = [
    ("101", "Checkout flow", "story", "User Story", "Closed", "done", "Acceptance tests pass", "delivered", "2", None,
     utc(2024, 6, 3, 1), utc(2024, 6, 14, 9, 30), utc(2024, 6, 14, 9, 30), 5.0, None, None, None, "Li Lei",
     ["Checkout"], ["web", "payments"], ["Sprint 2"], None, None),
    # Active is in progress for Azure (a ZenTao bug's "active" is to do); a Task is a child item.
    ("102", "Build payment form", "subtask", "Task", "Active", "in_progress", None, None, "2", None,
     utc(2024, 6, 4, 2, 15), utc(2024, 6, 12, 6), None, None, 8.0, 3.5, 4.5, "Han Meimei",
     ["Checkout"], [], ["Sprint 2"], "101", None),
    ("103", "Total wrong with coupon", "bug", "Bug", "Resolved", "done", "Fixed", "delivered", "1", "2 - High",
     utc(2024, 6, 13, 3), utc(2024, 6, 20, 8), utc(2024, 6, 20, 8), 1.0, None, None, None, None,
     ["Web"], ["regression"], ["Sprint 2"], "101", None),
    # Removed: done, and invalid whatever the Reason; no dated close, so Changed Date (reported).
    ("104", "Old browser support", "bug", "Bug", "Removed", "done", "Removed", "invalid", "3", "3 - Medium",
     utc(2024, 6, 5), utc(2024, 6, 6), utc(2024, 6, 6), None, None, None, None, None, [], [], [], None, None),
    ("105", "Login loop", "bug", "Bug", "Active", "in_progress", None, None, "1", "1 - Critical",
     utc(2024, 6, 21, 1), utc(2024, 6, 25, 1), None, 2.0, None, None, None, "Otieno, Godfrey Okoth",
     ["Web"], [], ["Sprint 3"], None, 1),
    ("106", "Loyalty program", "epic", "Feature", "New", "todo", None, None, None, None,
     utc(2024, 6, 1, 1), utc(2024, 6, 1, 1), None, None, None, None, None, None, [], [], ["Release 2"], None, None),
]


def test_quoted_bom_export_whole_rows(cur):
    result = ingest_file(cur, AZURE / "agile_query_quoted_bom.csv")
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "azure-devops-csv", "Shop", 6, 6)
    assert rows(cur, "Shop") == EXPECTED_AGILE
    w = codes(result)
    assert w["done_date_from_updated"]["count"] == 1
    assert w["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 3, "in_scope": 4}
    assert "unmapped_status" not in w and "unmapped_type" not in w and "unmapped_resolution" not in w
    assert ingest_file(cur, AZURE / "agile_query_quoted_bom.csv").duplicate


def test_tree_query_unquoted_crlf_day_first_dates(cur):
    result = ingest_file(cur, AZURE / "tree_query_unquoted_crlf.csv")
    assert (result.project_key, result.rows, result.issues) == ("Ops", 6, 6)
    got = cur.execute("SELECT issue_key, title, type, status_category, story_points, components, sprints, "
                      "parent_key, created_at, done_at FROM issues ORDER BY issue_key").fetchall()
    assert got == [
        ("1", "Platform migration", "epic", "in_progress", None, [], [], None, utc(2024, 7, 1, 1), None),
        ("2", "Move databases", "epic", "in_progress", None, ["DB"], ["Q3"], "1", utc(2024, 7, 2, 1), None),
        ("3", "Migrate orders DB", "story", "in_progress", 8.0, ["DB"], ["Sprint 5"], "2", utc(2024, 7, 3, 1), None),
        ("4", "Migrate users DB", "story", "done", 5.0, ["DB"], ["Sprint 5"], "2", utc(2024, 7, 3, 1, 30),
         utc(2024, 7, 18, 2)),
        ("5", "Decommission old hosts", "epic", "todo", None, ["Infra"], ["Q3"], "1", utc(2024, 7, 4, 1), None),
        ("6", "Backup job fails, nightly", "bug", "todo", 3.0, ["Infra"], ["Sprint 5"], "5", utc(2024, 7, 5, 1), None),
    ]
    assert "date_order_ambiguous" not in codes(result)


def test_pmo_mapping_wins_over_azure_defaults(cur):
    cur.execute("INSERT INTO value_maps VALUES ('Shop', 'status', 'Active', 'todo')")
    ingest_file(cur, AZURE / "agile_query_quoted_bom.csv")
    assert cur.execute("SELECT status_category FROM issues WHERE issue_key = '102'").fetchone() == ("todo",)


def test_project_override(cur, tmp_path):
    result = ingest_file(cur, AZURE / "tree_query_unquoted_crlf.csv", project_key="OPS-2024")
    assert result.project_key == "OPS-2024"
    path = tmp_path / "no_paths.csv"
    path.write_text("ID,Work Item Type,Title,State\n1,Bug,Broken,New\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert err.value.code == "project_unknown"


def test_real_quoted_bom_export_counts(cur):
    result = ingest_file(cur, sample("azure_devops/query_export_assigned_to_me_quoted_bom.csv"))
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "azure-devops-csv", "DSBS", 142, 142)
    assert dict(cur.execute("SELECT type, count(*) FROM issues GROUP BY 1").fetchall()) == {"subtask": 109, "story": 33}
    assert dict(cur.execute("SELECT status_category, count(*) FROM issues GROUP BY 1").fetchall()) == {
        "done": 110, "in_progress": 20, "todo": 12}
    assert cur.execute("SELECT labels, components FROM issues WHERE issue_key = '2017591'").fetchone() == (
        ["Phrase request", "Release 25W09"], [])
    assert cur.execute("SELECT sprints FROM issues WHERE issue_key = '2019112'").fetchone() == (
        ["DD_PI25B_Sprint2 (w18-w20)"],)
    assert cur.execute("SELECT count(*) FROM sprints").fetchone()[0] == 17
    # No date columns in this query: done items have no done date, and the import says so.
    assert codes(result)["done_date_missing"]["count"] == 110
    assert ingest_file(cur, sample("azure_devops/query_export_assigned_to_me_quoted_bom.csv")).duplicate
