"""Sprint burndown (METRICS.md §1.1): the worked example day by day, and the edge rules."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from metrics import REGISTRY, compute
from metrics.burndown import SIGN, sprint_windows
from metrics.burndown import burndown as burndown_at

CN = timezone(timedelta(hours=8))
DAYS = [date(2024, 6, 3) + timedelta(days=i) for i in range(12)]   # 06-03 .. 06-14


def at(text: str) -> str:
    """A Shanghai wall-clock time, as the importers would store it (TIMESTAMPTZ)."""
    return f"{text}+08:00"


def burndown(cur, project_key="PUL", **params):
    if "now" in params:   # the registry passes declared parameters only; the clock is a test hook
        return burndown_at(cur, project_key=project_key, **params)
    return compute("burndown", cur, project_key=project_key, **params)


def event_rows(result):
    ev = result.extra["events"]
    return [(r.issue_key, r.day, r.type, r.delta, r.cause) for r in ev.itertuples()]


def assert_identity(result):
    """R(d) = C0 + ΣSCOPE+ − ΣSCOPE− − ΣBURNDOWN + ΣREOPEN, for every day of the series."""
    ev = result.extra["events"]
    for row in result.series.itertuples():
        upto = ev[ev["day"] <= row.day]
        signed = sum(SIGN[t] * d for t, d in zip(upto["type"], upto["delta"]))
        assert row.remaining == pytest.approx(result.extra["committed"] + signed), row.day


def test_registry_entry():
    m = REGISTRY["burndown"]
    assert (m.name_en, m.name_zh, m.unit, m.direction, m.section) == (
        "Sprint burndown", "迭代燃尽图", "points", "lower_is_better", "1.1")
    assert m.params == ("sprint", "statistic", "mode")


def test_worked_example_points(cur, load_json):
    load_json("burndown_worked_example.json")
    r = burndown(cur, sprint="Sprint 1")

    s = r.series
    assert list(s.columns) == ["day", "remaining", "guideline", "done", "scope",
                               "burndown", "reopen", "scope_plus", "scope_minus", "is_workday"]
    assert list(s["day"]) == DAYS
    assert [round(x, 2) for x in s["remaining"]] == [16, 11, 14, 16, 11, 11, 11, 11, 16, 11, 8, 8]
    assert [round(x, 2) for x in s["guideline"]] == [
        14.22, 12.44, 10.67, 8.89, 7.11, 7.11, 7.11, 7.11, 5.33, 3.56, 1.78, 0]
    assert list(s["is_workday"]) == [True] * 5 + [False] * 3 + [True] * 4
    assert list(s["done"]) == [0, 5, 5, 5, 10, 10, 10, 10, 5, 10, 10, 10]
    assert list(s["scope"]) == [16, 16, 19, 21, 21, 21, 21, 21, 21, 21, 18, 18]
    assert list(s["burndown"]) == [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0]
    assert list(s["reopen"]) == [0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]
    assert list(s["scope_plus"]) == [0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert list(s["scope_minus"]) == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]

    # C0 = A5 + B3 + C8: D (done 05-31), sub-task E and the epic are not in it.
    assert r.extra["committed"] == 16
    assert r.value == 8
    assert event_rows(r) == [
        ("A", date(2024, 6, 4), "burndown", 5, "status"),
        ("F", date(2024, 6, 5), "scope_plus", 3, "membership"),
        ("B", date(2024, 6, 6), "scope_plus", 2, "estimate"),
        ("B", date(2024, 6, 7), "burndown", 5, "status"),
        ("A", date(2024, 6, 11), "reopen", 5, "status"),
        ("A", date(2024, 6, 12), "burndown", 5, "status"),
        ("F", date(2024, 6, 13), "scope_minus", 3, "membership"),
    ]
    assert_identity(r)
    # 16 + (3+2) − 3 − (5+5+5) + 5 = 8
    ev = r.extra["events"]
    totals = ev.groupby("type")["delta"].sum().to_dict()
    assert totals == {"scope_plus": 5, "scope_minus": 3, "burndown": 15, "reopen": 5}
    # Burnup at the end: Scope 18, Done 10.
    assert (s["scope"].iloc[-1], s["done"].iloc[-1]) == (18, 10)
    # §2's bucket identity: Committed + Added − Removed + ΔEst = Completed + NotCompleted (16+3−3+2 = 10+8).
    assert r.extra["summary"] == {"committed": 16, "added": 3, "removed": 3, "estimate_change": 2,
                                  "burndown": 15, "reopen": 5, "completed": 10, "not_completed": 8}
    assert (r.extra["coverage"], r.extra["in_scope"], r.extra["estimated"]) == (1.0, 4, 4)
    assert r.warnings == []
    sp = r.extra["sprint"]
    assert (sp["name"], sp["inferred"], sp["start_at"], sp["axis_end"]) == (
        "Sprint 1", False, datetime(2024, 6, 3, 9, tzinfo=CN), datetime(2024, 6, 14, 18, tzinfo=CN))
    assert (r.extra["statistic"], r.extra["unit"], r.extra["mode"]) == ("points", "points", "jira")


def test_worked_example_issue_count(cur, load_json):
    load_json("burndown_worked_example.json")
    r = burndown(cur, sprint="Sprint 1", statistic="count")
    assert list(r.series["remaining"]) == [3, 2, 3, 3, 2, 2, 2, 2, 3, 2, 1, 1]
    assert [round(x, 2) for x in r.series["guideline"]] == [
        2.67, 2.33, 2.0, 1.67, 1.33, 1.33, 1.33, 1.33, 1.0, 0.67, 0.33, 0]
    assert r.extra["committed"] == 3
    # A re-estimate changes no count: no estimate event.
    assert [(k, t) for k, _, t, _, _ in event_rows(r)] == [
        ("A", "burndown"), ("F", "scope_plus"), ("B", "burndown"), ("A", "reopen"), ("A", "burndown"),
        ("F", "scope_minus")]
    assert (r.series["done"].iloc[-1], r.extra["unit"]) == (2, "issues")
    assert_identity(r)


def test_default_sprint_is_the_active_one(cur, load_json, insert):
    load_json("burndown_worked_example.json")
    insert("sprints", [{"name": "Sprint 2", "state": "active", "start_at": at("2024-06-17 09:00:00"),
                        "end_at": at("2024-06-28 18:00:00")}], project_key="PUL")
    assert burndown(cur).extra["sprint"]["name"] == "Sprint 2"
    cur.execute("UPDATE sprints SET state = 'future' WHERE name = 'Sprint 2'")
    # No active sprint: the latest one that has issues (Sprint 2 has none).
    assert burndown(cur).extra["sprint"]["name"] == "Sprint 1"


def test_active_sprint_stops_at_now(cur, load_json):
    load_json("burndown_worked_example.json")
    cur.execute("UPDATE sprints SET state = 'active', completed_at = NULL")
    r = burndown(cur, now=datetime(2024, 6, 11, 12, tzinfo=CN))
    # The axis still runs to the planned end (the guideline is whole); days to come are blank.
    assert list(r.series["day"]) == DAYS
    assert [None if x != x else x for x in r.series["remaining"]] == [
        16, 11, 14, 16, 11, 11, 11, 11, 16, None, None, None]
    assert round(r.series["guideline"].iloc[-1], 2) == 0 and r.value == 16
    assert r.extra["sprint"]["data_end"] == datetime(2024, 6, 11, 12, tzinfo=CN)
    assert_identity(r.__class__(r.value, r.series.iloc[:9], r.warnings, r.extra))


def test_overrunning_active_sprint_runs_past_planned_end(cur, load_json):
    load_json("burndown_worked_example.json")
    cur.execute("UPDATE sprints SET state = 'active', completed_at = NULL")
    r = burndown(cur, now=datetime(2024, 6, 18, 12, tzinfo=CN))
    assert r.series["day"].iloc[-1] == date(2024, 6, 18)
    # C (8) finishes 06-17, after the planned end but inside the still-open sprint.
    assert list(r.series["remaining"])[-6:] == [8, 8, 8, 8, 0, 0]   # 06-13 .. 06-18
    assert list(r.series["guideline"])[-4:] == [0, 0, 0, 0]
    assert (r.value, r.series["done"].iloc[-1], r.series["scope"].iloc[-1]) == (0, 18, 18)
    assert_identity(r)


@pytest.fixture
def invalid_in_sprint(cur, load_json, insert):
    """The worked example plus G (2 points) committed, then resolved INVALID on 06-06."""
    load_json("burndown_worked_example.json")
    insert("issues", [{"issue_key": "G", "type": "story", "status_category": "done",
                       "resolution_class": "invalid", "story_points": 2,
                       "created_at": at("2024-05-20 10:00:00"), "done_at": at("2024-06-06 12:00:00"),
                       "sprints": ["Sprint 1"], "reopen_count": 0}], project_key="PUL")
    insert("changes", [
        {"issue_key": "G", "changed_at": at("2024-05-30 10:00:00"), "field": "sprint",
         "from_value": "[]", "to_value": '["Sprint 1"]'},
        {"issue_key": "G", "changed_at": at("2024-06-06 12:00:00"), "field": "status_category",
         "from_value": "todo", "to_value": "done"},
        {"issue_key": "G", "changed_at": at("2024-06-06 12:00:00"), "field": "resolution_class",
         "from_value": None, "to_value": "invalid"},
    ], project_key="PUL")


def test_invalid_resolution_jira_mode_is_burndown(cur, invalid_in_sprint):
    r = burndown(cur, sprint="Sprint 1", mode="jira")
    assert r.extra["committed"] == 18
    assert list(r.series["remaining"]) == [18, 13, 16, 16, 11, 11, 11, 11, 16, 11, 8, 8]
    assert ("G", date(2024, 6, 6), "burndown", 2, "status") in event_rows(r)
    # G reached the done column: it counts as completed in the burnup.
    assert (r.series["done"].iloc[-1], r.series["scope"].iloc[-1]) == (12, 20)
    assert_identity(r)


def test_invalid_resolution_strict_mode_is_scope_minus(cur, invalid_in_sprint):
    r = burndown(cur, sprint="Sprint 1", mode="strict")
    # Remaining is the same line; only the event's type (and the burnup) differ.
    assert list(r.series["remaining"]) == [18, 13, 16, 16, 11, 11, 11, 11, 16, 11, 8, 8]
    assert [round(x, 2) for x in r.series["guideline"]] == [
        16.0, 14.0, 12.0, 10.0, 8.0, 8.0, 8.0, 8.0, 6.0, 4.0, 2.0, 0]
    g = [row for row in event_rows(r) if row[0] == "G"]
    assert g == [("G", date(2024, 6, 6), "scope_minus", 2, "status")]
    assert list(r.series["scope_minus"])[3] == 1 and list(r.series["burndown"])[3] == 0
    assert (r.series["done"].iloc[-1], r.series["scope"].iloc[-1]) == (10, 18)
    assert r.extra["summary"]["removed"] == 3 + 2
    assert_identity(r)


def test_mode_from_settings(cur, invalid_in_sprint, insert):
    insert("settings", [{"project_key": "PUL", "name": "burndown_mode", "value": "strict"}])
    r = burndown(cur, sprint="Sprint 1")
    assert (r.extra["mode"], r.warnings) == ("strict", [])
    assert [row for row in event_rows(r) if row[0] == "G"] == [("G", date(2024, 6, 6), "scope_minus", 2, "status")]
    # An explicit parameter beats the setting; a bad setting falls back to jira and says so.
    assert burndown(cur, sprint="Sprint 1", mode="jira").extra["mode"] == "jira"
    cur.execute("UPDATE settings SET value = 'lenient'")
    r = burndown(cur, sprint="Sprint 1")
    assert (r.extra["mode"], r.warnings) == (
        "jira", [{"code": "setting_invalid", "name": "burndown_mode", "value": "lenient"}])


def test_fallback_without_history(cur, insert):
    """CSV-like data: sprint dates known, no changes at all. Hand-worked:
    C0 = A5 + C8 = 13 (D done 05-31 is out; H is unestimated: 0 points but in scope);
    06-05 A done −5 → 8; 06-06 B (3) created after start → added, 11; 06-12 B done −3 → 8."""
    insert("projects", [{"project_key": "CSV", "timezone": "Asia/Shanghai", "calendar": "CN"}])
    insert("sprints", [{"name": "S1", "state": "closed", "start_at": at("2024-06-03 09:00:00"),
                        "end_at": at("2024-06-14 18:00:00"), "completed_at": at("2024-06-14 18:00:00")}],
           project_key="CSV")
    insert("issues", [
        {"issue_key": "A", "story_points": 5, "created_at": at("2024-05-20 10:00:00"),
         "status_category": "done", "resolution_class": "delivered", "done_at": at("2024-06-05 15:00:00")},
        {"issue_key": "B", "story_points": 3, "created_at": at("2024-06-06 10:00:00"),
         "status_category": "done", "resolution_class": "delivered", "done_at": at("2024-06-12 11:00:00")},
        {"issue_key": "C", "story_points": 8, "created_at": at("2024-05-21 10:00:00"),
         "status_category": "in_progress"},
        {"issue_key": "D", "story_points": 2, "created_at": at("2024-05-10 10:00:00"),
         "status_category": "done", "resolution_class": "delivered", "done_at": at("2024-05-31 17:00:00")},
        {"issue_key": "H", "story_points": None, "created_at": at("2024-05-22 10:00:00"),
         "status_category": "todo"},
    ], project_key="CSV", type="story", sprints=["S1"])
    r = burndown(cur, project_key="CSV")

    assert r.extra["sprint"]["name"] == "S1"
    assert list(r.series["remaining"]) == [13, 13, 8, 11, 11, 11, 11, 11, 11, 8, 8, 8]
    assert [round(x, 2) for x in r.series["guideline"]] == [
        11.56, 10.11, 8.67, 7.22, 5.78, 5.78, 5.78, 5.78, 4.33, 2.89, 1.44, 0]
    assert r.extra["committed"] == 13
    assert event_rows(r) == [
        ("A", date(2024, 6, 5), "burndown", 5, "status"),
        ("B", date(2024, 6, 6), "scope_plus", 3, "membership"),
        ("B", date(2024, 6, 12), "burndown", 3, "status"),
    ]
    assert (r.series["done"].iloc[-1], r.series["scope"].iloc[-1], r.value) == (8, 16, 8)
    assert_identity(r)
    assert r.warnings == [{"code": "burndown_no_history"},
                          {"code": "unestimated_issues", "count": 1, "in_scope": 4}]
    assert r.extra["coverage"] == 0.75


@pytest.fixture
def csv_sprints(cur, insert):
    """Sprint names only (no sprints rows). X is listed in two sprints and is the earliest member of
    both, so the order falls to the natural name order: Sprint 9 before Sprint 10."""
    insert("projects", [{"project_key": "INF"}])
    insert("issues", [
        {"issue_key": "X", "story_points": 3, "created_at": at("2024-03-01 10:00:00"),
         "sprints": ["Sprint 9", "Sprint 10"], "status_category": "done", "done_at": at("2024-03-20 11:00:00")},
        {"issue_key": "Y", "story_points": 1, "created_at": at("2024-03-02 10:00:00"),
         "sprints": ["Sprint 9"], "status_category": "done", "done_at": at("2024-03-12 14:00:00")},
        {"issue_key": "Z", "story_points": 2, "created_at": at("2024-03-15 10:00:00"),
         "sprints": ["Sprint 10"], "status_category": "done", "done_at": at("2024-03-25 16:00:00")},
        {"issue_key": "W", "story_points": 5, "created_at": at("2024-03-26 10:00:00"),
         "sprints": ["Sprint 11"], "status_category": "todo"},
    ], project_key="INF", type="story", resolution_class=None)
    cur.execute("UPDATE issues SET resolution_class = 'delivered' WHERE status_category = 'done'")


def test_sprint_dates_inferred(cur, csv_sprints):
    got = [(w["name"], w["start_at"], w["end_at"], w["completed_at"], w["inferred"])
           for w in sprint_windows(cur, "INF")]
    t = lambda *a: datetime(2024, *a, tzinfo=CN)  # noqa: E731
    assert got == [
        # first sprint: earliest member created 03-01 10:00; it starts at the end of that (planning) day
        ("Sprint 9", t(3, 2, 0), t(3, 12, 14), t(3, 12, 14), True),
        # end = latest done_at of issues whose LAST listed sprint it is (X 03-20, Z 03-25 16:00)
        ("Sprint 10", t(3, 12, 14), t(3, 25, 16), t(3, 25, 16), True),
        # no issue finished there: start + 14 days, planned only (not known to be completed)
        ("Sprint 11", t(3, 25, 16), t(4, 8, 16), None, True),
    ]


def test_first_inferred_sprint_commits_what_was_planned_on_its_first_day(cur, csv_sprints):
    """X (created 03-01, the planning day) is committed; Y, created 03-02 after the start, is added."""
    r = burndown(cur, project_key="INF", sprint="Sprint 9")
    assert r.extra["committed"] == 3
    assert event_rows(r) == [("Y", date(2024, 3, 2), "scope_plus", 1, "membership"),
                             ("Y", date(2024, 3, 12), "burndown", 1, "status")]
    assert_identity(r)


def test_inferred_sprint_burndown(cur, csv_sprints):
    r = burndown(cur, project_key="INF", sprint="Sprint 10")
    assert r.warnings == [{"code": "sprint_dates_inferred", "sprint": "Sprint 10"},
                          {"code": "burndown_no_history"}]
    # X (created before the start) is committed; Z, created 03-15, is added; both finish.
    assert r.extra["committed"] == 3
    assert r.series["day"].iloc[0] == date(2024, 3, 12) and r.series["day"].iloc[-1] == date(2024, 3, 25)
    assert list(r.series["remaining"]) == [3, 3, 3, 5, 5, 5, 5, 5, 2, 2, 2, 2, 2, 0]
    assert event_rows(r) == [("Z", date(2024, 3, 15), "scope_plus", 2, "membership"),
                             ("X", date(2024, 3, 20), "burndown", 3, "status"),
                             ("Z", date(2024, 3, 25), "burndown", 2, "status")]
    assert_identity(r)


def test_default_sprint_inferred_latest_with_issues(cur, csv_sprints):
    r = burndown(cur, project_key="INF")
    assert r.extra["sprint"]["name"] == "Sprint 11"
    assert r.warnings == [{"code": "sprint_dates_inferred", "sprint": "Sprint 11"},
                          {"code": "burndown_no_history"}]
    assert r.extra["committed"] == 0 and r.value == 5
    assert len(r.series) == 15 and set(r.series["guideline"]) == {0.0}


def test_no_sprints(cur, insert):
    insert("issues", [{"issue_key": "A", "type": "story", "story_points": 1}], project_key="NOS")
    r = burndown(cur, project_key="NOS")
    assert (r.value, r.warnings, len(r.series), len(r.extra["events"])) == (None, [{"code": "no_sprints"}], 0, 0)


def test_unknown_sprint(cur, load_json):
    load_json("burndown_worked_example.json")
    r = burndown(cur, sprint="Nope")
    assert (r.value, r.warnings) == (None, [{"code": "sprint_not_found", "sprint": "Nope"}])


def test_bad_parameters_are_refused(cur):
    with pytest.raises(ValueError):
        burndown(cur, statistic="days")
    with pytest.raises(ValueError):
        burndown(cur, mode="lenient")


def test_hours_leaf_level(cur, insert):
    """Hours (G6): P's own 20 h is dropped because its sub-tasks carry estimates; sub-tasks follow P's
    sprint. S: remaining 10 → 6 (06-04, work = burndown), done 06-05. ST1: 4 h remaining, no history.
    ST2: original 2 h, no remaining history, 1.5 h logged 06-04 → max(0, 2 − 1.5) = 0.5."""
    insert("projects", [{"project_key": "HRS", "calendar": "CN"}])
    insert("sprints", [{"name": "H1", "state": "closed", "start_at": at("2024-06-03 09:00:00"),
                        "end_at": at("2024-06-07 18:00:00"), "completed_at": at("2024-06-07 18:00:00")}],
           project_key="HRS")
    insert("issues", [
        {"issue_key": "S", "type": "story", "original_estimate_h": 10, "remaining_estimate_h": 0,
         "status_category": "done", "done_at": at("2024-06-05 12:00:00"), "sprints": ["H1"]},
        {"issue_key": "P", "type": "story", "original_estimate_h": 20, "remaining_estimate_h": 20,
         "status_category": "in_progress", "sprints": ["H1"]},
        {"issue_key": "ST1", "type": "subtask", "parent_key": "P", "remaining_estimate_h": 4,
         "status_category": "in_progress", "sprints": []},
        {"issue_key": "ST2", "type": "subtask", "parent_key": "P", "original_estimate_h": 2,
         "status_category": "in_progress", "sprints": []},
    ], project_key="HRS", created_at=at("2024-05-30 09:00:00"))
    insert("changes", [
        {"issue_key": "S", "changed_at": at("2024-05-30 10:00:00"), "field": "sprint",
         "from_value": "[]", "to_value": '["H1"]'},
        {"issue_key": "P", "changed_at": at("2024-05-30 10:00:00"), "field": "sprint",
         "from_value": "[]", "to_value": '["H1"]'},
        {"issue_key": "S", "changed_at": at("2024-06-04 12:00:00"), "field": "remaining_estimate_h",
         "from_value": "10", "to_value": "6"},
        {"issue_key": "S", "changed_at": at("2024-06-05 12:00:00"), "field": "status_category",
         "from_value": "in_progress", "to_value": "done"},
    ], project_key="HRS")
    insert("worklogs", [{"issue_key": "ST2", "started_at": at("2024-06-04 10:00:00"), "hours": 1.5}],
           project_key="HRS")
    r = burndown(cur, project_key="HRS", statistic="hours")
    assert r.extra["committed"] == 16
    assert list(r.series["remaining"]) == [16, 10.5, 4.5, 4.5, 4.5]
    assert [round(x, 2) for x in r.series["guideline"]] == [12.8, 9.6, 6.4, 3.2, 0]
    assert event_rows(r) == [("ST2", date(2024, 6, 4), "burndown", 1.5, "estimate"),
                             ("S", date(2024, 6, 4), "burndown", 4, "estimate"),
                             ("S", date(2024, 6, 5), "burndown", 6, "status")]
    assert (r.extra["unit"], r.extra["coverage"], r.warnings) == ("hours", 1.0, [])
    assert_identity(r)
