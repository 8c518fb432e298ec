"""The canonical schema: every table of DESIGN.md exists with its columns; opening twice migrates nothing."""
from __future__ import annotations

from store import db

# DESIGN.md "The canonical model": table -> columns it lists (key columns included).
DESIGN_TABLES = {
    "projects": "project_key name tracker timezone calendar size_kloc size_fp bac hourly_rate currency",
    "imports": "import_id project_key source_format file_name file_sha256 rows imported_at imported_by warnings",
    "issues": "project_key issue_key title type type_raw status_raw status_category resolution_raw "
              "resolution_class priority severity created_at updated_at done_at first_done_at due_at story_points "
              "original_estimate_h remaining_estimate_h time_spent_h assignee reporter components labels sprints "
              "fix_versions parent_key found_phase reopen_count first_import_id last_import_id",
    "issue_snapshots": "import_id issue_key status_category story_points sprints resolution_class",
    "changes": "project_key issue_key changed_at field from_value to_value author import_id",
    "sprints": "project_key name state start_at end_at completed_at",
    "worklogs": "project_key issue_key started_at author hours import_id",
    "calendar": "day is_workday note",
    "targets": "project_key metric valid_from green red direction",
    "metric_snapshots": "project_key month metric value frozen_at frozen_by",
    "actions": "action_id project_key month metric title owner due status result created_at closed_at",
    "milestones": "project_key name baseline_date forecast_date actual_date acceptance_status source",
    "risks": "project_key risk_id title probability impact owner response status opened_at closed_at",
    "decisions": "decision_id month project_key question options recommendation requester needed_by decision "
                 "decided_at",
    "rag_overrides": "project_key month metric computed_rag override_rag reason by at",
    "review_notes": "project_key month commentary author updated_at",
    "value_maps": "project_key kind raw_value canonical",
    "column_mappings": "project_key name mapping",
    "audit_log": "id at user role action detail",
}


def test_every_design_table_and_column_exists(tmp_path):
    con = db.connect(tmp_path / "p.duckdb")
    for table, columns in DESIGN_TABLES.items():
        have = {r[0] for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]).fetchall()}
        assert set(columns.split()) <= have, (table, set(columns.split()) - have)
    assert set(DESIGN_TABLES) <= set(db.TABLES)


def test_reopening_keeps_data_and_records_one_version(tmp_path):
    path = tmp_path / "p.duckdb"
    con = db.connect(path)
    con.execute("INSERT INTO projects (project_key, name) VALUES ('P', 'Pulse')")
    con.close()
    con = db.connect(path)
    assert con.execute("SELECT project_key, name, timezone, calendar FROM projects").fetchall() == [
        ("P", "Pulse", "Asia/Shanghai", "CN")]
    assert con.execute("SELECT count(*), max(version) FROM schema_version").fetchone() == (1, db.SCHEMA_VERSION)


def test_default_path_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("PULSE_DB", str(tmp_path / "x.duckdb"))
    assert db.default_db_path() == tmp_path / "x.duckdb"
    monkeypatch.delenv("PULSE_DB")
    assert db.default_db_path() == db.ROOT / "data" / "pulse.duckdb"
