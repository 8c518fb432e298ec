"""Rework effort ratio (METRICS.md §5b), change-driven rework, requirement change rate and stability (§5c):
worked examples whole, the rules around them, and each metric on the demo database against hand-written SQL."""
from __future__ import annotations

import math
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from metrics import REGISTRY, compute

TZ = ZoneInfo("Asia/Shanghai")
REWORK_COLUMNS = ["month", "basis", "h_total", "h_bug", "h_from_bug", "h_after_done", "h_rework", "rate"]
CHANGE_COLUMNS = ["month", "basis", "h_total", "h_change", "rate"]
REQ_COLUMNS = ["month", "added", "modified", "deleted", "changed", "cum_changed", "rate", "stability"]


def at(text: str) -> str:
    return f"{text}+08:00"


def rows(result):
    """Series records with NaN -> None and floats rounded to 4 places: rows compare whole."""
    out = []
    for rec in result.series.to_dict("records"):
        out.append({k: (None if isinstance(v, float) and math.isnan(v) else round(v, 4) if isinstance(v, float)
                        else v) for k, v in rec.items()})
    return out


@pytest.mark.parametrize("metric_id, names", [
    ("rework_effort", ("Rework effort ratio", "返工工作量占比", "%", "lower_is_better", "5b", ("month",))),
    ("change_rework", ("Change-driven rework", "变更引起的返工", "%", "lower_is_better", "5c", ("month",))),
    ("requirement_change_rate", ("Requirement change rate", "需求变更率", "%", "lower_is_better", "5c", ("month",))),
    ("requirement_stability", ("Requirement stability index", "需求稳定性指数", "%", "higher_is_better", "5c",
                               ("month",))),
])
def test_registry_entries(metric_id, names):
    m = REGISTRY[metric_id]
    assert (m.name_en, m.name_zh, m.unit, m.direction, m.section, m.params) == names


# --- Rework effort (§5b) ----------------------------------------------------------------------------------

def _zero_rows(months, basis="worklogs"):
    return [{"month": m, "basis": basis, "h_total": 0.0, "h_bug": 0.0, "h_from_bug": 0.0, "h_after_done": 0.0,
             "h_rework": 0.0, "rate": None} for m in months]


def test_rework_effort_worked_example(cur, load_json):
    load_json("rework_worked_example.json")
    r = compute("rework_effort", cur, project_key="RW5", month="2024-06")
    assert r.value == 0.15                                   # (120 + 30) / 1,000
    assert list(r.series.columns) == REWORK_COLUMNS
    months = ["2023-07", "2023-08", "2023-09", "2023-10", "2023-11", "2023-12", "2024-01", "2024-02", "2024-03",
              "2024-04"]
    assert rows(r) == _zero_rows(months) + [
        # BUG-1's 10 h of 05-31 23:30 local count in May (in UTC they are May too); its 8 h of 07-01 00:30 local
        # (06-30 in UTC) are July's.
        {"month": "2024-05", "basis": "worklogs", "h_total": 10.0, "h_bug": 10.0, "h_from_bug": 0.0,
         "h_after_done": 0.0, "h_rework": 10.0, "rate": 1.0},
        {"month": "2024-06", "basis": "worklogs", "h_total": 1000.0, "h_bug": 120.0, "h_from_bug": 0.0,
         "h_after_done": 30.0, "h_rework": 150.0, "rate": 0.15},
    ]
    assert (r.warnings, r.extra) == ([], {"month": "2024-06", "basis": "worklogs"})


def test_change_rework_worked_example(cur, load_json):
    load_json("rework_worked_example.json")
    r = compute("change_rework", cur, project_key="RW5", month="2024-06")
    assert r.value == 0.06                                   # 60 / 1,000
    assert list(r.series.columns) == CHANGE_COLUMNS
    assert rows(r)[-2:] == [
        {"month": "2024-05", "basis": "worklogs", "h_total": 10.0, "h_change": 0.0, "rate": 0.0},
        {"month": "2024-06", "basis": "worklogs", "h_total": 1000.0, "h_change": 60.0, "rate": 0.06},
    ]
    assert all(x["h_total"] == 0.0 and x["rate"] is None for x in rows(r)[:-2])
    assert r.warnings == []


def test_zentao_bug_derived_tasks_and_change_labels(cur, insert):
    """ZenTao: a task from a bug (label from_bug:BUG-n) is rework, its child task too; a requirement labelled
    Change Request is change work, and so is its sub-task; work on a bug-derived task after it was done counts
    once (as bug-derived)."""
    insert("issues", [
        {"issue_key": "TASK-1", "type": "task", "labels": ["from_bug:BUG-7"],
         "first_done_at": at("2024-06-05 10:00:00"), "done_at": at("2024-06-05 10:00:00")},
        {"issue_key": "TASK-2", "type": "subtask", "parent_key": "TASK-1", "labels": []},
        {"issue_key": "STORY-3", "type": "requirement", "labels": [" Change Request "]},
        {"issue_key": "TASK-4", "type": "subtask", "parent_key": "STORY-3", "labels": None},
        {"issue_key": "TASK-5", "type": "task", "labels": ["CCB已批准"]},
    ], project_key="ZT", created_at=at("2024-06-01 10:00:00"))
    insert("worklogs", [
        {"issue_key": "TASK-1", "started_at": at("2024-06-03 10:00:00"), "hours": 4.0},
        {"issue_key": "TASK-1", "started_at": at("2024-06-06 10:00:00"), "hours": 2.0},
        {"issue_key": "TASK-2", "started_at": at("2024-06-04 10:00:00"), "hours": 2.0},
        {"issue_key": "STORY-3", "started_at": at("2024-06-04 10:00:00"), "hours": 3.0},
        {"issue_key": "TASK-4", "started_at": at("2024-06-04 10:00:00"), "hours": 1.0},
        {"issue_key": "TASK-5", "started_at": at("2024-06-04 10:00:00"), "hours": 8.0},
        {"issue_key": "GONE-9", "started_at": at("2024-06-04 10:00:00"), "hours": 4.0},   # issue not imported
    ], project_key="ZT")
    r = compute("rework_effort", cur, project_key="ZT", month="2024-06")
    assert rows(r)[-1] == {"month": "2024-06", "basis": "worklogs", "h_total": 24.0, "h_bug": 0.0,
                           "h_from_bug": 8.0, "h_after_done": 0.0, "h_rework": 8.0, "rate": 0.3333}
    c = compute("change_rework", cur, project_key="ZT", month="2024-06")
    assert rows(c)[-1] == {"month": "2024-06", "basis": "worklogs", "h_total": 24.0, "h_change": 4.0,
                           "rate": 0.1667}


def test_without_worklogs_hours_come_from_time_spent_by_done_month(cur, insert):
    insert("issues", [
        {"issue_key": "BUG-1", "type": "bug", "time_spent_h": 10.0, "done_at": at("2024-06-10 10:00:00")},
        {"issue_key": "TASK-1", "type": "task", "labels": ["from_bug:BUG-1"], "time_spent_h": 6.0,
         "done_at": at("2024-06-12 10:00:00")},
        # A parent whose sub-tasks carry hours: its own figure (ZenTao: their sum) is left out (G6).
        {"issue_key": "TASK-2", "type": "task", "time_spent_h": 30.0, "done_at": at("2024-06-20 10:00:00")},
        {"issue_key": "TASK-3", "type": "subtask", "parent_key": "TASK-2", "time_spent_h": 20.0,
         "done_at": at("2024-06-18 10:00:00")},
        {"issue_key": "TASK-4", "type": "subtask", "parent_key": "TASK-2", "time_spent_h": 10.0,
         "done_at": at("2024-06-19 10:00:00")},
        {"issue_key": "CR-1", "type": "change", "time_spent_h": 14.0, "done_at": at("2024-06-25 10:00:00")},
        {"issue_key": "TASK-5", "type": "task", "time_spent_h": 40.0, "done_at": at("2024-07-01 00:30:00")},
        {"issue_key": "TASK-6", "type": "task", "time_spent_h": 9.0},                          # not done
    ], project_key="TS", created_at=at("2024-06-01 10:00:00"))
    r = compute("rework_effort", cur, project_key="TS", month="2024-06")
    assert rows(r)[-1] == {"month": "2024-06", "basis": "time_spent", "h_total": 60.0, "h_bug": 10.0,
                           "h_from_bug": 6.0, "h_after_done": None, "h_rework": 16.0, "rate": 0.2667}
    assert rows(r)[0] == {"month": "2023-07", "basis": "time_spent", "h_total": 0.0, "h_bug": 0.0,
                          "h_from_bug": 0.0, "h_after_done": None, "h_rework": 0.0, "rate": None}
    assert r.warnings == [{"code": "hours_from_time_spent"}]
    assert r.extra == {"month": "2024-06", "basis": "time_spent"}
    c = compute("change_rework", cur, project_key="TS", month="2024-06")
    assert (c.value, c.warnings) == (14 / 60, [{"code": "hours_from_time_spent"}])


def test_no_hours_in_the_month(cur, load_json):
    load_json("rework_worked_example.json")
    for metric_id in ("rework_effort", "change_rework"):
        r = compute(metric_id, cur, project_key="RW5", month="2024-04")
        assert (r.value, r.warnings) == (None, [{"code": "no_hours_in_period", "month": "2024-04"}])
        assert compute(metric_id, cur, project_key="NOBODY").warnings == [{"code": "no_data"}]


# --- Requirement change rate and stability (§5c) ----------------------------------------------------------

REQ_EXAMPLE = [
    {"month": "2024-03", "added": 0, "modified": 0, "deleted": 0, "changed": 0, "cum_changed": 0, "rate": 0.0,
     "stability": 1.0},
    {"month": "2024-04", "added": 2, "modified": 1, "deleted": 0, "changed": 3, "cum_changed": 3, "rate": 0.0375,
     "stability": 0.9625},
    {"month": "2024-05", "added": 2, "modified": 1, "deleted": 1, "changed": 4, "cum_changed": 7, "rate": 0.0875,
     "stability": 0.9125},
    {"month": "2024-06", "added": 2, "modified": 2, "deleted": 1, "changed": 5, "cum_changed": 12, "rate": 0.15,
     "stability": 0.85},
]
REQ_EXTRA = {"month": "2024-06", "baseline_date": "2024-03-31", "baseline": 80, "added": 6, "modified": 4,
             "deleted": 2}


def test_requirement_change_rate_worked_example(cur, load_json):
    load_json("requirement_change_worked_example.json")
    r = compute("requirement_change_rate", cur, project_key="RQ", month="2024-06")
    assert r.value == 12 / 80 == 0.15
    assert list(r.series.columns) == REQ_COLUMNS
    assert rows(r) == REQ_EXAMPLE
    assert (r.warnings, r.extra) == ([], REQ_EXTRA)


def test_requirement_stability_worked_example(cur, load_json):
    load_json("requirement_change_worked_example.json")
    r = compute("requirement_stability", cur, project_key="RQ", month="2024-06")
    assert r.value == pytest.approx(0.85)
    assert (rows(r), r.warnings, r.extra) == (REQ_EXAMPLE, [], REQ_EXTRA)


def test_requirement_changes_after_the_month_wait(cur, load_json):
    load_json("requirement_change_worked_example.json")
    r = compute("requirement_change_rate", cur, project_key="RQ", month="2024-07")
    # July: NEW-7 added, REQ-13 deleted (07-03), REQ-14 re-estimated (07-05).
    assert rows(r)[-1] == {"month": "2024-07", "added": 1, "modified": 1, "deleted": 1, "changed": 3,
                           "cum_changed": 15, "rate": 0.1875, "stability": 0.8125}
    r = compute("requirement_change_rate", cur, project_key="RQ", month="2024-02")
    assert (r.value, len(r.series)) == (None, 0)
    assert r.warnings == [{"code": "month_before_baseline", "month": "2024-02", "date": "2024-03-31"}]


def test_default_baseline_is_the_first_import(cur, insert):
    insert("issues", [
        {"issue_key": "S1", "created_at": at("2024-03-01 10:00:00"), "first_import_id": 4},
        {"issue_key": "S2", "created_at": at("2024-03-08 10:00:00"), "first_import_id": 4},
        {"issue_key": "S3", "created_at": at("2024-03-10 18:00:00"), "first_import_id": 4,
         "status_category": "done", "resolution_class": "valid_not_fixed", "done_at": at("2024-04-02 10:00:00")},
        {"issue_key": "S4", "created_at": at("2024-03-20 10:00:00"), "first_import_id": 5},
        {"issue_key": "B1", "type": "bug", "created_at": at("2024-03-12 10:00:00"), "first_import_id": 4},
    ], project_key="DB", type="story", status_category="todo")
    r = compute("requirement_change_rate", cur, project_key="DB", month="2024-04")
    # Baseline: the latest creation in import 4 (the bug, 03-12): S1, S2, S3. S4 added, S3 deleted.
    assert r.value == pytest.approx(2 / 3)
    assert r.warnings == [{"code": "requirement_baseline_default", "date": "2024-03-12"}]
    assert rows(r) == [
        {"month": "2024-03", "added": 1, "modified": 0, "deleted": 0, "changed": 1, "cum_changed": 1,
         "rate": 0.3333, "stability": 0.6667},
        {"month": "2024-04", "added": 0, "modified": 0, "deleted": 1, "changed": 1, "cum_changed": 2,
         "rate": 0.6667, "stability": 0.3333},
    ]
    insert("settings", [{"project_key": "*", "name": "requirement_baseline_date", "value": "2024/03/31"}])
    r = compute("requirement_change_rate", cur, project_key="DB", month="2024-04")
    assert r.warnings == [{"code": "setting_invalid", "name": "requirement_baseline_date", "value": "2024/03/31"},
                          {"code": "requirement_baseline_default", "date": "2024-03-12"}]


def test_no_baseline(cur, insert):
    insert("issues", [{"issue_key": "T1", "type": "task", "created_at": at("2024-03-01 10:00:00")}],
           project_key="NB")
    r = compute("requirement_change_rate", cur, project_key="NB", month="2024-03")
    assert (r.value, r.warnings) == (None, [{"code": "requirement_baseline_unknown"}])
    insert("settings", [{"project_key": "NB", "name": "requirement_baseline_date", "value": "2024-03-15"}])
    r = compute("requirement_stability", cur, project_key="NB", month="2024-03")
    assert (r.value, r.warnings) == (None, [{"code": "no_baseline_requirements", "date": "2024-03-15"}])
    assert compute("requirement_change_rate", cur, project_key="NOBODY").warnings == [{"code": "no_data"}]


# --- On the demo database ------------------------------------------------------------------------------------

DEMO_TODAY = date(2026, 11, 25)


@pytest.fixture(scope="module")
def demo_cur(tmp_path_factory):
    from demo import load_demo
    from store import db
    con = db.connect(":memory:")
    c = db.cursor(con)
    load_demo(c, DEMO_TODAY, tmp_path_factory.mktemp("demo"))
    yield c
    c.close()
    con.close()


def _bounds(month: str):
    y, m = map(int, month.split("-"))
    following = date(y + (m == 12), m % 12 + 1, 1)
    return (datetime.combine(date(y, m, 1), datetime.min.time(), TZ),
            datetime.combine(following, datetime.min.time(), TZ))


def test_rework_effort_on_the_demo_from_worklogs(demo_cur):
    cur = demo_cur
    pk, month = cur.execute(
        "SELECT project_key, strftime(timezone('Asia/Shanghai', started_at), '%Y-%m') AS m FROM worklogs"
        " GROUP BY ALL ORDER BY sum(hours) DESC, 1, 2 LIMIT 1").fetchone()
    s, e = _bounds(month)
    total, rework = cur.execute(
        """
        SELECT sum(w.hours),
               sum(w.hours) FILTER (WHERE coalesce(p.type, i.type) = 'bug'
                                    OR len(list_filter(coalesce(i.labels, []) || coalesce(p.labels, []),
                                                       lambda l: l LIKE 'from_bug:%')) > 0
                                    OR w.started_at >= coalesce(i.first_done_at, i.done_at)
                                    OR w.started_at >= coalesce(p.first_done_at, p.done_at))
        FROM worklogs w
        LEFT JOIN issues i ON i.project_key = w.project_key AND i.issue_key = w.issue_key
        LEFT JOIN issues p ON i.type = 'subtask' AND p.project_key = i.project_key AND p.issue_key = i.parent_key
        WHERE w.project_key = $pk AND w.started_at >= $s AND w.started_at < $e""",
        {"pk": pk, "s": s, "e": e}).fetchone()
    r = compute("rework_effort", cur, project_key=pk, month=month)
    assert total > 0 and rework > 0
    assert (r.extra["basis"], rows(r)[-1]["h_total"]) == ("worklogs", round(total, 4))
    assert r.value == pytest.approx(rework / total)


def test_rework_effort_on_the_demo_from_time_spent(demo_cur):
    cur = demo_cur
    without_logs = [p for (p,) in cur.execute(
        "SELECT project_key FROM projects WHERE project_key NOT IN (SELECT project_key FROM worklogs)"
        " ORDER BY 1").fetchall()]
    if not without_logs:
        pytest.skip("every demo project has work logs")
    leaf = """FROM issues i LEFT JOIN issues p ON i.type = 'subtask' AND p.project_key = i.project_key
                                          AND p.issue_key = i.parent_key
              WHERE i.project_key = $pk AND i.time_spent_h IS NOT NULL AND i.done_at >= $s AND i.done_at < $e
                AND NOT EXISTS (SELECT 1 FROM issues c WHERE c.project_key = i.project_key
                                AND c.parent_key = i.issue_key AND c.type = 'subtask' AND c.time_spent_h > 0)"""
    best = max(((pk, m) for pk in without_logs for (m,) in cur.execute(
        "SELECT DISTINCT strftime(timezone('Asia/Shanghai', done_at), '%Y-%m') FROM issues"
        " WHERE project_key = ? AND done_at IS NOT NULL", [pk]).fetchall()),
        key=lambda pm: cur.execute(
            f"SELECT coalesce(sum(i.time_spent_h), 0) {leaf}",
            {"pk": pm[0], "s": _bounds(pm[1])[0], "e": _bounds(pm[1])[1]}).fetchone()[0])
    pk, month = best
    s, e = _bounds(month)
    total, rework = cur.execute(
        f"""SELECT sum(i.time_spent_h),
                   sum(i.time_spent_h) FILTER (WHERE coalesce(p.type, i.type) = 'bug'
                       OR len(list_filter(coalesce(i.labels, []) || coalesce(p.labels, []),
                                          lambda l: l LIKE 'from_bug:%')) > 0) {leaf}""",
        {"pk": pk, "s": s, "e": e}).fetchone()
    r = compute("rework_effort", cur, project_key=pk, month=month)
    assert total > 0
    assert r.extra["basis"] == "time_spent" and r.warnings == [{"code": "hours_from_time_spent"}]
    assert r.value == pytest.approx((rework or 0) / total)


def test_change_rework_on_the_demo(demo_cur):
    cur = demo_cur
    change_words = ["change request", "change-request", "change_request", "changerequest", "cr", "变更",
                    "变更请求", "需求变更", "变更单"]
    for (pk,) in cur.execute("SELECT project_key FROM worklogs GROUP BY 1 ORDER BY 1").fetchall():
        month = cur.execute("SELECT strftime(timezone('Asia/Shanghai', max(started_at)), '%Y-%m') FROM worklogs"
                            " WHERE project_key = ?", [pk]).fetchone()[0]
        s, e = _bounds(month)
        total, change = cur.execute(
            """SELECT sum(w.hours), coalesce(sum(w.hours) FILTER (WHERE coalesce(p.type, i.type) = 'change'
                       OR list_has_any(list_transform(coalesce(i.labels, []) || coalesce(p.labels, []),
                                                      lambda l: lower(trim(l))), $words)), 0)
               FROM worklogs w
               LEFT JOIN issues i ON i.project_key = w.project_key AND i.issue_key = w.issue_key
               LEFT JOIN issues p ON i.type = 'subtask' AND p.project_key = i.project_key
                                     AND p.issue_key = i.parent_key
               WHERE w.project_key = $pk AND w.started_at >= $s AND w.started_at < $e""",
            {"pk": pk, "s": s, "e": e, "words": change_words}).fetchone()
        r = compute("change_rework", cur, project_key=pk, month=month)
        assert (rows(r)[-1]["h_total"], rows(r)[-1]["h_change"]) == (round(total, 4), round(change, 4))
        assert r.value == pytest.approx(change / total)


def test_requirement_change_rate_on_the_demo(demo_cur):
    cur = demo_cur
    # The project whose requirements arrived over two imports: the first one is the default baseline.
    pk = cur.execute(
        "SELECT project_key FROM issues WHERE type IN ('story', 'requirement') GROUP BY 1"
        " ORDER BY count(DISTINCT first_import_id) DESC, count(*) DESC, 1 LIMIT 1").fetchone()[0]
    base = cur.execute(
        "SELECT max(created_at) FROM issues WHERE project_key = $pk AND first_import_id ="
        " (SELECT min(first_import_id) FROM issues WHERE project_key = $pk)", {"pk": pk}).fetchone()[0]
    as_of = _bounds("2026-11")[1]
    baseline, added, deleted = cur.execute(
        """SELECT count(*) FILTER (WHERE created_at <= $b AND NOT (resolution_class IN ('invalid', 'valid_not_fixed')
                                                                   AND coalesce(done_at <= $b, false))),
                  count(*) FILTER (WHERE created_at > $b AND created_at < $t),
                  count(*) FILTER (WHERE created_at <= $b AND resolution_class IN ('invalid', 'valid_not_fixed')
                                   AND done_at > $b AND done_at < $t)
           FROM issues WHERE project_key = $pk AND type IN ('story', 'requirement')""",
        {"pk": pk, "b": base, "t": as_of}).fetchone()
    modified = cur.execute(
        """SELECT count(DISTINCT c.issue_key) FROM changes c JOIN issues i USING (project_key, issue_key)
           WHERE c.project_key = $pk AND i.type IN ('story', 'requirement') AND i.created_at <= $b
             AND c.field IN ('story_points', 'original_estimate_h', 'title', 'summary')
             AND c.changed_at > $b AND c.changed_at < $t AND nullif(trim(c.from_value), '') IS NOT NULL
             AND c.from_value IS DISTINCT FROM c.to_value
             AND NOT (coalesce(i.resolution_class IN ('invalid', 'valid_not_fixed'), false) AND i.done_at > $b
                      AND i.done_at < $t)""",
        {"pk": pk, "b": base, "t": as_of}).fetchone()[0]
    r = compute("requirement_change_rate", cur, project_key=pk, month="2026-11")
    assert baseline > 0
    assert (r.extra["baseline"], r.extra["added"], r.extra["modified"], r.extra["deleted"]) == (
        baseline, added, modified, deleted)
    assert r.value == pytest.approx((added + modified + deleted) / baseline)
    assert compute("requirement_stability", cur, project_key=pk, month="2026-11").value == pytest.approx(1 - r.value)


def test_every_new_rework_metric_runs_on_every_demo_project(demo_cur):
    projects = [p for (p,) in demo_cur.execute("SELECT project_key FROM projects ORDER BY 1").fetchall()]
    assert projects
    for pk in projects:
        for metric_id in ("rework_effort", "change_rework", "requirement_change_rate", "requirement_stability"):
            r = compute(metric_id, demo_cur, project_key=pk)
            assert r.value is not None or r.warnings, (pk, metric_id)
