"""Defect density (METRICS.md §3) and its u-chart limits across modules (§8)."""
from __future__ import annotations

import math

import pytest

from metrics import REGISTRY, compute

# Severity texts as trackers write them; each list maps to one rank (metrics.common.SEVERITY_WORDS).
RANK_TEXTS = {1: ["1", "致命", "S1 - Critical"], 2: ["S2", "严重", "Major"],
              3: ["3", "一般", "Minor"], 4: ["4", "轻微", "Trivial", "建议"]}


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


@pytest.fixture
def example(cur, insert):
    """§3: 60 bugs, 10 INVALID (5 duplicate, 3 by-design, 2 not-reproducible), 50 valid
    (S1 2, S2 8, S3 25, S4 15; modules M1 30, M2 8, M3 12); 25 KLOC, 400 FP, 180 delivered points."""
    insert("projects", [{"project_key": "QA", "timezone": "Asia/Shanghai", "size_kloc": 25, "size_fp": 400}])
    insert("settings", [{"project_key": "QA", "name": "module_size_kloc",
                         "value": '{"M1": 12, "M2": 8, "M3": 5}'}])
    severities = [r for r, n in ((1, 2), (2, 8), (3, 25), (4, 15)) for _ in range(n)]
    modules = ["M1"] * 30 + ["M2"] * 8 + ["M3"] * 12
    # Valid = open, fixed, won't fix, postponed (G5): a spread of each.
    states = ([("todo", None, None)] * 10 + [("done", "delivered", "fixed")] * 30
              + [("done", "valid_not_fixed", "willnotfix")] * 5 + [("done", "valid_not_fixed", "postponed")] * 5)
    bugs = []
    for i, (rank, module, (status, cls, raw)) in enumerate(zip(severities, modules[7:] + modules[:7], states)):
        texts = RANK_TEXTS[rank]
        bugs.append({"issue_key": f"B{i}", "severity": texts[i % len(texts)], "components": [module],
                     "status_category": status, "resolution_class": cls, "resolution_raw": raw})
    for i, raw in enumerate(["duplicate"] * 5 + ["bydesign"] * 3 + ["notrepro"] * 2):
        bugs.append({"issue_key": f"X{i}", "severity": "1", "components": ["M1"], "status_category": "done",
                     "resolution_class": "invalid", "resolution_raw": raw})
    insert("issues", bugs, project_key="QA", type="bug", created_at=at("2024-05-15 10:00:00"))
    insert("issues", [
        # Found after the month's end: not in June's count.
        {"issue_key": "LATE", "type": "bug", "severity": "1", "components": ["M1"],
         "created_at": at("2024-07-01 00:30:00"), "status_category": "todo"},
        # 12 × 15 = 180 delivered points before the month's end ...
        *[{"issue_key": f"S{i}", "type": "story", "story_points": 15, "status_category": "done",
           "resolution_class": "delivered", "done_at": at("2024-06-20 10:00:00")} for i in range(12)],
        # ... but not: delivered after the month, won't-do, a sub-task's points (G6), an open story.
        {"issue_key": "S-JULY", "type": "story", "story_points": 20, "status_category": "done",
         "resolution_class": "delivered", "done_at": at("2024-07-01 00:30:00")},
        {"issue_key": "S-WONT", "type": "story", "story_points": 8, "status_category": "done",
         "resolution_class": "valid_not_fixed", "done_at": at("2024-06-10 10:00:00")},
        {"issue_key": "SUB", "type": "subtask", "story_points": 5, "status_category": "done",
         "resolution_class": "delivered", "done_at": at("2024-06-10 10:00:00")},
        {"issue_key": "S-OPEN", "type": "story", "story_points": 13, "status_category": "in_progress"},
    ], project_key="QA")


def test_registry_entry():
    m = REGISTRY["defect_density"]
    assert (m.name_en, m.name_zh, m.unit, m.direction, m.section, m.params) == (
        "Defect density", "缺陷密度", "defects/KLOC", "lower_is_better", "3", ("month", "basis"))


def test_worked_example_whole_series(cur, example):
    r = compute("defect_density", cur, project_key="QA", month="2024-06")
    assert r.value == 2.0
    assert r.warnings == []
    assert list(r.series.columns) == ["series", "module", "defects", "size", "density", "ucl", "lcl"]
    assert clean(r.series.to_dict("records")) == [
        {"series": "all", "module": None, "defects": 50, "size": 25.0, "density": 2.0, "ucl": None, "lcl": None},
        {"series": "s1_s3", "module": None, "defects": 35, "size": 25.0, "density": 1.4, "ucl": None, "lcl": None},
        {"series": "per_fp", "module": None, "defects": 50, "size": 400.0, "density": 0.125,
         "ucl": None, "lcl": None},
        {"series": "per_sp", "module": None, "defects": 50, "size": 180.0, "density": 0.2778,
         "ucl": None, "lcl": None},
        # §8 u-chart, ū = 50/25 = 2.0: M1 UCL 3.22, M2 UCL 3.50 / LCL 0.50, M3 UCL 3.90.
        {"series": "module", "module": "M1", "defects": 30, "size": 12.0, "density": 2.5,
         "ucl": 3.2247, "lcl": 0.7753},
        {"series": "module", "module": "M2", "defects": 8, "size": 8.0, "density": 1.0, "ucl": 3.5, "lcl": 0.5},
        {"series": "module", "module": "M3", "defects": 12, "size": 5.0, "density": 2.4,
         "ucl": 3.8974, "lcl": 0.1026},
    ]
    assert r.extra == {"month": "2024-06", "basis": "kloc", "unit": "defects/KLOC", "u_bar": 2.0}
    assert round(r.series["ucl"].iloc[4], 2) == 3.22 and round(r.series["ucl"].iloc[6], 2) == 3.90


def test_other_bases(cur, example):
    fp = compute("defect_density", cur, project_key="QA", month="2024-06", basis="fp")
    sp = compute("defect_density", cur, project_key="QA", month="2024-06", basis="sp")
    assert (fp.value, fp.extra["unit"]) == (0.125, "defects/FP")
    assert (round(sp.value, 3), sp.extra["unit"]) == (0.278, "defects/SP")
    with pytest.raises(ValueError):
        compute("defect_density", cur, project_key="QA", month="2024-06", basis="loc")


def test_default_month_is_latest_activity(cur, example):
    # The latest activity is July (LATE, S-JULY): LATE counts, S-JULY's 20 points are delivered by then.
    r = compute("defect_density", cur, project_key="QA")
    assert r.extra["month"] == "2024-07"
    assert clean(r.series.to_dict("records"))[:4] == [
        {"series": "all", "module": None, "defects": 51, "size": 25.0, "density": 2.04, "ucl": None, "lcl": None},
        {"series": "s1_s3", "module": None, "defects": 36, "size": 25.0, "density": 1.44, "ucl": None, "lcl": None},
        {"series": "per_fp", "module": None, "defects": 51, "size": 400.0, "density": 0.1275,
         "ucl": None, "lcl": None},
        {"series": "per_sp", "module": None, "defects": 51, "size": 200.0, "density": 0.255,
         "ucl": None, "lcl": None},
    ]


def test_bug_with_two_components_counts_once_in_total(cur, insert):
    insert("projects", [{"project_key": "K", "size_kloc": 10}])
    insert("issues", [
        {"issue_key": "1", "components": ["M1", "M2"], "severity": "S4"},
        {"issue_key": "2", "components": ["M1"], "severity": None},
        {"issue_key": "3", "components": [], "severity": "建议"},
        {"issue_key": "4", "components": ["M2"], "severity": "2", "resolution_class": "invalid"},
    ], project_key="K", type="bug", created_at=at("2024-06-01 10:00:00"))
    r = compute("defect_density", cur, project_key="K", month="2024-06")
    assert r.value == 0.3
    assert clean(r.series.to_dict("records")) == [
        {"series": "all", "module": None, "defects": 3, "size": 10.0, "density": 0.3, "ucl": None, "lcl": None},
        {"series": "s1_s3", "module": None, "defects": 0, "size": 10.0, "density": 0.0, "ucl": None, "lcl": None},
        {"series": "per_fp", "module": None, "defects": 3, "size": None, "density": None, "ucl": None, "lcl": None},
        {"series": "per_sp", "module": None, "defects": 3, "size": None, "density": None, "ucl": None, "lcl": None},
        {"series": "module", "module": "M1", "defects": 2, "size": None, "density": None, "ucl": None, "lcl": None},
        {"series": "module", "module": "M2", "defects": 1, "size": None, "density": None, "ucl": None, "lcl": None},
    ]
    assert r.warnings == [{"code": "severity_unknown", "count": 1},
                          {"code": "module_size_unknown", "modules": ["M1", "M2"]}]


@pytest.mark.parametrize("size", [None, 0])
def test_size_unknown_is_null_never_infinity(cur, insert, size):
    insert("projects", [{"project_key": "NZ", "size_kloc": size}])
    insert("issues", [{"issue_key": "1", "type": "bug", "severity": "1",
                       "created_at": at("2024-06-01 10:00:00")}], project_key="NZ")
    r = compute("defect_density", cur, project_key="NZ", month="2024-06")
    assert r.value is None
    assert r.warnings == [{"code": "size_unknown", "basis": "kloc"}]
    assert clean(r.series.to_dict("records"))[0] == {
        "series": "all", "module": None, "defects": 1, "size": None if size is None else 0.0,
        "density": None, "ucl": None, "lcl": None}


def test_project_without_issues(cur):
    r = compute("defect_density", cur, project_key="EMPTY")
    assert (r.value, r.warnings, len(r.series)) == (None, [{"code": "no_data"}], 0)
