"""Earned value management (METRICS.md §7): the formulas (Example A), tracker-derived EV/AC (Example B),
AgileEVM (Example C), the edge rules, and the demo's planted schedule slip."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from demo import load_demo
from demo.generate import TZ
from metrics import REGISTRY, compute
from metrics.evm import evm_table

A_TABLE = {   # METRICS.md §7 Example A, every row of its table
    "sv": -8_000, "cv": -18_000, "spi": 0.92, "cpi": 0.8364, "sv_pct": -0.08, "cv_pct": -0.1957,
    "eac_typical": 239_130.43, "eac_atypical": 218_000, "eac_combined": 250_359.17,
    "etc_typical": 129_130.43, "vac_typical": -39_130.43, "tcpi_bac": 1.20, "tcpi_eac": 0.8364,
}


def run(cur, project_key, **params):
    return compute("evm", cur, project_key=project_key, **params)


def test_registry_entry():
    m = REGISTRY["evm"]
    assert (m.name_en, m.name_zh, m.unit, m.direction, m.section, m.params) == (
        "Earned value (SPI)", "挣值管理(进度绩效指数)", "index", "higher_is_better", "7", ("month", "ev_rule"))


# --- Example A: the formulas -------------------------------------------------------------------------------

def test_example_a_formulas():
    t = evm_table(bac=200_000, pv=100_000, ev=92_000, ac=110_000)
    for key, expected in A_TABLE.items():
        places = 4 if abs(expected) < 10 else 2
        assert round(t[key], places) == expected, key
    # SV% and CV% as the table prints them
    assert round(t["sv_pct"] * 100, 2) == -8 and round(t["cv_pct"] * 100, 2) == -19.57
    # ZenTao's 成本偏差率 divides by AC, not EV
    assert t["cv_pct_zentao"] == pytest.approx(-18_000 / 110_000)
    # The headline EAC / ETC / VAC are the typical ones; TCPI_EAC equals CPI under the typical EAC.
    assert (t["eac"], t["etc"], t["vac"]) == (t["eac_typical"], t["etc_typical"], t["vac_typical"])
    assert t["tcpi_eac"] == pytest.approx(t["cpi"])
    assert t["etc_atypical"] == pytest.approx(108_000) and t["vac_atypical"] == pytest.approx(-18_000)
    assert t["tcpi_bac_unachievable"] is False
    assert t["eac_bottom_up"] is None     # no bottom-up ETC given


def test_zero_denominators_give_none():
    t = evm_table(bac=100.0, pv=0.0, ev=0.0, ac=0.0)
    assert (t["spi"], t["cpi"], t["sv_pct"], t["cv_pct"], t["cv_pct_zentao"]) == (None,) * 5
    assert (t["eac_typical"], t["eac_combined"], t["tcpi_eac"]) == (None, None, None)
    assert t["eac_atypical"] == 100.0 and t["tcpi_bac"] == 1.0
    none = evm_table(bac=None, pv=None, ev=None, ac=None)
    assert all(v is None for k, v in none.items() if k != "tcpi_bac_unachievable")


def test_tcpi_unachievable_when_ac_reaches_bac():
    t = evm_table(bac=100_000, pv=90_000, ev=80_000, ac=120_000)
    assert t["tcpi_bac"] is None and t["tcpi_bac_unachievable"] is True
    assert t["tcpi_eac"] == pytest.approx(20_000 / (150_000 - 120_000))
    t = evm_table(bac=100_000, pv=90_000, ev=80_000, ac=100_000)     # BAC = AC counts too
    assert t["tcpi_bac"] is None and t["tcpi_bac_unachievable"] is True


# --- Example B: from issues and worklogs ---------------------------------------------------------------------

@pytest.fixture
def example_b(load_json):
    return load_json("evm_example_b.json")


def test_example_b_default_rule(cur, example_b):
    r = run(cur, "EVB", month="2024-05")
    t = r.extra["table"]
    # BAC = 200 h × 600 (A at its baseline 40 h, not today's 48 h; the epic and unplanned E stay out)
    assert t["bac"] == pytest.approx(120_000)
    assert r.extra["baseline_hours"] == pytest.approx(200)
    assert t["pv"] == pytest.approx(90_000)
    assert t["ev"] == pytest.approx(60_000)                   # 0/100: A + B = 100 h
    assert t["ac"] == pytest.approx(82_800)                   # (45 + 55 + 20 + 18) h, June's 5 h excluded
    assert r.extra["ac_unplanned"] == pytest.approx(18 * 600)
    assert round(t["spi"], 3) == 0.667 and round(t["cpi"], 3) == 0.725
    assert r.value == pytest.approx(60_000 / 90_000)
    # ETC bottom-up = (C 30 h + D 50 h) × 600: C's 30 h left at the status date = 25 h today + 5 h logged since
    assert r.extra["etc_bottom_up_hours"] == pytest.approx(80)
    assert t["eac_bottom_up"] == pytest.approx(130_800)
    assert r.extra["ev_rule"] == "0/100" and r.extra["unit"] == "CNY"
    assert (r.extra["cv_pct_denominator"], r.extra["cv_pct_zentao_denominator"]) == ("ev", "ac")
    assert r.warnings == []


def test_example_b_every_ev_rule(cur, example_b):
    r = run(cur, "EVB", month="2024-05")
    ev = r.extra["ev_by_rule"]
    assert ev["0/100"] == pytest.approx(60_000)
    assert ev["50/50"] == pytest.approx(75_000)               # A 40 + B 60 + C 25
    assert ev["hours_progress"] == pytest.approx(72_000)      # C: 50 × 20 / (20 + 30) = 20 h -> 120 h
    for rule, expected in (("50/50", 75_000), ("hours_progress", 72_000)):
        got = run(cur, "EVB", month="2024-05", ev_rule=rule)
        assert got.extra["table"]["ev"] == pytest.approx(expected) and got.extra["ev_rule"] == rule
    # The setting picks the rule when no parameter is given.
    cur.execute("INSERT INTO settings VALUES ('EVB', 'ev_rule', 'hours_progress')")
    assert run(cur, "EVB", month="2024-05").extra["table"]["ev"] == pytest.approx(72_000)
    with pytest.raises(ValueError):
        run(cur, "EVB", month="2024-05", ev_rule="75/25")


def test_example_b_without_status_history(cur, example_b):
    """A CSV export: DONE from done_at, started from the first work log."""
    with_history = run(cur, "EVB", month="2024-04").extra["ev_by_rule"]
    cur.execute("DELETE FROM changes WHERE field = 'status_category'")
    for month, expected in (("2024-04", {"0/100": 24_000, "50/50": 42_000}),      # A 40 h + B half (logged 04-26)
                            ("2024-05", {"0/100": 60_000, "50/50": 75_000})):     # C started by its 05-10 log
        ev = run(cur, "EVB", month=month).extra["ev_by_rule"]
        assert {k: ev[k] for k in expected} == pytest.approx(expected), month
    assert with_history["50/50"] == pytest.approx(42_000)      # B moved to In Progress on 04-15


def test_example_b_s_curve(cur, example_b):
    r = run(cur, "EVB", month="2024-05")
    s = r.series
    assert list(s.columns) == ["month", "pv", "ev", "ac", "spi", "cpi"]
    assert list(s["month"]) == ["2024-04", "2024-05"]
    # April: A due 04-19 (PV 40 h) and done 04-20; AC = A 45 + B 30 + E 10 = 85 h
    assert list(s["pv"]) == [24_000, 90_000]
    assert list(s["ev"]) == [24_000, 60_000]
    assert list(s["ac"]) == [51_000, 82_800]
    assert list(s["spi"].round(4)) == [1.0, 0.6667]
    assert list(s["cpi"].round(4)) == [round(24_000 / 51_000, 4), 0.7246]
    plan = r.extra["pv_plan"]
    assert list(plan["month"]) == ["2024-04", "2024-05", "2024-06"] and plan["pv"].iloc[-1] == 120_000


def test_project_bac_scales_the_value_of_an_hour(cur, example_b):
    cur.execute("UPDATE projects SET bac = 150000 WHERE project_key = 'EVB'")
    r = run(cur, "EVB", month="2024-05")
    t = r.extra["table"]
    # 1 baseline hour is worth 150,000 / 200 = 750; AC stays at the hourly rate.
    assert (t["bac"], t["pv"], t["ev"], t["ac"]) == pytest.approx((150_000, 112_500, 75_000, 82_800))
    assert r.extra["bac_source"] == "projects.bac"
    assert {"code": "evm_bac_differs", "bac": 150000.0, "derived": 120000.0} in r.warnings


def test_without_rate_evm_runs_in_hours(cur, example_b):
    cur.execute("UPDATE projects SET hourly_rate = NULL, bac = 999999 WHERE project_key = 'EVB'")
    r = run(cur, "EVB", month="2024-05")
    t = r.extra["table"]
    assert (t["bac"], t["pv"], t["ev"], t["ac"]) == pytest.approx((200, 150, 100, 138))
    assert r.extra["unit"] == "h" and r.extra["currency"] is None
    assert {"code": "evm_no_rate"} in r.warnings


def test_baseline_estimate_from_the_first_import_snapshot(cur, example_b, insert):
    """No baseline date set: the first import is the baseline, with the estimates that export carried."""
    cur.execute("DELETE FROM settings WHERE project_key = 'EVB' AND name = 'evm_baseline_date'")
    cur.execute("DELETE FROM changes WHERE field = 'original_estimate_h'")   # no estimate history either
    insert("imports", [{"import_id": 1, "source_format": "jira-csv", "imported_at": "2024-04-03 12:00:00+08:00"}],
           project_key="EVB")
    insert("issue_snapshots", [{"import_id": 1, "issue_key": k, "original_estimate_h": h}
                               for k, h in (("A", 40), ("B", 60), ("C", 50), ("D", 50))], project_key="EVB")
    r = run(cur, "EVB", month="2024-05")
    assert r.extra["table"]["bac"] == pytest.approx(120_000)      # A at its snapshot's 40 h, not today's 48 h
    assert r.extra["baseline_date"] == date(2024, 4, 3)
    assert r.warnings == [{"code": "evm_baseline_default", "date": "2024-04-03"}]


def test_missing_due_dates_are_spread_to_the_project_end(cur, example_b):
    # D loses its due date; the project end is then the latest due date left (C, 05-31).
    cur.execute("UPDATE issues SET due_at = NULL WHERE issue_key = 'D'")
    r = run(cur, "EVB", month="2024-04")
    # D's 50 h are planned linearly from the baseline (04-01 23:59:59.999) to the end (05-31 00:00):
    # by 04-30 23:59:59.999, 29 of ~59 days.
    b = datetime(2024, 4, 1, 23, 59, 59, 999000, tzinfo=TZ).timestamp()
    end = datetime(2024, 5, 31, tzinfo=TZ).timestamp()
    t = datetime(2024, 4, 30, 23, 59, 59, 999000, tzinfo=TZ).timestamp()
    frac = (t - b) / (end - b)
    assert r.extra["table"]["pv"] == pytest.approx((40 + 50 * frac) * 600)
    assert {"code": "evm_due_missing", "count": 1, "end": "2024-05-31"} in r.warnings
    cur.execute("UPDATE issues SET due_at = NULL")
    r = run(cur, "EVB", month="2024-05")
    assert r.value is None and r.extra["table"]["pv"] is None and {"code": "evm_no_plan"} in r.warnings
    assert r.extra["table"]["cpi"] == pytest.approx(60_000 / 82_800)   # CPI does not need a plan


def test_unestimated_baseline_items_are_reported(cur, example_b):
    cur.execute("UPDATE issues SET original_estimate_h = NULL WHERE issue_key = 'D'")
    cur.execute("UPDATE issues SET remaining_estimate_h = NULL WHERE issue_key = 'D'")
    r = run(cur, "EVB", month="2024-05")
    assert r.extra["table"]["bac"] == pytest.approx(90_000)       # D counts 0 (G7) ...
    assert {"code": "unestimated_issues", "count": 1, "in_scope": 4} in r.warnings      # ... and is reported
    assert r.extra["coverage"] == pytest.approx(0.75)


def test_no_worklogs_falls_back_to_time_spent(cur, example_b, insert):
    cur.execute("DELETE FROM worklogs")
    r = run(cur, "EVB", month="2024-05")
    # Each issue's time spent counts at its final done_at (A 45 h, E 18 h, B 55 h); open C's 25 h only
    # once the data is current (no import: now), as rework_effort counts it.
    assert r.extra["table"]["ac"] == pytest.approx(118 * 600)
    assert list(r.series["ac"]) == [45 * 600, 118 * 600]
    assert {"code": "evm_ac_from_time_spent"} in r.warnings
    # An export taken on 05-25 dates C's hours: they are in May's actual cost.
    insert("imports", [{"import_id": 7, "source_format": "zentao-task", "imported_at": "2024-05-25 12:00:00+08:00"}],
           project_key="EVB")
    assert run(cur, "EVB", month="2024-05").extra["table"]["ac"] == pytest.approx(143 * 600)
    # ZenTao adds child hours into the parent: a parent's own time spent is not counted again.
    insert("issues", [{"issue_key": "E1", "type": "subtask", "parent_key": "E", "status_category": "done",
                       "created_at": "2024-04-10 11:00:00+08:00", "done_at": "2024-05-12 17:00:00+08:00",
                       "time_spent_h": 18}], project_key="EVB")
    assert run(cur, "EVB", month="2024-05").extra["table"]["ac"] == pytest.approx(143 * 600)


def test_cancelled_baseline_items_leave_the_baseline(cur, example_b):
    cur.execute("UPDATE issues SET status_category = 'done', resolution_class = 'invalid', "
                "done_at = '2024-05-02 10:00:00+08:00' WHERE issue_key = 'D'")
    r = run(cur, "EVB", month="2024-05")
    # D (50 h) earns nothing and is no longer planned work: BAC 150 h.
    assert r.extra["table"]["bac"] == pytest.approx(90_000) and r.extra["table"]["ev"] == pytest.approx(60_000)
    assert {"code": "evm_cancelled_excluded", "count": 1} in r.warnings


def test_hours_at_leaf_level(cur, example_b, insert):
    """G6: estimated sub-tasks replace their parent's own estimate."""
    insert("issues", [
        {"issue_key": "P", "type": "task", "status_category": "todo", "created_at": "2024-03-25 10:00:00+08:00",
         "due_at": "2024-06-28 00:00:00+08:00", "original_estimate_h": 30},
        {"issue_key": "P1", "type": "subtask", "parent_key": "P", "status_category": "todo",
         "created_at": "2024-03-25 10:00:00+08:00", "original_estimate_h": 10},
        {"issue_key": "P2", "type": "subtask", "parent_key": "P", "status_category": "todo",
         "created_at": "2024-03-25 10:00:00+08:00", "original_estimate_h": 15},
    ], project_key="EVB")
    r = run(cur, "EVB", month="2024-05")
    assert r.extra["baseline_hours"] == pytest.approx(200 + 10 + 15)
    # the sub-tasks have no due date: spread to the project end, said so
    assert {"code": "evm_due_missing", "count": 2, "end": "2024-06-28"} in r.warnings


def test_requirements_broken_down_into_tasks_are_not_counted_twice(cur, example_b, insert):
    insert("issues", [{"issue_key": "STORY-1", "type": "requirement", "status_category": "in_progress",
                       "created_at": "2024-03-20 10:00:00+08:00", "original_estimate_h": 200}], project_key="EVB")
    r = run(cur, "EVB", month="2024-05")
    assert r.extra["baseline_hours"] == pytest.approx(200)      # the tasks' hours only


def test_invalid_baseline_date_setting(cur, example_b):
    cur.execute("UPDATE settings SET value = '2024/04/01' WHERE name = 'evm_baseline_date'")
    r = run(cur, "EVB", month="2024-05")
    assert r.warnings[0] == {"code": "setting_invalid", "name": "evm_baseline_date", "value": "2024/04/01"}


def test_empty_project_says_why(cur):
    r = run(cur, "NONE")
    assert r.value is None and r.series.empty and r.warnings == [{"code": "no_data"}]


# --- Example C: AgileEVM --------------------------------------------------------------------------------------

def test_example_c_agile(cur, load_json):
    load_json("evm_example_c.json")
    r = run(cur, "EVC", month="2024-02")
    t = r.extra["table"]
    assert r.extra["ev_rule"] == "agile" and r.extra["planned_sprints"] == 10
    assert (r.extra["baseline_points"], r.extra["completed_points"]) == (200, 70)    # S9 is not baseline
    assert t["bac"] == pytest.approx(600_000)
    assert t["pv"] == pytest.approx(240_000)          # 4 of 10 sprints ended
    assert t["ev"] == pytest.approx(210_000)          # 70 / 200 points
    assert t["ac"] == pytest.approx(270_000)          # 450 h × 600
    assert round(t["spi"], 3) == 0.875 and round(t["cpi"], 3) == 0.778
    assert r.value == pytest.approx(0.875)
    assert r.warnings == []
    # The S-curve starts in the baseline month (nothing planned, earned or spent yet: no index, not 0).
    rows = {m: (pv, ev, ac, spi, cpi) for m, pv, ev, ac, spi, cpi in r.series.itertuples(index=False)}
    assert list(rows) == ["2023-12", "2024-01", "2024-02"]
    assert rows["2023-12"][:3] == (0, 0, 0) and all(x != x for x in rows["2023-12"][3:])   # NaN
    # January: 2 sprints ended, 40 points done, 200 h logged
    assert rows["2024-01"] == (120_000, 120_000, 120_000, 1.0, 1.0)


def test_agile_without_planned_sprints_uses_the_known_ones(cur, load_json):
    load_json("evm_example_c.json")
    cur.execute("DELETE FROM settings WHERE name = 'planned_sprints'")
    r = run(cur, "EVC", month="2024-02")
    assert r.extra["planned_sprints"] == 5
    assert r.extra["table"]["pv"] == pytest.approx(600_000 * 4 / 5)
    assert {"code": "evm_planned_sprints_default", "count": 5} in r.warnings


# --- The demo ---------------------------------------------------------------------------------------------------

def test_demo_erp_spi_below_0_9_in_june(cur, tmp_path: Path):
    load_demo(cur, date(2026, 11, 25), tmp_path)
    r = run(cur, "ERP", month="2026-06")
    # Hand check (demo of 2026-11-25): the baseline is the WBS tasks created at the kick-off (the demo sets
    # evm_baseline_date to that day); their hours are the demo's own BAC (projects.bac / hourly_rate). By
    # 2026-06-30 tasks of 2,712 h are due and 2,272 h done (0/100): SPI = 2272 / 2712 = 0.8378.
    bac, rate = cur.execute("SELECT bac, hourly_rate FROM projects WHERE project_key = 'ERP'").fetchone()
    assert r.extra["baseline_hours"] == pytest.approx(bac / rate)
    assert r.extra["table"]["bac"] == pytest.approx(bac) and {"code": "evm_bac_differs"} not in [
        {"code": w["code"]} for w in r.warnings]
    assert r.extra["table"]["pv"] == pytest.approx(2712 * 600)
    assert r.extra["table"]["ev"] == pytest.approx(2272 * 600)
    assert round(r.value, 4) == 0.8378 and r.value < 0.9
    # The same figure straight from the issues, independently of the baseline machinery.
    baseline = cur.execute("SELECT value FROM settings WHERE project_key = 'ERP' AND name = 'evm_baseline_date'"
                           ).fetchone()[0]
    b = datetime.combine(date.fromisoformat(baseline) + timedelta(days=1), datetime.min.time(), TZ)
    end = datetime(2026, 7, 1, tzinfo=TZ)
    pv, ev = cur.execute(
        "SELECT sum(original_estimate_h) FILTER (WHERE due_at < $e), sum(original_estimate_h) FILTER "
        "(WHERE status_category = 'done' AND done_at < $e) FROM issues WHERE project_key = 'ERP' "
        "AND type = 'task' AND created_at < $b AND resolution_class IS DISTINCT FROM 'invalid'",
        {"e": end, "b": b}).fetchone()
    assert (pv, ev) == (2712, 2272) and r.value == pytest.approx(ev / pv)
    # The months before the slip are on plan; the trend shows the dip.
    spi = dict(zip(r.series["month"], r.series["spi"]))
    assert spi["2026-05"] == pytest.approx(1.0) and spi["2026-06"] < 0.9
    assert r.extra["unit"] == "CNY"
