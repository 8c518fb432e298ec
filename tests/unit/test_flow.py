"""Flow metrics (METRICS.md §6): lead time, cycle time, active time, WIP, CFD, Little's law."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from metrics import REGISTRY, compute
from metrics.flow import cfd as cfd_at
from metrics.flow import littles_law
from metrics.flow import wip as wip_at

CN = timezone(timedelta(hours=8))
MAY = [date(2024, 5, 1) + timedelta(days=i) for i in range(31)]
# By hand from the fixture: the end-of-day WIP of each day of May 2024.
MAY_WIP = {6: 1, 9: 1, 11: 1, 12: 1, 13: 1, 14: 1, 16: 2, 17: 2, 18: 2, 19: 2, 20: 1, 21: 1}
LATER = datetime(2030, 1, 1, tzinfo=timezone.utc)   # "now" after every fixture month


def at(text: str) -> str:
    return f"{text}+08:00"


def run(cur, metric, project_key="FLW", **params):
    return compute(metric, cur, project_key=project_key, **params)


@pytest.fixture
def flow(load_json):
    return load_json("flow_worked_example.json")


def test_registry_entries():
    got = {m: (REGISTRY[m].name_en, REGISTRY[m].name_zh, REGISTRY[m].unit, REGISTRY[m].direction,
               REGISTRY[m].section, REGISTRY[m].params) for m in ("lead_time", "cycle_time", "wip", "cfd")}
    assert got == {
        "lead_time": ("Lead time", "提前期(交付周期)", "days", "lower_is_better", "6", ("month", "days")),
        "cycle_time": ("Cycle time", "周期时间", "days", "lower_is_better", "6", ("month", "days")),
        "wip": ("Work in progress (WIP)", "在制品", "issues", "none", "6", ("month",)),
        "cfd": ("Cumulative flow diagram", "累积流图", "issues", "none", "6", ("month",)),
    }


def test_lead_time_worked_example(cur, flow):
    r = run(cur, "lead_time", month="2024-05")
    s = r.series
    assert list(s.columns) == ["issue_key", "type", "created_at", "done_at", "day", "days"]
    # APR (April), INV (invalid), SUB (sub-task) and the epic stay out; ordered by done_at.
    assert list(s["issue_key"]) == ["L1", "L2", "L3", "L4", "L5"]
    assert [round(d, 9) for d in s["days"]] == [2, 3, 5, 8, 20]
    assert list(s["day"]) == [date(2024, 5, d) for d in (10, 13, 15, 20, 22)]
    summary = r.extra["summary"]
    assert summary["count"] == 5
    assert summary["mean"] == pytest.approx(7.6)
    assert summary["p50"] == pytest.approx(5)
    assert summary["p85"] == pytest.approx(12.8)
    assert summary["p95"] == pytest.approx(17.6)
    assert summary["p80"] == pytest.approx(10.4)     # DevLake's panel: 8 + 0.2 × 12
    # The headline is the median (P50), documented in metrics/flow.py.
    assert r.value == pytest.approx(5) and r.extra["value_stat"] == "p50"
    assert r.warnings == []


def test_cycle_time_worked_example(cur, flow):
    r = run(cur, "cycle_time", month="2024-05")
    s = r.series
    assert list(s.columns) == ["issue_key", "type", "started_at", "done_at", "day", "days", "active_days"]
    assert [round(d, 9) for d in s["days"]] == [1, 2, 2, 4, 6]
    assert list(s["active_days"].round(9)) == [1, 2, 2, 4, 6]      # no loops: active = cycle
    assert s["started_at"].iloc[0] == datetime(2024, 5, 9, 10, tzinfo=CN)
    summary = r.extra["summary"]
    assert summary["p50"] == pytest.approx(2)
    assert summary["p85"] == pytest.approx(4.8)
    assert summary["mean"] == pytest.approx(3)
    assert r.value == pytest.approx(2)
    assert r.warnings == [] and r.extra["skipped_start"] == []


def test_reopened_issue_x(cur, flow):
    lead = run(cur, "lead_time", month="2024-06")
    cycle = run(cur, "cycle_time", month="2024-06")
    assert list(lead.series["issue_key"]) == ["X"]
    # Counted once, in the month of its final done (06-11), not its first (06-05).
    assert lead.series["days"].iloc[0] == pytest.approx(10)
    assert cycle.series["days"].iloc[0] == pytest.approx(8)
    assert cycle.series["active_days"].iloc[0] == pytest.approx(3)      # 2 + 1
    assert cycle.extra["active_time"]["mean"] == pytest.approx(3)
    assert cycle.series["started_at"].iloc[0] == datetime(2024, 6, 3, 9, tzinfo=CN)


def test_working_day_variant(cur, flow):
    """2024-06: 01/02 and 08/09 weekends, 10 Dragon Boat Festival (chinese-calendar)."""
    lead = run(cur, "lead_time", month="2024-06", days="working")
    cycle = run(cur, "cycle_time", month="2024-06", days="working")
    # 06-03..06-07 (5 days) + 06-11 00:00-09:00 (0.375)
    assert lead.series["days"].iloc[0] == pytest.approx(5.375)
    # 06-03 09:00-24:00 (0.625) + 06-04..06-07 (4) + 06-11 (0.375)
    assert cycle.series["days"].iloc[0] == pytest.approx(5.0)
    # [06-03 09:00, 06-05 09:00] = 0.625 + 1 + 0.375; [06-10 09:00, 06-11 09:00] = 0 (holiday) + 0.375
    assert cycle.series["active_days"].iloc[0] == pytest.approx(2.375)
    assert (lead.extra["days"], cycle.extra["days"]) == ("working", "working")
    with pytest.raises(ValueError):
        run(cur, "lead_time", month="2024-06", days="business")


def test_skipped_start_and_no_history(cur, flow, insert):
    insert("issues", [
        # done straight from To Do: history, but never In Progress
        {"issue_key": "SKIP", "type": "task", "status_category": "done", "resolution_class": "delivered",
         "created_at": at("2024-06-04 09:00:00"), "done_at": at("2024-06-06 09:00:00")},
        # no status history at all (a CSV export)
        {"issue_key": "CSV", "type": "task", "status_category": "done", "resolution_class": "delivered",
         "created_at": at("2024-06-02 09:00:00"), "done_at": at("2024-06-06 21:00:00")},
    ], project_key="FLW")
    insert("changes", [{"issue_key": "SKIP", "changed_at": at("2024-06-06 09:00:00"), "field": "status_category",
                        "from_value": "todo", "to_value": "done"}], project_key="FLW")
    cycle = run(cur, "cycle_time", month="2024-06")
    by_key = dict(zip(cycle.series["issue_key"], cycle.series["days"]))
    assert by_key["X"] == pytest.approx(8)
    assert by_key["SKIP"] != by_key["SKIP"] and by_key["CSV"] != by_key["CSV"]      # NaN: no cycle time
    assert cycle.warnings == [{"code": "flow_skipped_start", "count": 1}, {"code": "flow_no_history", "count": 1}]
    assert cycle.extra["skipped_start"] == ["SKIP"] and cycle.extra["summary"]["count"] == 1
    # Lead time still counts both.
    lead = run(cur, "lead_time", month="2024-06")
    assert sorted(zip(lead.series["issue_key"], lead.series["days"].round(9))) == [
        ("CSV", 4.5), ("SKIP", 2), ("X", 10)]


def test_history_that_starts_in_progress(cur, insert):
    """An issue created straight into a started status: its cycle starts at creation."""
    insert("issues", [{"issue_key": "HOT", "type": "bug", "status_category": "done", "resolution_class": "delivered",
                       "created_at": at("2024-06-03 09:00:00"), "done_at": at("2024-06-04 21:00:00")}],
           project_key="P")
    insert("changes", [{"issue_key": "HOT", "changed_at": at("2024-06-04 21:00:00"), "field": "status_category",
                        "from_value": "in_progress", "to_value": "done"}], project_key="P")
    r = run(cur, "cycle_time", project_key="P", month="2024-06")
    assert r.series["days"].iloc[0] == pytest.approx(1.5) and r.series["active_days"].iloc[0] == pytest.approx(1.5)
    assert r.warnings == []


def test_no_issue_done_in_month(cur, flow):
    for metric in ("lead_time", "cycle_time"):
        r = run(cur, metric, month="2024-03")
        assert r.value is None and r.series.empty
        assert r.warnings == [{"code": "no_resolved_in_period", "month": "2024-03"}]


def test_empty_project_says_why(cur):
    for metric in ("lead_time", "cycle_time", "wip", "cfd"):
        r = run(cur, metric, project_key="NONE")
        assert r.value is None and r.warnings == [{"code": "no_data"}], metric


def test_default_month_is_the_latest_activity(cur, flow):
    assert run(cur, "lead_time").extra["month"] == "2024-06"


def test_wip_by_day_and_littles_law(cur, flow):
    r = wip_at(cur, project_key="FLW", month="2024-05", now=LATER)
    assert list(r.series.columns) == ["day", "wip"]
    assert list(r.series["day"]) == MAY
    assert list(r.series["wip"]) == [MAY_WIP.get(d.day, 0) for d in MAY]
    assert r.value == pytest.approx(16 / 31)
    assert r.extra["max_wip"] == 2 and r.warnings == []
    little = r.extra["little"]
    # throughput 5 delivered / 31 days; predicted cycle = (16/31) / (5/31) = 3.2 d vs the measured mean 3.0 d
    assert little["throughput_per_day"] == pytest.approx(5 / 31)
    assert little["predicted_cycle_days"] == pytest.approx(3.2)
    assert little["avg_cycle_days"] == pytest.approx(3.0)
    assert little["ratio"] == pytest.approx(3.0 / 3.2)


def test_littles_law_worked_example():
    assert littles_law(6, 1.5) == pytest.approx(4)      # WIP 6, throughput 1.5/day -> 4 days
    assert littles_law(6, 0) is None and littles_law(None, 1.5) is None


def test_wip_reopened_loop(cur, flow):
    r = wip_at(cur, project_key="FLW", month="2024-06", now=LATER)
    wip = dict(zip(r.series["day"], r.series["wip"]))
    # X: in progress 06-03..06-04, done 06-05..06-09, in progress again 06-10, done from 06-11
    assert [wip[date(2024, 6, d)] for d in range(1, 13)] == [0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0]
    # The epic (in progress since April) is never counted.


def test_current_month_stops_today(cur, flow):
    r = wip_at(cur, project_key="FLW", month="2024-06", now=datetime(2024, 6, 10, 12, tzinfo=CN))
    assert r.series["day"].iloc[-1] == date(2024, 6, 10) and len(r.series) == 10
    assert r.value == pytest.approx(3 / 10)


def test_cfd_status_at_end_of_day(cur, flow):
    r = cfd_at(cur, project_key="FLW", month="2024-05", now=LATER)
    s = r.series
    assert list(s.columns) == ["day", "todo", "in_progress", "done"]
    row = {d: (a, b, c) for d, a, b, c in s.itertuples(index=False)}
    assert row[date(2024, 5, 1)] == (0, 0, 1)         # APR, done in April
    assert row[date(2024, 5, 2)] == (1, 0, 1)         # L5 created
    assert row[date(2024, 5, 6)] == (1, 1, 1)         # L5 to do, INV in progress
    assert row[date(2024, 5, 16)] == (0, 2, 5)        # L4, L5 in progress; APR INV L1 L2 L3 done
    assert row[date(2024, 5, 31)] == (0, 0, 7)
    # Vertical distance between the bands = WIP.
    assert list(s["in_progress"]) == [MAY_WIP.get(d.day, 0) for d in MAY]
    # Done is cumulative (never falls in a month without reopens).
    assert list(s["done"]) == sorted(s["done"])
    assert r.extra["stack_order"] == ["done", "in_progress", "todo"]
    assert r.value == 0 and r.warnings == []


def test_wip_without_history_is_approximated(cur, insert):
    insert("issues", [
        {"issue_key": "A", "type": "task", "status_category": "done", "resolution_class": "delivered",
         "created_at": at("2024-06-01 10:00:00"), "done_at": at("2024-06-04 10:00:00")},
        {"issue_key": "B", "type": "task", "status_category": "in_progress", "created_at": at("2024-06-01 10:00:00")},
        {"issue_key": "C", "type": "task", "status_category": "todo", "created_at": at("2024-06-02 10:00:00")},
    ], project_key="CSV")
    # B's first work log dates its start (06-03); A has none, so it counts from its creation.
    insert("worklogs", [{"issue_key": "B", "started_at": at("2024-06-03 15:00:00"), "hours": 2}], project_key="CSV")
    r = wip_at(cur, project_key="CSV", month="2024-06", now=datetime(2024, 6, 5, 12, tzinfo=CN))
    assert list(r.series["wip"]) == [1, 1, 2, 1, 1]
    assert r.warnings == [{"code": "flow_no_history", "count": 2}]
    c = cfd_at(cur, project_key="CSV", month="2024-06", now=datetime(2024, 6, 5, 12, tzinfo=CN))
    assert [tuple(x) for x in c.series[["todo", "in_progress", "done"]].itertuples(index=False)] == [
        (1, 1, 0), (2, 1, 0), (1, 2, 0), (1, 1, 1), (1, 1, 1)]
