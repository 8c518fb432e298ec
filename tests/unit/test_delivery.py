"""Delivery metrics (METRICS.md §1.1 burnup, §1.2 release burndown, §2 velocity, say/do, throughput):
every worked example exactly, the bucket identity on our fixtures, the real Jira sample and the demo."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone

import pytest

from metrics import REGISTRY, compute
from metrics.delivery import (BURNUP_COLUMNS, RELEASE_COLUMNS, SAY_DO_COLUMNS, THROUGHPUT_COLUMNS,
                              VELOCITY_COLUMNS)
from metrics.delivery import burnup as burnup_at
from tests.samples import sample
from tests.unit.test_burndown import invalid_in_sprint  # noqa: F401  (a fixture: G resolved INVALID 06-06)

CN = timezone(timedelta(hours=8))
DAYS = [date(2024, 6, 3) + timedelta(days=i) for i in range(12)]   # 06-03 .. 06-14


def at(text: str) -> str:
    return f"{text}+08:00"


def chg(key: str, when: str, field: str, before, after) -> dict:
    """A `changes` row at a Shanghai wall-clock time."""
    return {"issue_key": key, "changed_at": at(when), "field": field, "from_value": before, "to_value": after}


def run(cur, metric, project_key="PUL", **params):
    return compute(metric, cur, project_key=project_key, **params)


def rows(df, columns=None):
    """Whole rows as tuples, floats rounded to 4 places (G8: display rounding only)."""
    def val(v):
        return round(v, 4) if isinstance(v, float) and not math.isnan(v) else v
    return [tuple(val(v) for v in r) for r in (df[columns] if columns else df).itertuples(index=False)]


def assert_bucket_identity(series):
    """Committed + Added − Removed + ΔEst = Completed + NotCompleted, for every sprint row (METRICS.md 2)."""
    for r in series.itertuples():
        assert r.committed + r.added - r.removed + r.estimate_change == pytest.approx(
            r.completed + r.not_completed, abs=1e-9), r.sprint


def test_registry_entries():
    got = {m: (REGISTRY[m].name_en, REGISTRY[m].name_zh, REGISTRY[m].unit, REGISTRY[m].direction,
               REGISTRY[m].section, REGISTRY[m].params)
           for m in ("burnup", "velocity", "say_do", "throughput", "release_burndown")}
    assert got == {
        "burnup": ("Sprint burnup", "燃起图", "points", "higher_is_better", "1.1", ("sprint", "statistic", "mode")),
        "velocity": ("Velocity", "速率", "points/sprint", "higher_is_better", "2", ("month", "statistic", "mode")),
        "say_do": ("Say/Do ratio", "承诺完成率", "%", "higher_is_better", "2", ("month", "statistic", "mode")),
        "throughput": ("Throughput", "吞吐量", "issues/month", "higher_is_better", "2", ("month", "period")),
        "release_burndown": ("Release burndown", "发布燃尽图", "sprints", "lower_is_better", "1.2",
                             ("release", "statistic", "mode")),
    }


# --- §1.1 burnup -----------------------------------------------------------------------------------------

def test_burnup_worked_example(cur, load_json):
    load_json("burndown_worked_example.json")
    r = run(cur, "burnup", sprint="Sprint 1")
    assert list(r.series.columns) == BURNUP_COLUMNS
    assert rows(r.series) == [
        # day        scope done remaining workday
        (DAYS[0], 16.0, 0.0, 16.0, True),
        (DAYS[1], 16.0, 5.0, 11.0, True),     # A done
        (DAYS[2], 19.0, 5.0, 14.0, True),     # F (3) added
        (DAYS[3], 21.0, 5.0, 16.0, True),     # B 3 -> 5
        (DAYS[4], 21.0, 10.0, 11.0, True),    # B done
        (DAYS[5], 21.0, 10.0, 11.0, False),
        (DAYS[6], 21.0, 10.0, 11.0, False),
        (DAYS[7], 21.0, 10.0, 11.0, False),   # Dragon Boat
        (DAYS[8], 21.0, 5.0, 16.0, True),     # A reopened: the completed line drops
        (DAYS[9], 21.0, 10.0, 11.0, True),    # A done again
        (DAYS[10], 18.0, 10.0, 8.0, True),    # F removed
        (DAYS[11], 18.0, 10.0, 8.0, True),
    ]
    # At the end: Scope 18, Done 10; value = completed.
    assert (r.series["scope"].iloc[-1], r.series["done"].iloc[-1], r.value) == (18, 10, 10)
    assert (r.warnings, r.extra["committed"], r.extra["unit"]) == ([], 16, "points")
    # One computation with the burndown: the same remaining line, day by day.
    bd = run(cur, "burndown", sprint="Sprint 1")
    assert list(bd.series["remaining"]) == list(r.series["remaining"])


def test_burnup_active_sprint_days_to_come_are_blank(cur, load_json):
    load_json("burndown_worked_example.json")
    cur.execute("UPDATE sprints SET state = 'active', completed_at = NULL")
    r = burnup_at(cur, project_key="PUL", now=datetime(2024, 6, 11, 12, tzinfo=CN))
    assert [None if x != x else x for x in r.series["done"]] == [0, 5, 5, 5, 10, 10, 10, 10, 5, None, None, None]
    assert r.value == 5


def test_burnup_hours_done_is_the_work_burned(cur, insert):
    """Hours: remaining lowered on an open issue is work done, so the scope line stays put (S: 10 h, 4 h
    burned 06-04, done 06-05 with 6 h left)."""
    insert("projects", [{"project_key": "HRS", "calendar": "CN"}])
    insert("sprints", [{"name": "H1", "state": "closed", "start_at": at("2024-06-03 09:00:00"),
                        "end_at": at("2024-06-05 18:00:00"), "completed_at": at("2024-06-05 18:00:00")}],
           project_key="HRS")
    insert("issues", [{"issue_key": "S", "type": "story", "original_estimate_h": 10, "remaining_estimate_h": 6,
                       "status_category": "done", "done_at": at("2024-06-05 12:00:00"), "sprints": ["H1"],
                       "created_at": at("2024-05-30 09:00:00")}], project_key="HRS")
    insert("changes", [chg("S", "2024-05-30 10:00:00", "sprint", "[]", '["H1"]'),
                       chg("S", "2024-06-04 12:00:00", "remaining_estimate_h", "10", "6"),
                       chg("S", "2024-06-05 12:00:00", "status_category", "in_progress", "done")], project_key="HRS")
    r = run(cur, "burnup", "HRS", statistic="hours")
    assert rows(r.series, ["scope", "done", "remaining"]) == [(10, 0, 10), (10, 4, 6), (10, 10, 0)]
    assert r.extra["summary"] == {"committed": 10, "added": 0, "removed": 0, "estimate_change": 0,
                                  "burndown": 10, "reopen": 0, "completed": 10, "not_completed": 0}


# --- §2 velocity and say/do --------------------------------------------------------------------------------

def test_velocity_worked_example(cur, load_json):
    load_json("burndown_worked_example.json")
    r = run(cur, "velocity")
    assert list(r.series.columns) == VELOCITY_COLUMNS
    # 16 + 3 − 3 + 2 = 18 = 10 + 8; Say/Do = 10/16.
    assert rows(r.series) == [("Sprint 1", DAYS[0], DAYS[-1], 16, 3, 3, 2, 10, 8, 0.625, 1.0)]
    assert_bucket_identity(r.series)
    assert r.value == 10
    assert r.warnings == [{"code": "few_closed_sprints", "count": 1, "needed": 3}]
    assert (r.extra["sprints_in_mean"], r.extra["window"], r.extra["unit"]) == (["Sprint 1"], 3, "points")


def test_say_do_worked_example(cur, load_json):
    load_json("burndown_worked_example.json")
    r = run(cur, "say_do")
    assert r.value == 0.625
    assert list(r.series.columns) == SAY_DO_COLUMNS
    assert rows(r.series) == [("Sprint 1", DAYS[0], DAYS[-1], 16, 10, 0.625)]
    assert (r.warnings, r.extra["sprint"]) == ([], "Sprint 1")


def test_velocity_issue_count(cur, load_json):
    load_json("burndown_worked_example.json")
    r = run(cur, "velocity", statistic="count")
    # A, B, C committed; F added and removed; A and B done; C not. No estimate bucket for counts.
    assert rows(r.series) == [("Sprint 1", DAYS[0], DAYS[-1], 3, 1, 1, 0, 2, 1, 0.6667, 1.0)]
    assert r.extra["unit"] == "issues"


def test_velocity_four_sprints(cur, load_json):
    load_json("velocity_four_sprints.json")
    r = run(cur, "velocity", "VEL")
    d = lambda m, day: date(2024, m, day)  # noqa: E731
    assert rows(r.series) == [
        # sprint start         end          C0  add rem Δest done not  say/do  coverage
        ("S1", d(6, 3), d(6, 14), 16, 0, 0, 0, 8, 8, 0.5, 1.0),         # a3 carried over
        ("S2", d(6, 17), d(6, 28), 13, 2, 0, 0, 15, 0, 1.1538, 1.0),    # a3 committed here; b2 added
        ("S3", d(7, 1), d(7, 12), 16, 0, 3, 3, 16, 0, 1.0, 1.0),        # c2 5 -> 8; c3 removed
        ("S4", d(7, 15), d(7, 26), 21, 0, 0, 0, 13, 8, 0.619, 1.0),     # d3 done before the start: out
    ]
    assert_bucket_identity(r.series)
    # Velocity = mean completed of the last 3 closed sprints (S5 is active): (15 + 16 + 13) / 3.
    assert r.value == pytest.approx(44 / 3)
    assert (r.warnings, r.extra["sprints_in_mean"]) == ([], ["S2", "S3", "S4"])
    say = run(cur, "say_do", "VEL")
    assert (say.value, say.extra["sprint"]) == (pytest.approx(13 / 21), "S4")
    assert rows(say.series, ["sprint", "say_do"]) == [("S1", 0.5), ("S2", 1.1538), ("S3", 1.0), ("S4", 0.619)]


def test_velocity_as_of_a_month(cur, load_json):
    """A review of June sees the sprints closed by the end of June only."""
    load_json("velocity_four_sprints.json")
    r = run(cur, "velocity", "VEL", month="2024-06")
    assert list(r.series["sprint"]) == ["S1", "S2"]
    assert r.value == (8 + 15) / 2
    assert r.warnings == [{"code": "few_closed_sprints", "count": 2, "needed": 3}]
    assert run(cur, "say_do", "VEL", month="2024-06").value == pytest.approx(15 / 13)
    r = run(cur, "velocity", "VEL", month="2024-05")
    assert (r.value, r.warnings, len(r.series)) == (None, [{"code": "no_closed_sprints"}], 0)


def test_velocity_chart_shows_the_last_seven_sprints(cur, insert):
    """Nine closed one-week sprints with k points done in sprint k: the chart keeps S3..S9, the mean S7..S9."""
    start = datetime(2024, 1, 1, 9, tzinfo=CN)
    for k in range(1, 10):
        s0 = start + timedelta(weeks=k - 1)
        insert("sprints", [{"name": f"S{k}", "state": "closed", "start_at": s0, "end_at": s0 + timedelta(days=4),
                            "completed_at": s0 + timedelta(days=4)}], project_key="SEV")
        insert("issues", [{"issue_key": f"I{k}", "type": "story", "story_points": k, "status_category": "done",
                           "resolution_class": "delivered", "created_at": s0 - timedelta(days=3),
                           "done_at": s0 + timedelta(days=2), "sprints": [f"S{k}"]}], project_key="SEV")
    r = run(cur, "velocity", "SEV")
    assert list(r.series["sprint"]) == [f"S{k}" for k in range(3, 10)]
    assert list(r.series["completed"]) == [3, 4, 5, 6, 7, 8, 9]
    assert r.value == 8
    assert r.warnings == [{"code": "burndown_no_history"}]
    assert_bucket_identity(r.series)


def test_nothing_committed_gives_null_say_do(cur, insert):
    insert("sprints", [{"name": "Z1", "state": "closed", "start_at": at("2024-06-03 09:00:00"),
                        "end_at": at("2024-06-07 18:00:00"), "completed_at": at("2024-06-07 18:00:00")}],
           project_key="ZER")
    insert("issues", [{"issue_key": "L", "type": "story", "story_points": 2, "status_category": "done",
                       "resolution_class": "delivered", "created_at": at("2024-06-04 10:00:00"),
                       "done_at": at("2024-06-06 10:00:00"), "sprints": ["Z1"]}], project_key="ZER")
    r = run(cur, "say_do", "ZER")
    assert r.value is None
    assert rows(r.series) == [("Z1", date(2024, 6, 3), date(2024, 6, 7), 0, 2, None)]
    assert r.warnings == [{"code": "burndown_no_history"}, {"code": "nothing_committed", "sprint": "Z1"}]
    assert run(cur, "velocity", "ZER").value == 2


def test_no_sprints(cur, insert):
    insert("issues", [{"issue_key": "A", "type": "story", "story_points": 1}], project_key="NOS")
    for metric in ("velocity", "say_do"):
        r = run(cur, metric, "NOS")
        assert (r.value, r.warnings, len(r.series)) == (None, [{"code": "no_sprints"}], 0)


@pytest.fixture
def edge_sprint(cur, load_json, insert):
    """The §1.1 sprint plus three moves that change Done without a burndown event:
    G (2) done 06-04 in the sprint, then taken out of it while done (06-05);
    H (3) done 06-04 in the sprint, re-estimated 3 -> 4 while done (06-06);
    K (1) done 05-31 before the start (not committed), reopened 06-11 and done again 06-12."""
    load_json("burndown_worked_example.json")
    base = {"type": "story", "status_category": "done", "resolution_class": "delivered",
            "created_at": at("2024-05-20 10:00:00"), "reopen_count": 0}
    insert("issues", [
        {**base, "issue_key": "G", "story_points": 2, "done_at": at("2024-06-04 11:00:00"), "sprints": []},
        {**base, "issue_key": "H", "story_points": 4, "done_at": at("2024-06-04 12:00:00"), "sprints": ["Sprint 1"]},
        {**base, "issue_key": "K", "story_points": 1, "done_at": at("2024-06-12 10:00:00"), "sprints": ["Sprint 1"],
         "reopen_count": 1},
    ], project_key="PUL")
    insert("changes", [
        *(chg(k, "2024-05-30 10:00:00", "sprint", "[]", '["Sprint 1"]') for k in "GHK"),
        chg("G", "2024-06-04 11:00:00", "status_category", "in_progress", "done"),
        chg("G", "2024-06-05 11:00:00", "sprint", '["Sprint 1"]', "[]"),
        chg("H", "2024-06-04 12:00:00", "status_category", "in_progress", "done"),
        chg("H", "2024-06-06 12:00:00", "story_points", "3", "4"),
        chg("K", "2024-05-31 12:00:00", "status_category", "in_progress", "done"),
        chg("K", "2024-06-11 12:00:00", "status_category", "done", "in_progress"),
        chg("K", "2024-06-12 10:00:00", "status_category", "in_progress", "done"),
    ], project_key="PUL")


def test_buckets_when_done_moves_without_a_burndown(cur, edge_sprint):
    """C0 = 16 + G2 + H3 = 21. Added: F 3 + K 1 (reopened work done outside the sprint); removed: F 3 +
    G 2 (done, then taken out: not completed); ΔEst: B +2, H +1 (while done). Completed: A 5 + B 5 + H 4 +
    K 1 = 15; not completed: C 8. 21 + 4 − 5 + 3 = 23 = 15 + 8."""
    r = run(cur, "velocity")
    assert rows(r.series, VELOCITY_COLUMNS[3:9]) == [(21, 4, 5, 3, 15, 8)]
    assert_bucket_identity(r.series)
    burn = run(cur, "burnup", sprint="Sprint 1")
    assert (burn.series["scope"].iloc[-1], burn.series["done"].iloc[-1]) == (23, 15)
    # The burndown's R line is unchanged by these moves except K's reopen/done pair (net 0).
    assert list(run(cur, "burndown", sprint="Sprint 1").series["remaining"])[-1] == 8


def test_strict_mode_invalid_is_removed_not_completed(cur, invalid_in_sprint):
    """G (2, committed) resolved INVALID: jira mode completes it, strict mode removes it."""
    assert rows(run(cur, "velocity", mode="jira").series, VELOCITY_COLUMNS[3:9]) == [(18, 3, 3, 2, 12, 8)]
    assert rows(run(cur, "velocity", mode="strict").series, VELOCITY_COLUMNS[3:9]) == [(18, 3, 5, 2, 10, 8)]


# --- §2 throughput ---------------------------------------------------------------------------------------

@pytest.fixture
def delivered(cur, load_json, insert):
    """The §1.1 issues plus: bug X delivered 06-05 (W23), bug Y closed INVALID 06-06 (not delivered), task Z
    done 06-13 with no resolution (not counted, warned), sub-task S delivered 06-06 (never counted)."""
    load_json("burndown_worked_example.json")
    base = {"status_category": "done", "created_at": at("2024-05-20 10:00:00")}
    insert("issues", [
        {**base, "issue_key": "X", "type": "bug", "resolution_class": "delivered",
         "done_at": at("2024-06-05 10:00:00")},
        {**base, "issue_key": "Y", "type": "bug", "resolution_class": "invalid", "done_at": at("2024-06-06 10:00:00")},
        {**base, "issue_key": "Z", "type": "task", "resolution_class": None, "done_at": at("2024-06-13 10:00:00")},
        {**base, "issue_key": "S", "type": "subtask", "parent_key": "C", "resolution_class": "delivered",
         "done_at": at("2024-06-06 10:00:00")},
    ], project_key="PUL")


def test_throughput_weekly_worked_example(cur, delivered):
    r = run(cur, "throughput", month="2024-06", period="week")
    assert list(r.series.columns) == THROUGHPUT_COLUMNS
    weeks = r.series[r.series["start"] >= date(2024, 5, 27)]
    assert rows(weeks) == [
        ("2024-W22", date(2024, 5, 27), "bug", 0), ("2024-W22", date(2024, 5, 27), "story", 1),   # D 05-31
        ("2024-W23", date(2024, 6, 3), "bug", 1), ("2024-W23", date(2024, 6, 3), "story", 1),     # X; B 06-07
        ("2024-W24", date(2024, 6, 10), "bug", 0), ("2024-W24", date(2024, 6, 10), "story", 1),   # A 06-12
        ("2024-W25", date(2024, 6, 17), "bug", 0), ("2024-W25", date(2024, 6, 17), "story", 1),   # C 06-17
        ("2024-W26", date(2024, 6, 24), "bug", 0), ("2024-W26", date(2024, 6, 24), "story", 0),
    ]
    # A counts once, in W24 (final done 06-12), not in W23 (first done 06-04).
    # Twelve months of ISO weeks (from the week of 2023-07-01), zeros filled.
    assert (r.series["start"].iloc[0], r.series["period"].iloc[0]) == (date(2023, 6, 26), "2023-W26")
    # The value is the review month's: X, B, A, C (D was done 05-31; Y invalid, Z unresolved, S a sub-task).
    assert (r.value, r.extra["by_type"], r.extra["period"]) == (4, {"bug": 1, "story": 3}, "week")


def test_throughput_monthly(cur, delivered):
    r = run(cur, "throughput", month="2024-06")
    assert rows(r.series)[-4:] == [("2024-05", date(2024, 5, 1), "bug", 0), ("2024-05", date(2024, 5, 1), "story", 1),
                                   ("2024-06", date(2024, 6, 1), "bug", 1), ("2024-06", date(2024, 6, 1), "story", 3)]
    assert len(r.series) == 24 and r.series["period"].iloc[0] == "2023-07"
    assert (r.value, r.extra["by_type"], r.extra["period"]) == (4, {"bug": 1, "story": 3}, "month")
    assert r.warnings == [{"code": "done_without_resolution", "count": 1}]
    # The default month is the latest activity's (C done 06-17).
    assert run(cur, "throughput").extra["month"] == "2024-06"


def test_throughput_without_issues(cur, insert):
    insert("projects", [{"project_key": "NIL"}])
    r = run(cur, "throughput", "NIL")
    assert (r.value, r.warnings, len(r.series)) == (None, [{"code": "no_data"}], 0)
    with pytest.raises(ValueError):
        run(cur, "throughput", "NIL", period="day")


# --- §1.2 release burndown -----------------------------------------------------------------------------

def test_release_worked_example(cur, load_json):
    load_json("release_worked_example.json")
    r = run(cur, "release_burndown", "REL")
    assert list(r.series.columns) == RELEASE_COLUMNS
    d = lambda m, day: date(2024, m, day)  # noqa: E731
    assert rows(r.series) == [
        # sprint start  end   before done add rem Δest after done_total scope
        ("R1", d(7, 1), d(7, 12), 100, 20, 5, 0, 0, 85, 20, 105),
        ("R2", d(7, 15), d(7, 26), 85, 25, 0, 5, 0, 55, 45, 100),    # V3 reopened and done again: net 0
        ("R3", d(7, 29), d(8, 9), 55, 22, 10, 0, 0, 43, 67, 110),
    ]
    for row in r.series.itertuples():   # Remaining_{k+1} = Remaining_k − completed + added − removed + Δest
        assert row.remaining_after == (row.remaining_before - row.completed + row.added - row.removed
                                       + row.estimate_change)
    assert round(r.extra["velocity"], 2) == 22.33 and r.extra["velocity"] == 67 / 3
    assert r.value == 2 == math.ceil(43 / (67 / 3))
    assert (r.extra["release"], r.extra["remaining"], r.extra["scope_at_start"]) == ("2.0", 43, 100)
    assert r.extra["sprints_in_mean"] == ["R1", "R2", "R3"]
    # G7: U has no estimate; it counts 0 and is listed.
    assert (r.extra["unestimated"], r.extra["in_scope"], r.extra["estimated"]) == (["U"], 13, 12)
    assert r.warnings == [{"code": "version_unestimated", "count": 1, "in_scope": 13, "version": "2.0",
                           "issues": ["U"]}]


def test_release_without_fix_version_history(cur, load_json):
    """No 'fix_versions' change at all: V9 (no longer in the version) is never seen in it; membership is
    the current list from creation on, so nothing is ever removed."""
    load_json("release_worked_example.json")
    cur.execute("DELETE FROM changes WHERE field = 'fix_versions'")
    r = run(cur, "release_burndown", "REL")
    assert rows(r.series, ["remaining_before", "completed", "added", "removed", "remaining_after"]) == [
        (95, 20, 5, 0, 80), (80, 25, 0, 0, 55), (55, 22, 10, 0, 43)]
    assert r.warnings[0] == {"code": "version_no_history"}


def test_release_choice(cur, load_json):
    load_json("release_worked_example.json")
    # 1.9 is released (milestone) and all done: its forecast is 0 sprints, nothing left.
    r = run(cur, "release_burndown", "REL", release="1.9")
    assert (r.value, r.extra["remaining"], list(r.series["completed"])) == (0, 0, [0, 0, 0])
    r = run(cur, "release_burndown", "REL", release="9.9")
    assert (r.value, r.warnings) == (None, [{"code": "release_not_found", "release": "9.9"}])
    # A newer version with open work wins the default unless its milestone says it is released.
    cur.execute("UPDATE issues SET fix_versions = ['2.1'] WHERE issue_key = 'U'")
    assert run(cur, "release_burndown", "REL").extra["release"] == "2.1"
    cur.execute("INSERT INTO milestones (project_key, name, actual_date) VALUES ('REL', ' 2.1', DATE '2024-08-01')")
    assert run(cur, "release_burndown", "REL").extra["release"] == "2.0"


def test_release_without_versions_or_closed_sprints(cur, load_json, insert):
    insert("issues", [{"issue_key": "A", "type": "story", "story_points": 1}], project_key="NOV")
    r = run(cur, "release_burndown", "NOV")
    assert (r.value, r.warnings, len(r.series)) == (None, [{"code": "no_versions"}], 0)
    load_json("release_worked_example.json")
    cur.execute("UPDATE sprints SET state = 'future', completed_at = NULL")
    r = run(cur, "release_burndown", "REL")
    assert (r.value, r.warnings) == (None, [{"code": "no_closed_sprints"}])


def test_release_forecast_unavailable_when_nothing_completed(cur, load_json):
    load_json("release_worked_example.json")
    cur.execute("DELETE FROM changes WHERE field = 'status_category'")
    cur.execute("UPDATE issues SET status_category = 'todo', done_at = NULL WHERE issue_key <> 'D0'")
    r = run(cur, "release_burndown", "REL")
    assert list(r.series["completed"]) == [0, 0, 0]
    assert r.value is None
    assert {"code": "forecast_unavailable", "version": "2.0"} in r.warnings


# --- The identity on real data ------------------------------------------------------------------------------

def test_bucket_identity_on_the_real_jira_sample(cur):
    """merico's board export: no story points, so issue counts and hours; both modes. Every closed sprint
    satisfies the identity. In EE Sprint 7 (counts): EE-37 added 06-12, EE-17 removed 06-17, and EE-19,
    done 06-18, taken out of the sprint while done on 06-19: removed, not completed (the burndown's R
    events alone would give 16 + 1 − 1 ≠ 9 + 6)."""
    from ingest import ingest_file
    ingest_file(cur, sample("jira/api_agile_board_issues_expand_changelog_merico.json"))
    seen = 0
    for statistic in ("count", "hours"):
        for mode in ("jira", "strict"):
            r = run(cur, "velocity", "EE", statistic=statistic, mode=mode)
            assert list(r.series["sprint"]) == ["EE Sprint 7", "EE Sprint 9"]
            assert_bucket_identity(r.series)
            assert not [w for w in r.warnings if w["code"] == "bucket_identity_broken"]
            seen += len(r.series)
    assert seen == 8
    r = run(cur, "velocity", "EE", statistic="count")
    assert rows(r.series, ["sprint", *VELOCITY_COLUMNS[3:9]]) == [
        ("EE Sprint 7", 16, 1, 2, 0, 9, 6), ("EE Sprint 9", 1, 0, 0, 0, 1, 0)]


def test_bucket_identity_on_the_demo(tmp_path):
    """Every closed PAY sprint of the demo satisfies the identity, in points, issues and hours."""
    from demo import load_demo
    from store import db
    con = db.connect(":memory:")
    cur = db.cursor(con)
    try:
        load_demo(cur, today=date(2026, 11, 25), out_dir=tmp_path)
        closed = cur.execute("SELECT count(*) FROM sprints WHERE project_key = 'PAY' AND state = 'closed'"
                             ).fetchone()[0]
        assert closed >= 4
        for statistic in ("points", "count", "hours"):
            r = run(cur, "velocity", "PAY", statistic=statistic)
            assert len(r.series) == min(closed, 7)
            assert_bucket_identity(r.series)
            assert r.value == pytest.approx(r.series["completed"].tail(3).mean())
            assert not [w for w in r.warnings if w["code"] == "bucket_identity_broken"]
        say = run(cur, "say_do", "PAY")
        last = r.series.iloc[-1]
        assert say.extra["sprint"] == last["sprint"]
    finally:
        cur.close()
        con.close()
