"""The demo exports (demo/generate.py) and their import (demo.load_demo).

The files must be what the trackers write (checked on their own bytes: JSON structure, CSV headers and value
formats), deterministic, spanning twelve months, with the problems the demo promises actually planted.
"""
from __future__ import annotations

import csv
import json
import logging
import math
import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest

import ingest
from demo import generate, load_demo
from demo.generate import write_demo_exports
from ingest import ingest_file
from store import db

TODAY = date(2026, 11, 25)
MONTHS = ["2025-12", "2026-01", "2026-02", "2026-03", "2026-04", "2026-05", "2026-06", "2026-07", "2026-08",
          "2026-09", "2026-10", "2026-11"]
EXPORT_AT = datetime(2026, 11, 25, 8, 30, tzinfo=generate.TZ)
JIRA_CSV_TS = re.compile(r"^\d{2}/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)/\d{2} (1[0-2]|[1-9]):[0-5]\d (AM|PM)$")
API_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}\+0800$")
UTC_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
CSV_TYPE = {"Bug": "bug", "Task": "task", "Change Request": "change", "Improvement": "story"}
needs_jira_json = pytest.mark.skipif("jira-json" not in ingest.FORMATS,
                                     reason="the jira-json adapter (ingest/jira_json.py) is not registered yet")


@pytest.fixture
def dbcur():
    con = db.connect(":memory:")
    cur = db.cursor(con)
    yield cur
    cur.close()
    con.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    files = write_demo_exports(out, TODAY)
    return {(f.project_key, f.fmt, f.path.name): f for f in files}, files


def _file(demo, key, fmt, nth=-1):
    files = [f for f in demo[1] if f.project_key == key and f.fmt == fmt]
    return files[nth]


def _csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def _parse_csv_ts(text: str) -> datetime:
    return datetime.strptime(text, "%d/%b/%y %I:%M %p").replace(tzinfo=generate.TZ)


def _parse_api_ts(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z")


def _local_day(text: str) -> date:
    return _parse_api_ts(text).astimezone(generate.TZ).date()


def _categories(search: dict) -> dict[str, str]:
    """status id -> statusCategory key, from the issues' current fields (every status is in use)."""
    return {i["fields"]["status"]["id"]: i["fields"]["status"]["statusCategory"]["key"] for i in search["issues"]}


# --- determinism, speed, files ---------------------------------------------------------------------------

def test_same_today_gives_byte_identical_files(tmp_path):
    a = write_demo_exports(tmp_path / "a", TODAY)
    b = write_demo_exports(tmp_path / "b", TODAY)
    assert [f.path.name for f in a] == [f.path.name for f in b]
    for fa, fb in zip(a, b):
        assert fa.path.read_bytes() == fb.path.read_bytes(), fa.path.name
        assert fa.counts == fb.counts and fa.settings == fb.settings
    c = write_demo_exports(tmp_path / "c", TODAY + timedelta(days=7))
    assert a[0].path.read_bytes() != c[0].path.read_bytes()


def test_generation_is_fast(tmp_path):
    started = time.perf_counter()
    write_demo_exports(tmp_path, TODAY)
    assert time.perf_counter() - started < 2.0


def test_files_and_formats(demo):
    files = demo[1]
    assert [(f.project_key, f.fmt, f.path.name) for f in files] == [
        ("PAY", "jira-json", "PAY_search_expand_changelog.json"),
        ("PAY", "jira-sprints-json", "PAY_board_42_sprints.json"),
        ("ERP", "jira-csv", "ERP_Jira_all_fields.csv"),
        ("OPS", "jira-csv", "OPS_Jira_current_fields_2026-10-30.csv"),
        ("OPS", "jira-csv", "OPS_Jira_current_fields_2026-11-25.csv"),
    ]
    for f in files:
        assert f.path.read_bytes().decode("utf-8")      # valid UTF-8 throughout
        project = f.settings["project"]
        assert project["timezone"] == "Asia/Shanghai" and project["calendar"] == "CN"
        assert f.settings["settings"]["project_name_zh"] and f.settings["settings"]["project_name_en"]
    erp = _file(demo, "ERP", "jira-csv").settings
    assert erp["project"]["size_kloc"] == 48 and erp["project"]["size_fp"] == 600
    modules = json.loads(erp["settings"]["module_size_kloc"])
    assert sum(modules.values()) == 48 and len(modules) == 5


@pytest.mark.parametrize("today", [date(2026, 2, 12), date(2026, 10, 3), date(2026, 12, 1), date(2027, 3, 15),
                                   date(2025, 6, 30)])
def test_other_days_generate_a_consistent_demo(tmp_path, today):
    """Any day works, including days chinese-calendar does not know (2027) and days inside a holiday."""
    files = write_demo_exports(tmp_path, today)
    search = json.loads(files[0].path.read_text(encoding="utf-8"))
    board = json.loads(files[1].path.read_text(encoding="utf-8"))
    sprints = board["values"]
    assert 8 <= len(sprints) <= 10 and sprints[-1]["state"] == "active"
    start = _parse_api_ts(sprints[-1]["startDate"].replace("Z", "+0000")).astimezone(generate.TZ).date()
    assert start < today <= start + timedelta(days=14)
    export_at = datetime(today.year, today.month, today.day, 8, 30, tzinfo=generate.TZ)
    for issue in search["issues"]:
        for h in issue["changelog"]["histories"]:
            assert _parse_api_ts(h["created"]) < export_at
    assert search["total"] == len(search["issues"]) <= 100


# --- PAY: Jira REST JSON --------------------------------------------------------------------------------

def test_pay_search_json_has_jiras_shape(demo):
    f = _file(demo, "PAY", "jira-json")
    search = json.loads(f.path.read_text(encoding="utf-8"))
    assert list(search) == ["expand", "startAt", "maxResults", "total", "issues", "names"]
    assert search["startAt"] == 0 and search["total"] == len(search["issues"]) == f.counts["issues"]
    assert search["names"]["customfield_10016"] == "Story Points"
    assert search["names"]["customfield_10020"] == "Sprint"
    types = {i["fields"]["issuetype"]["name"] for i in search["issues"]}
    assert {"Story", "Task", "Bug", "Sub-task", "Epic"} <= types
    keys = {i["key"] for i in search["issues"]}
    for issue in search["issues"]:
        assert set(issue) >= {"id", "key", "self", "fields", "changelog"}
        fields = issue["fields"]
        assert set(fields) <= set(search["names"]), set(fields) - set(search["names"])
        assert API_TS.match(fields["created"]) and API_TS.match(fields["updated"])
        assert fields["status"]["statusCategory"]["key"] in ("new", "indeterminate", "done")
        done = fields["status"]["statusCategory"]["key"] == "done"
        assert (fields["resolution"] is not None) == done == (fields["resolutiondate"] is not None)
        if fields["issuetype"]["subtask"]:
            assert fields["parent"]["key"] in keys
        cl = issue["changelog"]
        assert cl["startAt"] == 0 and cl["total"] == cl["maxResults"] == len(cl["histories"])
        times = [h["created"] for h in cl["histories"]]
        assert times == sorted(times)
        for h in cl["histories"]:
            assert API_TS.match(h["created"]) and h["author"]["displayName"]
            for item in h["items"]:
                assert set(item) >= {"field", "fieldtype", "from", "fromString", "to", "toString"}
        for sprint in fields["customfield_10020"] or []:
            assert set(sprint) >= {"id", "name", "state", "startDate", "endDate", "boardId"}
            assert UTC_TS.match(sprint["startDate"]) and UTC_TS.match(sprint["endDate"])
            assert ("completeDate" in sprint) == (sprint["state"] == "closed")
        wl = fields["worklog"]
        assert wl["total"] == len(wl["worklogs"]) <= wl["maxResults"]
    all_times = [_parse_api_ts(h["created"]) for i in search["issues"] for h in i["changelog"]["histories"]]
    assert max(all_times) < EXPORT_AT


def test_pay_histories_replay_to_the_current_fields(demo):
    """Every status and Sprint history item starts where the previous one ended and ends at the current value."""
    search = json.loads(_file(demo, "PAY", "jira-json").path.read_text(encoding="utf-8"))
    for issue in search["issues"]:
        status, sprint = "10000", ""
        for h in issue["changelog"]["histories"]:
            for item in h["items"]:
                if item["field"] == "status":
                    assert item["from"] == status, issue["key"]
                    status = item["to"]
                elif item["field"] == "Sprint":
                    assert item["from"] == sprint, issue["key"]
                    sprint = item["to"]
        fields = issue["fields"]
        assert status == fields["status"]["id"], issue["key"]
        assert sprint == ", ".join(str(s["id"]) for s in fields["customfield_10020"] or []), issue["key"]


def test_pay_sprints_board_json_and_sprint_field_agree(demo):
    board = json.loads(_file(demo, "PAY", "jira-sprints-json").path.read_text(encoding="utf-8"))
    search = json.loads(_file(demo, "PAY", "jira-json").path.read_text(encoding="utf-8"))
    assert list(board) == ["maxResults", "startAt", "isLast", "values"] and board["isLast"] is True
    sprints = board["values"]
    assert 8 <= len(sprints) <= 10
    assert [s["state"] for s in sprints] == ["closed"] * (len(sprints) - 1) + ["active"]
    assert "completeDate" not in sprints[-1]
    starts = [_local_day(s["startDate"].replace("Z", "+0000")) for s in sprints]
    assert all((b - a).days == 14 for a, b in zip(starts, starts[1:]))      # two-week cadence
    assert starts[0] >= TODAY - timedelta(days=5 * 31) and starts[-1] < TODAY
    by_id = {s["id"]: s for s in sprints}
    for issue in search["issues"]:
        for s in issue["fields"]["customfield_10020"] or []:
            b = by_id[s["id"]]
            assert (s["name"], s["state"], s["startDate"], s["endDate"], s.get("completeDate")) == \
                   (b["name"], b["state"], b["startDate"], b["endDate"], b.get("completeDate"))
            assert s["boardId"] == b["originBoardId"] == 42


def test_pay_holiday_sprint_spans_non_working_days_and_a_makeup_workday(demo):
    """Per chinese-calendar 1.11.0: National Day 2026-10-01..07 off, Saturday 2026-10-10 a working day."""
    board = json.loads(_file(demo, "PAY", "jira-sprints-json").path.read_text(encoding="utf-8"))
    found = []
    for s in board["values"]:
        start = _local_day(s["startDate"].replace("Z", "+0000"))
        end = _local_day(s["endDate"].replace("Z", "+0000"))
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        off = [d for d in days if d.weekday() < 5 and not chinese_calendar.is_workday(d)]
        makeup = [d for d in days if d.weekday() >= 5 and chinese_calendar.is_workday(d)]
        if off and makeup:
            found.append((s["name"], off, makeup))
    assert found, "no sprint spans a holiday and a make-up working day"
    name, off, makeup = found[0]
    counts = _file(demo, "PAY", "jira-json").counts
    assert name == counts["holiday_sprint"]
    assert off == [date(2026, 10, d) for d in (1, 2, 5, 6, 7)] and makeup == [date(2026, 10, 10)]
    # ... and the team planned it like any other sprint: it ends on the make-up Saturday.
    sprint = next(s for s in board["values"] if s["name"] == name)
    assert _local_day(sprint["endDate"].replace("Z", "+0000")) == date(2026, 10, 10)


def test_pay_reopens_scope_changes_reestimates_and_carry_over(demo):
    search = json.loads(_file(demo, "PAY", "jira-json").path.read_text(encoding="utf-8"))
    board = json.loads(_file(demo, "PAY", "jira-sprints-json").path.read_text(encoding="utf-8"))
    cat = _categories(search)
    assert set(cat.values()) == {"new", "indeterminate", "done"} and len(cat) == 4
    sprint_start = {str(s["id"]): _parse_api_ts(s["startDate"].replace("Z", "+0000")) for s in board["values"]}
    reopens, added_mid, removed_mid, reestimates = [], [], [], []
    for issue in search["issues"]:
        for h in issue["changelog"]["histories"]:
            when = _parse_api_ts(h["created"])
            for item in h["items"]:
                if item["field"] == "status" and cat[item["from"]] == "done" and cat[item["to"]] != "done":
                    reopens.append((issue["key"], when))
                if item["field"] == "Sprint":
                    old = set(filter(None, item["from"].split(", ")))
                    new = set(filter(None, item["to"].split(", ")))
                    added_mid += [(issue["key"], s) for s in new - old if when > sprint_start[s]]
                    removed_mid += [(issue["key"], s) for s in old - new if when > sprint_start[s]]
                if item["field"] == "Story Points" and item["fromString"] is not None:
                    reestimates.append((issue["key"], item["fromString"], item["toString"]))
    assert len(reopens) >= 5 and len(reopens) == _file(demo, "PAY", "jira-json").counts["reopen_transitions"]
    assert len({k for k, _ in reopens}) >= 4
    # one issue is reopened right now (the active sprint), not yet done again
    current = {i["key"]: cat[i["fields"]["status"]["id"]] for i in search["issues"]}
    assert any(current[k] != "done" for k, _ in reopens)
    assert len(added_mid) >= 8                  # stories and bugs pulled in after sprint start
    assert len(removed_mid) >= 1
    assert any(float(a) != float(b) for _, a, b in reestimates)
    carried = [i for i in search["issues"] if len(i["fields"]["customfield_10020"] or []) >= 2]
    assert len(carried) >= 5


# --- ERP: Jira CSV (all fields) ------------------------------------------------------------------------

def test_erp_csv_has_jiras_all_fields_shape(demo):
    rows = _csv(_file(demo, "ERP", "jira-csv").path)
    header = rows[0]
    assert header[:7] == ["Summary", "Issue key", "Issue id", "Issue Type", "Status", "Project key", "Project name"]
    for name in ("Created", "Updated", "Resolved", "Labels", "Sprint", "Custom field (Story Points)",
                 "Custom field (Severity)", "Status Category", "Original estimate", "Time Spent", "Log Work"):
        assert name in header, name
    assert header.count("Components") >= 2 and header.count("Log Work") >= 2
    assert header[-2:] == ["Status Category", "Status Category Changed"]
    col = {h: header.index(h) for h in header}
    body = rows[1:]
    assert all(len(r) == len(header) for r in body)
    for r in body:
        for name in ("Created", "Updated", "Resolved"):
            assert r[col[name]] == "" or JIRA_CSV_TS.match(r[col[name]]), (name, r[col[name]])
        for name in ("Original estimate", "Remaining Estimate", "Time Spent"):
            assert r[col[name]] == "" or r[col[name]].isdigit()
        assert r[col["Status Category"]] in ("To Do", "In Progress", "Done")
        assert (r[col["Resolved"]] == "") == (r[col["Status Category"]] != "Done")
    logs = [c for r in body for i, c in enumerate(r) if header[i] == "Log Work" and c]
    assert logs and all(re.match(r"^[^;]*;\d{2}/\w{3}/\d{2} \d{1,2}:\d{2} [AP]M;[0-9a-f]{24};\d+$", c) for c in logs)
    resolutions = {r[col["Resolution"]] for r in body if r[col["Issue Type"]] == "Bug"}
    assert {"Fixed", "Won't Fix", "Duplicate", "Cannot Reproduce"} <= resolutions
    sev = {r[col["Custom field (Severity)"]] for r in body if r[col["Issue Type"]] == "Bug"}
    assert sev == {"S1-致命", "S2-严重", "S3-一般", "S4-轻微"}
    bugs = [r for r in body if r[col["Issue Type"]] == "Bug"]
    assert 140 <= len(bugs) <= 160
    assert len({c for r in bugs for i, c in enumerate(r) if header[i] == "Components" and c}) == 5


def test_erp_csv_imports_with_the_exact_counts(demo, dbcur):
    f = _file(demo, "ERP", "jira-csv")
    result = ingest_file(dbcur, f.path, project_key="ERP", fmt="jira-csv")
    assert result.rows == result.issues == f.counts["issues"]
    codes = {w["code"] for w in result.warnings}
    assert not codes & {"unmapped_status", "unmapped_type", "unmapped_resolution", "unparsable_dates",
                        "duplicate_keys", "done_date_from_updated"}, result.warnings
    got = dict(dbcur.execute("SELECT type, count(*) FROM issues WHERE project_key = 'ERP' GROUP BY 1").fetchall())
    assert got == {CSV_TYPE[t]: n for t, n in f.counts["by_type"].items()}
    assert dbcur.execute("SELECT sum(reopen_count) FROM issues WHERE project_key = 'ERP'").fetchone()[0] == \
        f.counts["reopened"]
    hours = dbcur.execute("SELECT count(*), sum(hours) FROM worklogs WHERE project_key = 'ERP'").fetchone()
    assert hours[0] > 300 and hours[1] > 4000


def test_twelve_months_up_to_today(demo, dbcur):
    for f in demo[1]:
        if f.fmt == "jira-csv":
            ingest_file(dbcur, f.path, project_key=f.project_key, fmt=f.fmt)
    for key in ("ERP", "OPS"):
        months = [r[0] for r in dbcur.execute(
            "SELECT DISTINCT strftime(timezone('Asia/Shanghai', created_at), '%Y-%m') FROM issues "
            "WHERE project_key = ? ORDER BY 1", [key]).fetchall()]
        assert months == MONTHS, key
    latest = dbcur.execute("SELECT max(greatest(created_at, updated_at, done_at)) FROM issues").fetchone()[0]
    assert latest < EXPORT_AT
    search = json.loads(_file(demo, "PAY", "jira-json").path.read_text(encoding="utf-8"))
    pay_months = {i["fields"]["created"][:7] for i in search["issues"]}
    assert pay_months <= set(MONTHS) and "2026-11" in pay_months


def test_module_int_defect_density_breaks_its_limit(demo, dbcur):
    f = _file(demo, "ERP", "jira-csv")
    ingest_file(dbcur, f.path, project_key="ERP", fmt="jira-csv")
    sizes = json.loads(f.settings["settings"]["module_size_kloc"])
    counts = dict(dbcur.execute(
        "SELECT c, count(*) FROM (SELECT unnest(components) AS c FROM issues WHERE project_key = 'ERP' "
        "AND type = 'bug' AND resolution_class IS DISTINCT FROM 'invalid') GROUP BY 1").fetchall())
    assert counts == f.counts["valid_bugs_by_module"]
    density = {m: counts[m] / kloc for m, kloc in sizes.items()}
    worst = max(density, key=density.get)
    assert worst == "INT 接口集成"
    assert all(density[worst] > 3 * d for m, d in density.items() if m != worst), density
    # beyond the u-chart limit (METRICS.md 8) the others stay within
    u = sum(counts.values()) / sum(sizes.values())
    ucl = {m: u + 3 * math.sqrt(u / sizes[m]) for m in sizes}
    assert density[worst] > ucl[worst]
    assert all(density[m] <= ucl[m] for m in sizes if m != worst)


def test_erp_rework_rises_then_falls_after_the_action(demo, dbcur):
    f = _file(demo, "ERP", "jira-csv")
    ingest_file(dbcur, f.path, project_key="ERP", fmt="jira-csv")
    rows = dbcur.execute("""
        SELECT strftime(timezone('Asia/Shanghai', w.started_at), '%Y-%m') AS m,
               sum(hours) FILTER (WHERE i.type = 'bug') / sum(hours)
        FROM worklogs w JOIN issues i USING (project_key, issue_key) WHERE project_key = 'ERP'
        GROUP BY 1 ORDER BY 1""").fetchall()
    share = {m: v or 0 for m, v in rows}
    peak = max(share, key=share.get)
    action = f.counts["pdca_action_month"]
    assert peak < action and share[peak] > 0.2
    assert share[MONTHS[1]] < 0.1 and share[action] < share[peak]
    later = [share[m] for m in MONTHS if m > action]
    assert later and max(later) < share[peak] / 2


def test_erp_schedule_slips_below_spi_0_9_then_recovers(demo, dbcur):
    """0/100 earned value of the baseline (WBS) tasks against their baseline due dates, month by month."""
    f = _file(demo, "ERP", "jira-csv")
    ingest_file(dbcur, f.path, project_key="ERP", fmt="jira-csv")
    spi = {}
    for m in MONTHS[:-1]:
        y, mo = map(int, m.split("-"))
        end = datetime(y + mo // 12, mo % 12 + 1, 1, tzinfo=generate.TZ)
        pv, ev = dbcur.execute(
            "SELECT sum(original_estimate_h) FILTER (WHERE due_at < $e), sum(original_estimate_h) FILTER "
            "(WHERE done_at < $e) FROM issues WHERE project_key = 'ERP' AND list_contains(labels, 'WBS')",
            {"e": end}).fetchone()
        spi[m] = ev / pv
    low = [m for m, v in spi.items() if v < 0.9]
    assert low and spi[MONTHS[0]] == 1.0
    assert max(spi[m] for m in spi if m > max(low)) >= 0.95
    assert f.settings["project"]["bac"] == f.counts["baseline_hours"] * f.settings["project"]["hourly_rate"]


# --- OPS: two monthly current-fields exports -----------------------------------------------------------

def test_ops_two_exports_of_the_same_issues_in_different_states(demo, dbcur):
    prev, now = [f for f in demo[1] if f.project_key == "OPS"]
    assert prev.path.read_bytes()[:3] == b"\xef\xbb\xbf"       # Cloud's current-fields export has a BOM
    a, b = _csv(prev.path), _csv(now.path)
    assert a[0] == b[0][:len(a[0])] and len(a[0]) <= 20 and "Issue key" in a[0] and "Issue id" in a[0]
    key, status = a[0].index("Issue key"), a[0].index("Status")
    before = {r[key]: r[status] for r in a[1:]}
    after = {r[key]: r[status] for r in b[1:]}
    assert set(before) < set(after)
    back = sorted(k for k in before if before[k] == "Done" and after[k] == "In Progress")
    assert back == now.counts["reopened_since_previous"] and len(back) >= 2
    assert sum(before[k] != after[k] for k in before) >= len(back) + 3

    r1 = ingest_file(dbcur, prev.path, project_key="OPS", fmt="jira-csv")
    r2 = ingest_file(dbcur, now.path, project_key="OPS", fmt="jira-csv")
    assert (r1.issues, r2.issues) == (prev.counts["issues"], now.counts["issues"])
    snaps = dbcur.execute("SELECT import_id, count(*) FROM issue_snapshots WHERE project_key = 'OPS' "
                          "GROUP BY 1 ORDER BY 1").fetchall()
    assert [n for _, n in snaps] == [r1.issues, r2.issues]
    moved = dbcur.execute("""
        SELECT count(*) FROM issue_snapshots a JOIN issue_snapshots b USING (project_key, issue_key)
        WHERE a.import_id = ? AND b.import_id = ? AND a.status_category = 'done' AND b.status_category = 'in_progress'
        """, [r1.import_id, r2.import_id]).fetchone()[0]
    assert moved == len(back)


# --- load_demo -------------------------------------------------------------------------------------------

def test_load_demo_imports_every_registered_format_and_applies_settings(tmp_path, dbcur):
    results = load_demo(dbcur, TODAY, tmp_path)
    files = write_demo_exports(tmp_path / "again", TODAY)
    expected = [f for f in files if f.fmt in ingest.FORMATS]
    assert [r.file_name for r in results] == [f.path.name for f in expected]
    assert all(not r.duplicate for r in results)
    projects = {r[0]: r[1:] for r in dbcur.execute(
        "SELECT project_key, name, size_kloc, size_fp, timezone, calendar, bac FROM projects").fetchall()}
    assert projects["ERP"][:5] == ("ERP 升级实施", 48.0, 600.0, "Asia/Shanghai", "CN") and projects["ERP"][5] > 0
    assert projects["OPS"][0] == "运维支持 Ops Support"
    sizes = dbcur.execute("SELECT value FROM settings WHERE project_key = 'ERP' AND name = 'module_size_kloc'"
                          ).fetchone()[0]
    assert json.loads(sizes)["INT 接口集成"] == 6.0
    audit = dbcur.execute("SELECT count(*) FROM audit_log WHERE action = 'settings'").fetchone()[0]
    assert audit == len(projects)
    # loading the same day's demo again changes nothing
    before = dbcur.execute("SELECT count(*) FROM issues").fetchone()[0]
    again = load_demo(dbcur, TODAY, tmp_path)
    assert all(r.duplicate for r in again)
    assert dbcur.execute("SELECT count(*) FROM issues").fetchone()[0] == before


def test_load_demo_skips_formats_without_an_adapter(tmp_path, dbcur, monkeypatch, caplog):
    monkeypatch.delitem(ingest.FORMATS, "jira-json", raising=False)
    monkeypatch.delitem(ingest.FORMATS, "jira-sprints-json", raising=False)
    with caplog.at_level(logging.WARNING, logger="demo"):
        results = load_demo(dbcur, TODAY, tmp_path)
    assert [r.project_key for r in results] == ["ERP", "OPS", "OPS"]
    assert "PAY_search_expand_changelog.json" in caplog.text and "jira-json" in caplog.text
    assert dbcur.execute("SELECT count(*) FROM projects WHERE project_key = 'PAY'").fetchone()[0] == 0


@needs_jira_json
def test_pay_json_imports_through_the_jira_json_adapter(demo, dbcur):
    f = _file(demo, "PAY", "jira-json")
    result = ingest_file(dbcur, f.path, project_key="PAY", fmt="jira-json")
    assert result.issues == f.counts["issues"]
    reopens = dbcur.execute("SELECT sum(reopen_count) FROM issues WHERE project_key = 'PAY'").fetchone()[0]
    assert reopens == f.counts["reopen_transitions"]
    sprints = dbcur.execute("SELECT name, state, start_at IS NOT NULL, end_at IS NOT NULL FROM sprints "
                            "WHERE project_key = 'PAY' ORDER BY start_at").fetchall()
    assert len(sprints) == f.counts["sprints"] and all(s[2] and s[3] for s in sprints)
    assert sprints[-1][:2] == (f.counts["active_sprint"], "active")
    if "jira-sprints-json" in ingest.FORMATS:
        b = _file(demo, "PAY", "jira-sprints-json")
        ingest_file(dbcur, b.path, project_key="PAY", fmt="jira-sprints-json")
        assert dbcur.execute("SELECT count(*) FROM sprints WHERE project_key = 'PAY'").fetchone()[0] == \
            b.counts["sprints"]
