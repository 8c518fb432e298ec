"""The Jira CSV adapter on our own fixtures (whole rows) and on every real Jira CSV sample (counts)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ingest import IngestError, ingest_file
from store import db
from tests.samples import DATA, sample

JIRA = DATA / "jira"
UTC = timezone.utc
COLUMNS = ("issue_key, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, priority, "
           "created_at, updated_at, done_at, story_points, original_estimate_h, remaining_estimate_h, "
           "time_spent_h, assignee, components, labels, sprints, fix_versions, parent_key, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def rows(cur, project="DEMO"):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY issue_key",
                       [project]).fetchall()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


# Worked by hand from tests/data/jira/allfields_small.csv; times are Asia/Shanghai (UTC+8) in the file.
EXPECTED = [
    ("DEMO-1", "story", "Story", "Done", "done", "Done", "delivered", "High",
     utc(2024, 6, 3, 1, 0), utc(2024, 6, 7, 9, 30), utc(2024, 6, 7, 9, 30), 5.0, 8.0, 0.0, 10.0, "Li Lei",
     ["Auth", "API"], ["backend", "sms"], ["DEMO Sprint 1", "DEMO Sprint 2"], ["1.0"], None, None),
    ("DEMO-2", "bug", "Bug", "In Review", "in_progress", None, None, "Highest",
     utc(2024, 6, 4, 3, 15), utc(2024, 6, 12, 8, 45), None, 3.0, 2.0, 1.0, 1.0, "Han Meimei",
     ["Reports"], ["perf"], ["DEMO Sprint 2"], [], None, None),
    ("DEMO-3", "task", "Task", "Closed", "done", "Duplicate", "invalid", "Low",
     utc(2024, 6, 5, 12, 5), utc(2024, 6, 6, 0, 10), utc(2024, 6, 6, 0, 10), None, None, None, None, None,
     [], [], [], [], None, None),
    ("DEMO-4", "subtask", "Sub-task", "To Do", "todo", None, None, "Medium",
     utc(2024, 6, 6, 5, 0), utc(2024, 6, 6, 5, 0), None, 1.0, 1.0, 1.0, None, "Li Lei",
     [], [], ["DEMO Sprint 2"], [], "DEMO-1", None),
    ("DEMO-5", "story", "Story", "Reopened", "todo", None, None, "Medium",
     utc(2024, 6, 13, 1, 30), utc(2024, 6, 20, 10, 0), None, 8.0, None, None, None, "Han Meimei",
     ["Payments"], [], ["DEMO Sprint 2"], ["1.0"], None, 1),
    ("DEMO-6", "other", "Spike Plus", "Parked", "done", "Someday", "delivered", "Medium",
     utc(2024, 6, 14, 2, 0), utc(2024, 6, 14, 2, 0), utc(2024, 6, 14, 2, 0), None, None, None, None, None,
     [], [], [], [], None, None),
]


def test_allfields_fixture_whole_rows(cur):
    result = ingest_file(cur, JIRA / "allfields_small.csv")
    assert (result.rows, result.issues, result.project_key, result.source_format) == (6, 6, "DEMO", "jira-csv")
    assert rows(cur) == EXPECTED
    assert cur.execute("SELECT title FROM issues WHERE issue_key = 'DEMO-3'").fetchone() == (
        "Multi-line\ndescription issue",)
    assert cur.execute("SELECT title FROM issues WHERE issue_key = 'DEMO-2'").fetchone() == (
        'Report "export" is slow',)
    assert cur.execute("SELECT name FROM projects").fetchall() == [("Demo 项目",)]
    codes = {w["code"]: w for w in result.warnings}
    assert codes["unmapped_type"] == {"code": "unmapped_type", "values": ["Spike Plus"], "count": 1}
    assert codes["unmapped_resolution"] == {"code": "unmapped_resolution", "values": ["Someday"], "count": 1}
    assert codes["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 3, "in_scope": 5}


def test_log_work_becomes_worklogs(cur):
    ingest_file(cur, JIRA / "allfields_small.csv")
    assert cur.execute("SELECT issue_key, started_at, author, hours FROM worklogs ORDER BY started_at").fetchall() == [
        ("DEMO-1", utc(2024, 6, 3, 2, 0), "acc-1", 5.0),
        ("DEMO-1", utc(2024, 6, 5, 6, 0), "acc-2", 5.0),
    ]


def test_sprint_names_are_recorded_without_dates(cur):
    ingest_file(cur, JIRA / "allfields_small.csv")
    assert cur.execute("SELECT name, start_at, source FROM sprints ORDER BY name").fetchall() == [
        ("DEMO Sprint 1", None, "names-only"), ("DEMO Sprint 2", None, "names-only")]


@pytest.mark.parametrize("name", ["allfields_small_gbk.csv", "allfields_small_utf16.csv", "allfields_small_bom.csv"])
def test_encodings_give_the_same_rows(cur, name):
    ingest_file(cur, JIRA / name)
    assert rows(cur) == EXPECTED
    assert cur.execute("SELECT title FROM issues WHERE issue_key = 'DEMO-1'").fetchone() == ("登录页面支持短信验证码",)


@pytest.mark.parametrize("name", ["excel_resaved_mdy.csv", "excel_resaved_dmy.csv"])
def test_excel_resaved_dates_infer_day_month_order_from_the_file(cur, name):
    """Both files hold the same instants; only a day above 12 (13/Jun, 14/Jun) tells the order apart."""
    result = ingest_file(cur, JIRA / name)
    assert rows(cur) == EXPECTED
    assert "date_order_ambiguous" not in {w["code"] for w in result.warnings}


def test_ambiguous_day_month_order_is_reported(cur, tmp_path):
    path = tmp_path / "ambiguous.csv"
    path.write_text("Issue key,Issue id,Issue Type,Status,Created,Updated\n"
                    "A-1,1,Task,To Do,3/4/2024 10:00,3/5/2024 10:00\n"
                    "A-2,2,Task,To Do,4/4/2024 10:00,4/5/2024 10:00\n", encoding="utf-8")
    result = ingest_file(cur, path)
    assert {"code": "date_order_ambiguous", "assumed": "mdy"} in result.warnings
    assert cur.execute("SELECT created_at FROM issues ORDER BY issue_key").fetchall() == [
        (utc(2024, 3, 4, 2, 0),), (utc(2024, 4, 4, 2, 0),)]


def test_unparsable_date_is_reported_with_row_and_column(cur, tmp_path):
    path = tmp_path / "baddate.csv"
    path.write_text("Issue key,Issue id,Issue Type,Status,Created\n"
                    "A-1,1,Task,To Do,03/Jun/24 9:00 AM\n"
                    "A-2,2,Task,To Do,yesterday\n", encoding="utf-8")
    result = ingest_file(cur, path)
    assert {"code": "unparsable_dates", "column": "Created", "count": 1, "rows": [3],
            "example": "yesterday"} in result.warnings


def test_project_override_and_value_map_override(cur):
    cur.execute("INSERT INTO value_maps VALUES ('OVR', 'status', 'parked', 'in_progress'),"
                " ('OVR', 'type', 'spike plus', 'task'), ('*', 'resolution', 'someday', 'valid_not_fixed')")
    ingest_file(cur, JIRA / "allfields_small.csv", project_key="OVR")
    assert cur.execute("SELECT type, status_category, resolution_class, done_at FROM issues "
                       "WHERE project_key = 'OVR' AND issue_key = 'DEMO-6'").fetchone() == (
        "task", "in_progress", "valid_not_fixed", None)


def test_reimport_changes_nothing_and_newer_export_updates(cur, tmp_path):
    first = ingest_file(cur, JIRA / "allfields_small.csv")
    before = {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in db.TABLES}
    again = ingest_file(cur, JIRA / "allfields_small.csv")
    assert again.duplicate and again.import_id == first.import_id
    assert {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in db.TABLES} == before

    newer = tmp_path / "newer.csv"
    newer.write_text((JIRA / "allfields_small.csv").read_text(encoding="utf-8").replace(
        "In Review,DEMO,Demo 项目,Highest,,", "Done,DEMO,Demo 项目,Highest,Fixed,").replace(
        "04/Jun/24 11:15 AM,12/Jun/24 4:45 PM,,", "04/Jun/24 11:15 AM,18/Jun/24 4:45 PM,18/Jun/24 4:45 PM,").replace(
        "3.0,,,In Progress", "3.0,,,Done"), encoding="utf-8")
    second = ingest_file(cur, newer)
    assert second.import_id != first.import_id
    assert cur.execute("SELECT count(*) FROM issues").fetchone() == (6,)
    assert cur.execute("SELECT status_category, resolution_class, done_at, first_import_id, last_import_id "
                       "FROM issues WHERE issue_key = 'DEMO-2'").fetchone() == (
        "done", "delivered", utc(2024, 6, 18, 8, 45), first.import_id, second.import_id)
    assert cur.execute("SELECT import_id, count(*) FROM issue_snapshots GROUP BY 1 ORDER BY 1").fetchall() == [
        (first.import_id, 6), (second.import_id, 6)]
    assert cur.execute("SELECT count(*) FROM worklogs").fetchone() == (2,)   # same logs, kept once


def test_refused_file_leaves_every_table_unchanged(cur, tmp_path):
    ingest_file(cur, JIRA / "allfields_small.csv")
    before = {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in db.TABLES}
    bad = tmp_path / "unterminated.csv"
    bad.write_text('Issue key,Issue id,Summary\nA-1,1,"never closed\nA-2,2,x\n', encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, bad)
    assert (err.value.file, err.value.code, err.value.row) == ("unterminated.csv", "unterminated_quote", 2)
    empty_key = tmp_path / "empty_key.csv"
    empty_key.write_text("Issue key,Issue id,Summary\nA-1,1,x\n,2,y\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, empty_key)
    assert (err.value.code, err.value.row, err.value.column) == ("empty_key", 3, "Issue key")
    assert err.value.render("zh-CN") == "empty_key.csv：第 3 行“Issue key”列：问题编号为空。"
    assert err.value.render("en") == "empty_key.csv: row 3, column “Issue key”: the issue key is empty."
    assert {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in db.TABLES} == before


# Every real Jira CSV in ../shared/samples/jira, with the issue count each file holds (counted by hand with
# a spreadsheet and Python's csv module), and the projects it spans.
REAL = {
    "cloud_2016-17_allfields_sprint_x3_storypoints_denisbittante.csv": (90, {"INNT": 20, "JWP": 70}),
    "cloud_2023_current_fields_ALA_TAX.csv": (44, {"TAX": 44}),
    "cloud_2025_allfields_MitsuSarkar.csv": (19, {"BD": 10, "BVAVR": 5, "LEARNJIRA": 3, "MFC": 1}),
    "cloud_2025_allfields_watchers3_comment3_planeso.csv": (22, {"TES": 22}),
    "cloud_allfields_2021_RETAIL_harshal-08.csv": (76, {"RETAIL": 76}),
    "cloud_allfields_crlf_sprint_x2_nanoclaw.csv": (23, {"SSP": 23}),
    "cloud_current_fields_bom_CodeBook666.csv": (20, {"AP": 20}),
    "jira2016_current_fields_parent_id_reopened_report-builder.csv": (64, {"HOINC": 64}),
    "cloud_allfields_2026_labels5_logwork3_parent_BellaLi.csv": (68, None),
    "cloud_current_fields_nobom_pxi-product.csv": (32, None),
    "cloud_2021_excel_resaved_MDY_crlf_SANCHARI9999.csv": (60, None),
}


@pytest.mark.parametrize("name", sorted(REAL))
def test_every_real_jira_csv_imports_with_its_issue_count(cur, name):
    path = sample(f"jira/{name}")
    count, by_project = REAL[name]
    result = ingest_file(cur, path)
    assert (result.rows, result.issues) == (count, count)
    if by_project is not None:
        assert dict(cur.execute("SELECT project_key, count(*) FROM issues GROUP BY 1").fetchall()) == by_project


def test_real_sprint_carry_over_and_story_points(cur):
    ingest_file(cur, sample("jira/cloud_2016-17_allfields_sprint_x3_storypoints_denisbittante.csv"))
    assert cur.execute("SELECT sprints, story_points, original_estimate_h, fix_versions FROM issues "
                       "WHERE issue_key = 'JWP-13'").fetchone() == (
        ["JwProgra Sprint 1", "JwProgra Sprint 2", "JwProgra Sprint 3"], 5.0, 40.0, ["1.0"])
    assert cur.execute("SELECT count(*), sum(story_points) FROM issues WHERE project_key = 'JWP' "
                       "AND len(sprints) = 3").fetchone()[0] >= 1


def test_real_file_with_cut_utf8_bytes_imports_with_a_warning(cur):
    result = ingest_file(cur, sample("jira/cloud_2023_current_fields_ALA_TAX.csv"))
    assert {"code": "stray_bytes_replaced", "rows": [24, 26, 27], "count": 3} in result.warnings
    assert result.issues == 44


def test_real_reopened_status_counts_as_a_known_reopen(cur):
    ingest_file(cur, sample("jira/jira2016_current_fields_parent_id_reopened_report-builder.csv"))
    assert cur.execute("SELECT issue_key, status_category, reopen_count FROM issues "
                       "WHERE issue_key = 'HOINC-1485'").fetchone() == ("HOINC-1485", "todo", 1)
