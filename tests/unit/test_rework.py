"""Reopen rate (METRICS.md §5a) and the month helpers it relies on (G1)."""
from __future__ import annotations

import math
from datetime import date, datetime, timezone

import pytest

from metrics import REGISTRY, compute
from metrics.common import default_month, end_of_day, month_bounds

COLUMNS = ["month", "resolved", "reopened", "reopen_events", "events_per_issue", "rate", "unknown"]


def at(text: str) -> str:
    return f"{text}+08:00"


def record(result):
    rec = result.series.to_dict("records")
    assert len(rec) == 1 and list(result.series.columns) == COLUMNS
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in rec[0].items()}


@pytest.fixture
def example(cur, insert):
    """§5a: 40 valid bugs finally resolved in June, 6 of them ever reopened (4×1 + 2×2 = 8 events).
    Around them: an INVALID bug and a story resolved in June, a bug resolved 07-01 00:30 local (UTC still
    June), a bug reopened and still open, and a reopened story still open."""
    insert("projects", [{"project_key": "RW", "timezone": "Asia/Shanghai"}])
    counts = [1] * 4 + [2] * 2 + [0] * 34
    bugs = [{"issue_key": f"B{i:02d}", "reopen_count": n,
             "done_at": at("2024-06-30 23:30:00") if i == 39 else at(f"2024-06-{1 + i % 28:02d} 10:00:00")}
            for i, n in enumerate(counts)]
    insert("issues", bugs, project_key="RW", type="bug", status_category="done", resolution_class="delivered")
    insert("issues", [
        {"issue_key": "INV", "type": "bug", "status_category": "done", "resolution_class": "invalid",
         "reopen_count": 3, "done_at": at("2024-06-12 10:00:00")},
        {"issue_key": "ST", "type": "story", "status_category": "done", "resolution_class": "delivered",
         "reopen_count": 1, "done_at": at("2024-06-12 10:00:00")},
        {"issue_key": "SUB", "type": "subtask", "status_category": "done", "resolution_class": "delivered",
         "reopen_count": 5, "done_at": at("2024-06-12 10:00:00")},
        {"issue_key": "JUL", "type": "bug", "status_category": "done", "resolution_class": "delivered",
         "reopen_count": 1, "done_at": at("2024-07-01 00:30:00")},
        {"issue_key": "OPEN", "type": "bug", "status_category": "in_progress", "reopen_count": 2},
        {"issue_key": "OPEN-ST", "type": "story", "status_category": "todo", "reopen_count": 1},
    ], project_key="RW")


def test_registry_entry():
    m = REGISTRY["reopen_rate"]
    assert (m.name_en, m.name_zh, m.unit, m.direction, m.section, m.params) == (
        "Reopen rate", "缺陷重开率", "%", "lower_is_better", "5a", ("month", "scope"))


def test_worked_example(cur, example):
    r = compute("reopen_rate", cur, project_key="RW", month="2024-06")
    assert r.value == 0.15
    assert record(r) == {"month": "2024-06", "resolved": 40, "reopened": 6, "reopen_events": 8,
                         "events_per_issue": 0.2, "rate": 0.15, "unknown": 0}
    assert r.warnings == []
    assert r.extra == {"month": "2024-06", "scope": "bugs", "currently_reopened": ["OPEN"]}


def test_scope_all_standard_types(cur, example):
    r = compute("reopen_rate", cur, project_key="RW", month="2024-06", scope="all")
    # + the INVALID bug (3 events) and the story (1); the sub-task is not a standard issue (G6).
    assert record(r) == {"month": "2024-06", "resolved": 42, "reopened": 8, "reopen_events": 12,
                         "events_per_issue": 12 / 42, "rate": 8 / 42, "unknown": 0}
    assert r.extra["currently_reopened"] == ["OPEN", "OPEN-ST"]


def test_scope_from_settings(cur, example, insert):
    insert("settings", [{"project_key": "*", "name": "reopen_scope", "value": "all"}])
    r = compute("reopen_rate", cur, project_key="RW", month="2024-06")
    assert (r.extra["scope"], record(r)["resolved"], r.warnings) == ("all", 42, [])
    assert compute("reopen_rate", cur, project_key="RW", month="2024-06", scope="bugs").value == 0.15


def test_month_is_local(cur, example):
    r = compute("reopen_rate", cur, project_key="RW", month="2024-07")
    assert record(r) == {"month": "2024-07", "resolved": 1, "reopened": 1, "reopen_events": 1,
                         "events_per_issue": 1.0, "rate": 1.0, "unknown": 0}
    # No month given: the month of the latest activity (JUL's done_at, local July).
    assert compute("reopen_rate", cur, project_key="RW").extra["month"] == "2024-07"


def test_no_resolved_in_period(cur, example):
    r = compute("reopen_rate", cur, project_key="RW", month="2024-05")
    assert r.value is None
    assert r.warnings == [{"code": "no_resolved_in_period", "month": "2024-05"}]
    assert record(r) == {"month": "2024-05", "resolved": 0, "reopened": 0, "reopen_events": None,
                         "events_per_issue": None, "rate": None, "unknown": 0}


def test_reopen_not_derivable(cur, insert):
    insert("issues", [{"issue_key": f"N{i}", "done_at": at("2024-06-03 10:00:00")} for i in range(3)],
           project_key="NH", type="bug", status_category="done", resolution_class="delivered", reopen_count=None)
    r = compute("reopen_rate", cur, project_key="NH", month="2024-06")
    assert r.value is None
    assert r.warnings == [{"code": "reopen_not_derivable"}]
    assert record(r) == {"month": "2024-06", "resolved": 3, "reopened": None, "reopen_events": None,
                         "events_per_issue": None, "rate": None, "unknown": 3}


def test_partly_unknown_leaves_the_unknown_out(cur, insert):
    insert("issues", [
        {"issue_key": "K1", "reopen_count": 1}, {"issue_key": "K2", "reopen_count": 0},
        {"issue_key": "K3", "reopen_count": 0}, {"issue_key": "K4", "reopen_count": 0},
        {"issue_key": "U1", "reopen_count": None},
    ], project_key="PU", type="bug", status_category="done", resolution_class="delivered",
        done_at=at("2024-06-03 10:00:00"))
    r = compute("reopen_rate", cur, project_key="PU", month="2024-06")
    assert r.value == 0.25
    assert r.warnings == [{"code": "reopen_partly_unknown", "unknown": 1, "resolved": 5}]
    assert record(r) == {"month": "2024-06", "resolved": 5, "reopened": 1, "reopen_events": 1,
                         "events_per_issue": 0.25, "rate": 0.25, "unknown": 1}


def test_bad_parameters(cur):
    with pytest.raises(ValueError):
        compute("reopen_rate", cur, project_key="RW", scope="stories")
    with pytest.raises(ValueError):
        compute("reopen_rate", cur, project_key="RW", month="2024-13")


def test_month_helpers(cur, example):
    start, end = month_bounds("2024-06", "Asia/Shanghai")
    assert (start, end) == (datetime(2024, 5, 31, 16, tzinfo=timezone.utc),
                            datetime(2024, 6, 30, 16, tzinfo=timezone.utc))
    assert month_bounds("2024-12", "UTC")[1] == datetime(2025, 1, 1, tzinfo=timezone.utc)
    assert end_of_day(date(2024, 6, 3), "Asia/Shanghai") == datetime(
        2024, 6, 3, 15, 59, 59, 999000, tzinfo=timezone.utc)
    assert default_month(cur, "RW", "Asia/Shanghai") == "2024-07"
    assert default_month(cur, "RW", "UTC") == "2024-06"   # 07-01 00:30 +08:00 is still June in UTC
    assert default_month(cur, "NONE", "UTC") is None
