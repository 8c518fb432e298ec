"""DRE and leakage (METRICS.md §4); defect aging, MTTR, arrival vs closure (§6): worked examples whole, the
rules around them, and each metric on the demo database against a hand-written SQL count."""
from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics import REGISTRY, compute
from metrics.quality_flow import converging

TZ = ZoneInfo("Asia/Shanghai")
DRE_COLUMNS = ["series", "d_pre", "d_post", "dre", "leakage", "shipped_known"]


def at(text: str) -> str:
    return f"{text}+08:00"


def clean(records):
    """NaN -> None, floats rounded to 4 places: rows compare whole."""
    out = []
    for rec in records:
        row = {}
        for k, v in rec.items():
            if isinstance(v, float):
                v = None if math.isnan(v) else round(v, 4)
            row[k] = v
        out.append(row)
    return out


def rows(result):
    return clean(result.series.to_dict("records"))


@pytest.mark.parametrize("metric_id, names", [
    ("dre", ("Defect removal efficiency", "缺陷排除效率", "%", "higher_is_better", "4", ("release", "month"))),
    ("leakage", ("Defect leakage", "缺陷逃逸率", "%", "lower_is_better", "4", ("release", "month"))),
    ("defect_aging", ("Defect aging", "缺陷存活时长", "days", "lower_is_better", "6", ("month",))),
    ("mttr", ("Mean time to resolve", "平均修复时长", "days", "lower_is_better", "6", ("month",))),
    ("defect_arrival", ("Defect arrival vs closure", "缺陷发现-关闭趋势(收敛曲线)", "defects", "lower_is_better", "6",
                        ("month", "period"))),
])
def test_registry_entries(metric_id, names):
    m = REGISTRY[metric_id]
    assert (m.name_en, m.name_zh, m.unit, m.direction, m.section, m.params) == names


# --- DRE / leakage (§4) ------------------------------------------------------------------------------------

DRE_EXAMPLE = [
    {"series": "all", "d_pre": 50, "d_post": 5, "dre": 0.9091, "leakage": 0.0909, "shipped_known": 3},
    {"series": "s1_s2", "d_pre": 10, "d_post": 1, "dre": 0.9091, "leakage": 0.0909, "shipped_known": 1},
    {"series": "s1", "d_pre": 2, "d_post": 1, "dre": 0.6667, "leakage": 0.3333, "shipped_known": 1},
    {"series": "s2", "d_pre": 8, "d_post": 0, "dre": 1.0, "leakage": 0.0, "shipped_known": 0},
    {"series": "s3", "d_pre": 25, "d_post": 2, "dre": 0.9259, "leakage": 0.0741, "shipped_known": 1},
    {"series": "s4", "d_pre": 15, "d_post": 2, "dre": 0.8824, "leakage": 0.1176, "shipped_known": 1},
]


@pytest.fixture
def dre_example(load_json):
    return load_json("dre_worked_example.json")


def test_dre_worked_example(cur, dre_example):
    r = compute("dre", cur, project_key="DR", release="R1", month="2024-06")
    assert r.value == 50 / 55 and round(r.value, 3) == 0.909
    assert list(r.series.columns) == DRE_COLUMNS
    assert rows(r) == DRE_EXAMPLE
    assert r.series.iloc[1]["dre"] == 10 / 11             # S1–S2 only: 10 / (10 + 1) = 90.9%
    assert r.warnings == []
    assert {k: v for k, v in r.extra.items() if k != "releases"} == {
        "month": "2024-06", "release": "R1", "window_days": 90, "release_scope": "version",
        "release_date_source": "milestone_actual", "release_date": "2024-03-01", "window_end": "2024-05-30",
        "provisional": False, "shipped_known": 3, "shipped_known_keys": ["PRE-00", "PRE-12", "PRE-40"]}
    assert r.extra["releases"] == [
        {"name": "R0", "scope": "version", "source": "milestone_actual", "date": "2023-12-01"},
        {"name": "R1", "scope": "version", "source": "milestone_actual", "date": "2024-03-01"},
        {"name": "R1.0.1", "scope": "version", "source": None, "date": None},
        {"name": "R2", "scope": "version", "source": None, "date": None},
    ]


def test_leakage_is_one_minus_dre(cur, dre_example):
    r = compute("leakage", cur, project_key="DR", release="R1", month="2024-06")
    assert r.value == pytest.approx(5 / 55) and round(r.value, 3) == 0.091
    assert rows(r) == DRE_EXAMPLE and r.warnings == []


def test_dre_default_release_is_the_last_dated_version_before_the_month_end(cur, dre_example, insert):
    assert compute("dre", cur, project_key="DR", month="2024-06").extra["release"] == "R1"
    # R2 gets a date from its latest resolution (no milestone): released 06-20, so June's default.
    insert("issues", [{"issue_key": "R2-STORY", "type": "story", "fix_versions": ["R2"], "status_category": "done",
                       "resolution_class": "delivered", "created_at": at("2024-04-01 10:00:00"),
                       "done_at": at("2024-06-20 10:00:00")}], project_key="DR")
    r = compute("dre", cur, project_key="DR", month="2024-06")
    assert (r.extra["release"], r.extra["release_date"], r.extra["release_date_source"]) == (
        "R2", "2024-06-20", "latest_done")
    # R2: its SIT bug (pre) and its phase-empty bug of 04-15 (created before its release: pre); no leak yet.
    assert rows(r)[0] == {"series": "all", "d_pre": 2, "d_post": 0, "dre": 1.0, "leakage": 0.0, "shipped_known": 2}
    assert r.warnings == [{"code": "release_date_inferred", "release": "R2", "date": "2024-06-20"},
                          {"code": "dre_provisional", "release": "R2", "until": "2024-09-18"}]
    assert compute("dre", cur, project_key="DR", month="2024-05").extra["release"] == "R1"


def test_dre_is_provisional_until_the_window_closes(cur, dre_example):
    r = compute("dre", cur, project_key="DR", release="R1", month="2024-04")
    # D_post so far: POST-1 (03-01), POST-4 (04-01), POST-2 (04-10); POST-3 (05-20) and POST-5 (05-29) not yet.
    assert rows(r)[0] == {"series": "all", "d_pre": 50, "d_post": 3, "dre": 0.9434, "leakage": 0.0566,
                          "shipped_known": 3}
    assert r.extra["provisional"] is True
    assert r.warnings == [{"code": "dre_provisional", "release": "R1", "until": "2024-05-30"}]


def test_window_setting(cur, dre_example, insert):
    insert("settings", [{"project_key": "DR", "name": "dre_window_days", "value": "30"}])
    r = compute("dre", cur, project_key="DR", release="R1", month="2024-06")
    assert rows(r)[0] == {"series": "all", "d_pre": 50, "d_post": 1, "dre": 0.9804, "leakage": 0.0196,
                          "shipped_known": 3}
    assert (r.extra["window_days"], r.extra["window_end"], r.warnings) == (30, "2024-03-31", [])
    cur.execute("UPDATE settings SET value = 'ninety' WHERE name = 'dre_window_days'")
    r = compute("dre", cur, project_key="DR", release="R1", month="2024-06")
    assert (r.value, r.extra["window_days"]) == (50 / 55, 90)
    assert r.warnings == [{"code": "setting_invalid", "name": "dre_window_days", "value": "ninety"}]


def test_release_date_from_the_baseline_then_from_the_latest_resolution(cur, dre_example):
    cur.execute("UPDATE milestones SET actual_date = NULL WHERE name = 'R1'")     # baseline 02-26 stays
    r = compute("dre", cur, project_key="DR", release="R1", month="2024-06")
    # PRE-47 (phase empty, 02-29) is now after the release: a leak; POST-5 (05-29) is past the 90 days.
    assert rows(r)[0] == {"series": "all", "d_pre": 49, "d_post": 5, "dre": 0.9074, "leakage": 0.0926,
                          "shipped_known": 3}
    assert r.warnings == [{"code": "release_date_baseline", "release": "R1", "date": "2024-02-26"}]
    cur.execute("DELETE FROM milestones WHERE name = 'R1'")
    r = compute("dre", cur, project_key="DR", release="R1", month="2024-06")
    # Latest resolution among R1's issues: PRE-41, 03-15 10:00. POST-1 (03-01, production) is before it;
    # X-LATE (05-30, production) is now inside the 90 days; PRE-12 was resolved (03-10) before it.
    assert (r.extra["release_date"], r.extra["release_date_source"]) == ("2024-03-15", "latest_done")
    assert rows(r)[0] == {"series": "all", "d_pre": 50, "d_post": 5, "dre": 0.9091, "leakage": 0.0909,
                          "shipped_known": 2}
    assert r.extra["shipped_known_keys"] == ["PRE-00", "PRE-40"]
    assert r.warnings == [{"code": "release_date_inferred", "release": "R1", "date": "2024-03-15"}]


def test_releases_that_cannot_be_measured(cur, dre_example):
    def result(**kw):
        r = compute("dre", cur, project_key="DR", **kw)
        return r.value, r.warnings, len(r.series)
    assert result(release="R9", month="2024-06") == (None, [{"code": "release_not_found", "release": "R9"}], 0)
    assert result(release="R2", month="2024-06") == (None, [{"code": "release_date_unknown", "release": "R2"}], 0)
    assert result(release="R1", month="2024-02") == (
        None, [{"code": "release_after_month", "release": "R1", "date": "2024-03-01", "month": "2024-02"}], 0)
    assert result(month="2023-11") == (None, [{"code": "no_release", "month": "2023-11"}], 0)
    assert compute("dre", cur, project_key="NOBODY").warnings == [{"code": "no_data"}]


def test_release_with_no_bugs_of_its_own(cur, dre_example):
    r = compute("dre", cur, project_key="DR", release="R0", month="2024-06")
    # R0 (2023-12-01) has no pre-release bug; its production bug of 02-20 is inside its window (the
    # phase-empty bugs of those weeks are R1's, not yet released when reported).
    assert (r.value, rows(r)[0]) == (0.0, {"series": "all", "d_pre": 0, "d_post": 1, "dre": 0.0,
                                           "leakage": 1.0, "shipped_known": 0})
    assert r.warnings == [{"code": "release_has_no_bugs", "release": "R0"}]


@pytest.fixture
def golive(insert):
    """A waterfall project without fix versions: releases are the PMO's go-live milestones (project scope)."""
    insert("projects", [{"project_key": "GL", "timezone": "Asia/Shanghai"}])
    insert("milestones", [
        {"name": "Phase 1 上线", "actual_date": "2024-01-15"},
        {"name": "UAT 完成", "actual_date": "2024-03-20"},        # not a release by its name
        {"name": "Phase 2 上线", "baseline_date": "2024-03-25", "actual_date": "2024-04-01"},
        {"name": "项目验收", "actual_date": "2024-05-15"},          # not a release either
    ], project_key="GL")
    bug = {"type": "bug", "status_category": "todo", "severity": "S3"}
    insert("issues", [
        *[{"issue_key": f"P1-{i}", "created_at": at(f"2024-01-0{5 + i} 10:00:00")} for i in range(3)],
        *[{"issue_key": f"P2-{i}", "created_at": at(f"2024-{day} 10:00:00"), "found_phase": "SIT"}
          for i, day in enumerate(["01-20", "02-01", "02-10", "02-20", "03-01", "03-20"])],
        {"issue_key": "PROD-1", "created_at": at("2024-02-10 15:00:00"), "found_phase": "生产"},
        {"issue_key": "LATE-1", "created_at": at("2024-04-10 10:00:00")},
        {"issue_key": "LATE-2", "created_at": at("2024-05-01 10:00:00"), "found_phase": "生产"},
        {"issue_key": "DUP", "created_at": at("2024-05-02 10:00:00"), "found_phase": "生产",
         "status_category": "done", "resolution_class": "invalid"},
    ], project_key="GL", **bug)


def test_dre_over_go_live_milestones(cur, golive):
    r = compute("dre", cur, project_key="GL", month="2024-06")
    # Phase 2: pre = the SIT bugs since Phase 1 went live; post = LATE-1 and LATE-2. P1-* belong to Phase 1.
    assert (r.extra["release"], r.extra["release_scope"], r.extra["release_date"]) == (
        "Phase 2 上线", "project", "2024-04-01")
    assert rows(r)[0] == {"series": "all", "d_pre": 6, "d_post": 2, "dre": 0.75, "leakage": 0.25,
                          "shipped_known": 6}
    assert [x["name"] for x in r.extra["releases"]] == ["Phase 1 上线", "Phase 2 上线"]
    r = compute("dre", cur, project_key="GL", release="phase 1 上线", month="2024-06")
    # Phase 1: pre = P1-*; post = PROD-1 (production) and LATE-1 (no phase, inside the 90 days).
    assert rows(r)[0] == {"series": "all", "d_pre": 3, "d_post": 2, "dre": 0.6, "leakage": 0.4,
                          "shipped_known": 3}
    # Any milestone can be asked for by name.
    assert compute("dre", cur, project_key="GL", release="UAT 完成", month="2024-06").extra["release_scope"] == (
        "project")


# --- Defect aging (§6) ---------------------------------------------------------------------------------------

AGING_COLUMNS = ["issue_key", "title", "severity", "sev", "created", "age_days", "bucket"]


def test_aging_worked_example(cur, load_json):
    load_json("defect_aging_worked_example.json")
    r = compute("defect_aging", cur, project_key="AG", month="2024-06")
    assert list(r.series.columns) == AGING_COLUMNS
    assert rows(r) == [
        {"issue_key": "A4", "title": "提示语错别字", "severity": "Trivial", "sev": "s4", "created": "2024-01-15",
         "age_days": 167, "bucket": ">90"},
        {"issue_key": "A3", "title": "导出乱码", "severity": "3", "sev": "s3", "created": "2024-05-01",
         "age_days": 60, "bucket": "31-90"},
        {"issue_key": "A2", "title": "报表错位", "severity": "严重", "sev": "s2", "created": "2024-06-20",
         "age_days": 10, "bucket": "8-30"},
        {"issue_key": "A1", "title": "登录超时", "severity": "S1", "sev": "s1", "created": "2024-06-28",
         "age_days": 2, "bucket": "0-7"},
    ]
    assert r.value == (2 + 10 + 60 + 167) / 4 == 59.75
    assert r.warnings == []
    assert r.extra == {"month": "2024-06", "snapshot": "2024-06-30", "open": 4, "median_age": 35.0, "buckets": [
        {"bucket": "0-7", "s1": 1, "s2": 0, "s3": 0, "s4": 0, "unknown": 0, "total": 1},
        {"bucket": "8-30", "s1": 0, "s2": 1, "s3": 0, "s4": 0, "unknown": 0, "total": 1},
        {"bucket": "31-90", "s1": 0, "s2": 0, "s3": 1, "s4": 0, "unknown": 0, "total": 1},
        {"bucket": ">90", "s1": 0, "s2": 0, "s3": 0, "s4": 1, "unknown": 0, "total": 1},
    ]}


def test_aging_reads_the_status_history_at_the_snapshot(cur, load_json):
    load_json("defect_aging_worked_example.json")
    r = compute("defect_aging", cur, project_key="AG", month="2024-05")
    # On 05-31: X5 is in progress (its history), A3 and A4 open; A1, A2, X1 not yet reported.
    assert [(x["issue_key"], x["age_days"], x["bucket"]) for x in rows(r)] == [
        ("A4", 137, ">90"), ("A3", 30, "8-30"), ("X5", 21, "8-30")]
    assert r.value == pytest.approx((137 + 30 + 21) / 3)


def test_aging_with_no_open_defect(cur, load_json):
    load_json("defect_aging_worked_example.json")
    r = compute("defect_aging", cur, project_key="AG", month="2023-12")
    assert (r.value, len(r.series), r.warnings) == (None, 0, [{"code": "no_open_defects", "date": "2023-12-31"}])
    assert [b["total"] for b in r.extra["buckets"]] == [0, 0, 0, 0]
    assert compute("defect_aging", cur, project_key="NOBODY").warnings == [{"code": "no_data"}]


# --- MTTR (§6) -------------------------------------------------------------------------------------------

def test_mttr_worked_example(cur, load_json):
    load_json("mttr_worked_example.json")
    r = compute("mttr", cur, project_key="MT", month="2024-06")
    assert (r.value, r.series.iloc[0]["median_days"]) == (4.0, 2.5)
    assert list(r.series.columns) == ["series", "resolved", "mean_days", "median_days"]
    assert rows(r) == [
        {"series": "all", "resolved": 4, "mean_days": 4.0, "median_days": 2.5},
        {"series": "s1", "resolved": 1, "mean_days": 1.0, "median_days": 1.0},
        {"series": "s2", "resolved": 2, "mean_days": 2.5, "median_days": 2.5},
        {"series": "s3", "resolved": 1, "mean_days": 10.0, "median_days": 10.0},
        {"series": "s4", "resolved": 0, "mean_days": None, "median_days": None},
    ]
    assert (r.warnings, r.extra) == ([], {"month": "2024-06"})


def test_mttr_bad_dates_and_empty_month(cur, insert):
    insert("issues", [
        {"issue_key": "OK", "created_at": at("2024-06-01 10:00:00"), "done_at": at("2024-06-01 22:00:00")},
        {"issue_key": "BACK", "created_at": at("2024-06-09 10:00:00"), "done_at": at("2024-06-08 10:00:00")},
        {"issue_key": "NOCREATE", "created_at": None, "done_at": at("2024-06-08 10:00:00")},
    ], project_key="BD", type="bug", severity=None, status_category="done", resolution_class="delivered")
    r = compute("mttr", cur, project_key="BD", month="2024-06")
    assert rows(r) == [
        {"series": "all", "resolved": 1, "mean_days": 0.5, "median_days": 0.5},
        {"series": "s1", "resolved": 0, "mean_days": None, "median_days": None},
        {"series": "s2", "resolved": 0, "mean_days": None, "median_days": None},
        {"series": "s3", "resolved": 0, "mean_days": None, "median_days": None},
        {"series": "s4", "resolved": 0, "mean_days": None, "median_days": None},
        {"series": "unknown", "resolved": 1, "mean_days": 0.5, "median_days": 0.5},
    ]
    assert r.warnings == [{"code": "bad_durations", "count": 2}]
    r = compute("mttr", cur, project_key="BD", month="2024-05")
    assert (r.value, r.warnings) == (None, [{"code": "no_resolved_in_period", "month": "2024-05"}])


# --- Arrival vs closure (§6) ------------------------------------------------------------------------------

def test_arrival_worked_example_weekly(cur, load_json):
    load_json("defect_arrival_worked_example.json")
    r = compute("defect_arrival", cur, project_key="AR", month="2024-06")
    assert list(r.series.columns) == ["period_start", "period_end", "arrived", "closed", "cum_arrived",
                                      "cum_closed", "open"]
    assert rows(r) == [
        {"period_start": "2024-05-27", "period_end": "2024-06-02", "arrived": 10, "closed": 4, "cum_arrived": 10,
         "cum_closed": 4, "open": 6},
        {"period_start": "2024-06-03", "period_end": "2024-06-09", "arrived": 14, "closed": 9, "cum_arrived": 24,
         "cum_closed": 13, "open": 11},
        {"period_start": "2024-06-10", "period_end": "2024-06-16", "arrived": 12, "closed": 12, "cum_arrived": 36,
         "cum_closed": 25, "open": 11},
        {"period_start": "2024-06-17", "period_end": "2024-06-23", "arrived": 8, "closed": 11, "cum_arrived": 44,
         "cum_closed": 36, "open": 8},
        {"period_start": "2024-06-24", "period_end": "2024-06-30", "arrived": 5, "closed": 9, "cum_arrived": 49,
         "cum_closed": 45, "open": 4},
    ]
    assert r.value == 4
    assert r.warnings == []
    assert r.extra == {"month": "2024-06", "period": "week", "converging": True, "as_of": "2024-06-30",
                       "cum_arrived": 49, "cum_closed": 45}


def test_arrival_monthly_and_weeks_across_the_month_end(cur, load_json):
    load_json("defect_arrival_worked_example.json")
    r = compute("defect_arrival", cur, project_key="AR", month="2024-06", period="month")
    assert rows(r) == [
        {"period_start": "2024-05-01", "period_end": "2024-05-31", "arrived": 10, "closed": 4, "cum_arrived": 10,
         "cum_closed": 4, "open": 6},
        {"period_start": "2024-06-01", "period_end": "2024-06-30", "arrived": 39, "closed": 41, "cum_arrived": 49,
         "cum_closed": 45, "open": 4},
    ]
    assert (r.value, r.extra["converging"]) == (4, None)
    # July ends on a Wednesday: the last complete week ends Sunday 07-28 (07-29..08-04 is August's).
    r = compute("defect_arrival", cur, project_key="AR", month="2024-07")
    assert len(r.series) == 9 and r.extra["as_of"] == "2024-07-28"
    assert rows(r)[-4:-2] == [
        {"period_start": "2024-07-01", "period_end": "2024-07-07", "arrived": 1, "closed": 1, "cum_arrived": 50,
         "cum_closed": 46, "open": 4},
        {"period_start": "2024-07-08", "period_end": "2024-07-14", "arrived": 0, "closed": 0, "cum_arrived": 50,
         "cum_closed": 46, "open": 4},
    ]
    assert (r.value, r.extra["converging"]) == (4, False)


def test_arrival_bad_period_and_no_defects(cur, load_json):
    load_json("defect_arrival_worked_example.json")
    with pytest.raises(ValueError):
        compute("defect_arrival", cur, project_key="AR", month="2024-06", period="day")
    r = compute("defect_arrival", cur, project_key="AR", month="2024-04")
    assert (r.value, len(r.series), r.warnings) == (None, 0, [{"code": "no_valid_defects", "month": "2024-04"}])


@pytest.mark.parametrize("arrived, open_, verdict", [
    ([10, 14, 12, 8, 5], [6, 11, 11, 8, 4], True),        # the worked example
    ([10, 14, 12, 8, 5], [6, 11, 11, 4, 8], False),       # open rose in the last period
    ([14, 12, 12, 5], [9, 8, 7, 6], False),               # arrivals flat once
    ([20, 14, 12, 8], [6, 5, 4, 3], True),
    ([14, 12, 8], [6, 5, 4], None),                       # fewer than 4 periods
])
def test_converging_rule(arrived, open_, verdict):
    assert converging(arrived, open_) is verdict


# --- On the demo database ------------------------------------------------------------------------------------

DEMO_TODAY = date(2026, 11, 25)
VALID = "type = 'bug' AND resolution_class IS DISTINCT FROM 'invalid'"


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


def _busiest_bug_project(cur) -> str:
    return cur.execute(f"SELECT project_key FROM issues WHERE {VALID} GROUP BY 1 ORDER BY count(*) DESC, 1"
                       " LIMIT 1").fetchone()[0]


def _local(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), TZ)


def test_dre_and_leakage_on_the_demo(demo_cur):
    cur = demo_cur
    pk = _busiest_bug_project(cur)
    # Its bug exports carry no fix version, so its releases are go-live milestones (project scope).
    assert cur.execute("SELECT count(*) FROM issues WHERE project_key = ? AND type = 'bug' AND"
                       " len(coalesce(fix_versions, [])) > 0", [pk]).fetchone()[0] == 0
    cur.execute("BEGIN TRANSACTION")
    try:
        go_lives = cur.execute(
            "SELECT name, coalesce(actual_date, baseline_date) AS day FROM milestones WHERE project_key = ?"
            " AND regexp_matches(lower(name), 'release|go-live|上线|发布|投产') AND day < DATE '2026-12-01'"
            " ORDER BY day DESC", [pk]).fetchall()
        if not go_lives:          # as the PMO would: enter the go-live
            cur.execute("INSERT INTO milestones (project_key, name, actual_date) VALUES (?, 'Go-live 上线',"
                        " DATE '2026-09-01')", [pk])
            go_lives = [("Go-live 上线", date(2026, 9, 1))]
        name, day = go_lives[0]
        rel, as_of = _local(day), _local(date(2026, 12, 1))
        prev = _local(go_lives[1][1]) if len(go_lives) > 1 else None
        post_to = min(rel + timedelta(days=90), as_of)
        prod = "(found_phase ILIKE '%生产%' OR found_phase ILIKE '%prod%' OR found_phase ILIKE '%线上%')"
        no_phase = "(found_phase IS NULL OR trim(found_phase) = '')"
        pre, post = cur.execute(
            f"SELECT count(*) FILTER (WHERE created_at < $rel AND ($prev IS NULL OR created_at >= $prev)"
            f"                        AND ({no_phase} OR NOT {prod})),"
            f"       count(*) FILTER (WHERE created_at >= $rel AND created_at < $post_to AND ({no_phase} OR {prod}))"
            f" FROM issues WHERE project_key = $pk AND {VALID}",
            {"pk": pk, "rel": rel, "prev": prev, "post_to": post_to}).fetchone()
        assert pre > 0 and post > 0
        r = compute("dre", cur, project_key=pk, month="2026-11")
        assert (r.extra["release"], r.extra["release_scope"], r.extra["release_date"]) == (
            name, "project", day.isoformat())
        assert (r.series.iloc[0]["d_pre"], r.series.iloc[0]["d_post"]) == (pre, post)
        assert r.value == pre / (pre + post)
        assert compute("leakage", cur, project_key=pk, month="2026-11").value == pytest.approx(post / (pre + post))
    finally:
        cur.execute("ROLLBACK")


def test_aging_mttr_and_arrival_on_the_demo(demo_cur):
    cur = demo_cur
    pk = _busiest_bug_project(cur)
    snap, month_start, month_end = _local(date(2026, 12, 1)), _local(date(2026, 10, 1)), _local(date(2026, 11, 1))
    has_history = cur.execute("SELECT count(*) FROM changes WHERE project_key = ? AND field = 'status_category'",
                              [pk]).fetchone()[0]
    assert has_history == 0          # so "open at the snapshot" is: not done by then
    n_open, ages = cur.execute(
        f"SELECT count(*), sum(date_diff('day', timezone('Asia/Shanghai', created_at)::DATE, DATE '2026-11-30'))"
        f" FROM issues WHERE project_key = $pk AND {VALID} AND created_at < $snap"
        f"   AND NOT coalesce(done_at < $snap, false) AND NOT (status_category = 'done' AND done_at IS NULL)",
        {"pk": pk, "snap": snap}).fetchone()
    r = compute("defect_aging", cur, project_key=pk, month="2026-11")
    assert n_open > 0 and (r.extra["open"], r.value) == (n_open, ages / n_open)

    n, mean = cur.execute(
        f"SELECT count(*), avg(epoch(done_at - created_at) / 86400) FROM issues"
        f" WHERE project_key = $pk AND {VALID} AND done_at >= $s AND done_at < $e",
        {"pk": pk, "s": month_start, "e": month_end}).fetchone()
    r = compute("mttr", cur, project_key=pk, month="2026-10")
    assert n > 0 and r.series.iloc[0]["resolved"] == n and r.value == pytest.approx(mean)

    as_of = _local(date(2026, 11, 30))       # the last complete week of November ends Sunday 11-29
    arrived, closed = cur.execute(
        f"SELECT count(*) FILTER (WHERE created_at < $t), count(*) FILTER (WHERE done_at < $t) FROM issues"
        f" WHERE project_key = $pk AND {VALID}", {"pk": pk, "t": as_of}).fetchone()
    r = compute("defect_arrival", cur, project_key=pk, month="2026-11")
    assert (r.extra["cum_arrived"], r.extra["cum_closed"], r.value) == (arrived, closed, arrived - closed)
    assert r.extra["converging"] in (True, False)


def test_every_new_quality_metric_runs_on_every_demo_project(demo_cur):
    projects = [p for (p,) in demo_cur.execute("SELECT project_key FROM projects ORDER BY 1").fetchall()]
    assert projects
    for pk in projects:
        for metric_id in ("dre", "leakage", "defect_aging", "mttr", "defect_arrival"):
            r = compute(metric_id, demo_cur, project_key=pk)
            assert r.value is not None or r.warnings, (pk, metric_id)
