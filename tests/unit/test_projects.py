"""store/projects.py: what the pages read, and every write of the Settings page (validated, audited,
effective at once)."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from ingest import ingest_file
from metrics import compute
from store import projects as proj

DATA = Path(__file__).resolve().parents[1] / "data" / "app"
ACME = DATA / "acme_jira_all_fields.csv"


@pytest.fixture
def acme(cur):
    ingest_file(cur, ACME)
    return cur


def test_get_project_fills_defaults_and_lists_projects(acme):
    p = proj.get_project(acme, "ACME")
    assert p == {"project_key": "ACME", "name": "Acme Customer Portal", "tracker": "jira",
                 "timezone": "Asia/Shanghai", "calendar": "CN", "size_kloc": None, "size_fp": None}
    assert [x["project_key"] for x in proj.list_projects(acme)] == ["ACME"]
    assert proj.get_project(acme, "NOPE") is None


def test_update_project_saves_and_takes_effect_on_the_metric(acme):
    assert compute("defect_density", acme, project_key="ACME", month="2026-11").value is None
    saved = proj.update_project(acme, "ACME", size_kloc="4", size_fp=50, calendar="cn", timezone_name="Asia/Shanghai",
                                user="pmo@example.com")
    assert (saved["size_kloc"], saved["size_fp"], saved["calendar"]) == (4.0, 50.0, "CN")
    # 7 valid defects by the end of November (ACME-31 is a duplicate) / 4 KLOC
    assert compute("defect_density", acme, project_key="ACME", month="2026-11").value == pytest.approx(1.75)
    audit = acme.execute("SELECT \"user\", action, detail FROM audit_log WHERE action = 'settings'").fetchall()
    assert audit[0][:2] == ("pmo@example.com", "settings")
    assert json.loads(audit[0][2])["size_kloc"] == 4.0


@pytest.mark.parametrize("kwargs, code", [
    ({"size_kloc": -1}, "negative_size"),
    ({"size_fp": "many"}, "not_a_number"),
    ({"calendar": "China!"}, "bad_calendar"),
    ({"timezone_name": "Mars/Olympus"}, "bad_timezone"),
])
def test_update_project_refuses_bad_values_and_writes_nothing(acme, kwargs, code):
    with pytest.raises(proj.ProjectSettingsError) as exc:
        proj.update_project(acme, "ACME", **kwargs)
    assert exc.value.code == code
    assert proj.get_project(acme, "ACME")["size_kloc"] is None
    assert acme.execute("SELECT count(*) FROM audit_log WHERE action = 'settings'").fetchone()[0] == 0


def test_calendar_none_and_blank_size_mean_unknown(acme):
    saved = proj.update_project(acme, "ACME", size_kloc=None, size_fp=0, calendar="none", timezone_name="UTC")
    assert (saved["size_kloc"], saved["size_fp"], saved["calendar"], saved["timezone"]) == (None, None, "none", "UTC")
    with pytest.raises(proj.ProjectSettingsError) as exc:
        proj.update_project(acme, "NOPE", size_kloc=1)
    assert exc.value.code == "unknown_project"


def test_module_sizes_feed_density_by_module(acme):
    proj.update_project(acme, "ACME", size_kloc=4)
    assert proj.modules_seen(acme, "ACME") == ["API", "Web"]
    clean = proj.set_module_sizes(acme, "ACME", {"Web": 2.5, "API": "1.5", " ": 3, "Mobile": None})
    assert clean == {"Web": 2.5, "API": 1.5}
    assert proj.module_sizes(acme, "ACME") == {"Web": 2.5, "API": 1.5}
    series = compute("defect_density", acme, project_key="ACME", month="2026-11").series
    modules = series[series["series"] == "module"].set_index("module")
    # Web: ACME-24, 30, 34, 35 (31 is a duplicate); API: ACME-32, 33, 35 (35 names both modules)
    assert modules.loc["Web", "defects"] == 4 and modules.loc["Web", "density"] == pytest.approx(1.6)
    assert modules.loc["API", "defects"] == 3 and modules.loc["API", "density"] == pytest.approx(2.0)
    with pytest.raises(proj.ProjectSettingsError):
        proj.set_module_sizes(acme, "ACME", {"Web": -2})


def test_sprint_dates_are_local_days_marked_manual_and_drive_the_burndown(acme):
    n = proj.set_sprint_dates(acme, "ACME", [
        {"name": "ACME Sprint 3", "start": date(2026, 11, 16), "end": date(2026, 11, 27), "state": "active"}])
    assert n == 1
    row = proj.sprint_rows(acme, "ACME").set_index("name").loc["ACME Sprint 3"]
    assert row["source"] == "manual" and row["state"] == "active"
    # 00:00 and 23:59:59.999 in Asia/Shanghai
    assert row["start_at"] == datetime(2026, 11, 15, 16, 0, tzinfo=timezone.utc)
    assert row["end_at"] == datetime(2026, 11, 27, 15, 59, 59, 999000, tzinfo=timezone.utc)
    result = compute("burndown", acme, project_key="ACME", sprint="ACME Sprint 3")
    assert result.extra["committed"] == 16.0                       # ACME-20 5 + ACME-21 3 + ACME-22 8
    assert not any(w["code"] == "sprint_dates_inferred" for w in result.warnings)
    assert result.series["guideline"].tolist()[:5] == pytest.approx([14.4, 12.8, 11.2, 9.6, 8.0])


def test_manual_sprint_dates_survive_a_newer_import(acme, tmp_path):
    proj.set_sprint_dates(acme, "ACME", [
        {"name": "ACME Sprint 1", "start": "2026-09-28", "end": "2026-10-16", "completed": "2026-10-16"}])
    newer = tmp_path / "acme_newer.csv"
    newer.write_text(ACME.read_text(encoding="utf-8").replace("Session expires too early",
                                                              "Session expires too early (again)"), encoding="utf-8")
    assert not ingest_file(acme, newer).duplicate
    row = proj.sprint_rows(acme, "ACME").set_index("name").loc["ACME Sprint 1"]
    assert row["source"] == "manual"
    assert row["start_at"] == datetime(2026, 9, 27, 16, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("row, code", [
    ({"name": "S", "start": date(2026, 11, 2), "end": date(2026, 11, 1)}, "sprint_end_before_start"),
    ({"name": "S", "start": None, "end": date(2026, 11, 1)}, "sprint_dates_missing"),
    ({"name": "", "start": date(2026, 11, 1), "end": date(2026, 11, 2)}, "sprint_without_name"),
    ({"name": "S", "start": date(2026, 11, 1), "end": date(2026, 11, 2), "state": "done"}, "bad_sprint_state"),
])
def test_sprint_dates_refused(acme, row, code):
    with pytest.raises(proj.ProjectSettingsError) as exc:
        proj.set_sprint_dates(acme, "ACME", [row])
    assert exc.value.code == code
    assert acme.execute("SELECT count(*) FROM sprints WHERE source = 'manual'").fetchone()[0] == 0


def test_value_map_is_stored_and_replayed_on_imported_issues(acme):
    seen = proj.raw_values(acme, "ACME", "status").set_index("raw_value")
    assert seen.loc["Reopened", "canonical"] == "todo" and seen.loc["Reopened", "issues"] == 1
    assert proj.open_valid_bugs(acme, "ACME") == 3                   # ACME-32, 34 (Reopened), 36
    changed = proj.set_value_maps(acme, "ACME", "status", {"Reopened": "in_progress", "Done": "done"})
    assert changed == 1                                              # only ACME-34 changes category
    assert acme.execute("SELECT status_category, done_at FROM issues WHERE issue_key = 'ACME-34'").fetchone() == \
        ("in_progress", None)
    assert acme.execute("SELECT canonical FROM value_maps WHERE project_key = 'ACME' AND kind = 'status' "
                        "AND raw_value = 'Reopened'").fetchone() == ("in_progress",)
    assert proj.raw_values(acme, "ACME", "status").set_index("raw_value").loc["Reopened", "mapped_here"]


def test_value_map_resolution_changes_valid_defects(acme):
    proj.update_project(acme, "ACME", size_kloc=4)
    proj.set_value_maps(acme, "ACME", "resolution", {"Won't Fix": "invalid"})
    # ACME-35 (won't fix) is no longer a valid defect: 6 / 4 KLOC
    assert compute("defect_density", acme, project_key="ACME", month="2026-11").value == pytest.approx(1.5)
    assert acme.execute("SELECT DISTINCT resolution_class FROM issue_snapshots "
                        "WHERE issue_key = 'ACME-35'").fetchall() == [("invalid",)]


def test_value_map_to_done_sets_a_done_date(acme):
    proj.set_value_maps(acme, "ACME", "status", {"In Progress": "done"})
    done_at, updated = acme.execute("SELECT done_at, updated_at FROM issues WHERE issue_key = 'ACME-22'").fetchone()
    assert done_at == updated


def test_value_map_refuses_unknown_canonical(acme):
    with pytest.raises(proj.ProjectSettingsError) as exc:
        proj.set_value_maps(acme, "ACME", "type", {"Bug": "defect"})
    assert exc.value.code == "bad_canonical"
    assert acme.execute("SELECT count(*) FROM value_maps").fetchone()[0] == 0


def test_reads_for_the_pages(acme):
    assert proj.import_count(acme) == 1
    history = proj.list_imports(acme)
    assert history[["file_name", "project_key", "source_format", "rows"]].to_dict("records") == [
        {"file_name": "acme_jira_all_fields.csv", "project_key": "ACME", "source_format": "jira-csv", "rows": 20}]
    assert proj.data_as_of(acme, "ACME") == history["imported_at"].iloc[0]
    assert proj.data_as_of(acme, "OTHER") is None
    assert proj.project_months(acme, "ACME") == ["2026-11", "2026-10", "2026-09"]
    # open at the end of October: ACME-32 only (ACME-30 closed 10-20, ACME-31 invalid)
    assert proj.open_valid_bugs(acme, "ACME", datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc)) == 1
    assert proj.open_valid_bugs(acme, "ACME", datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)) == 3
