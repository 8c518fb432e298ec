"""Quality: density per KLOC / S1-S3 / FP / SP for the chosen month, density by module against the project
line, the reopen rate with its counts, every warning translated."""
from __future__ import annotations

import pytest

from tests.app.helpers import app, charts, dataset_with, metrics_by_label, texts, widget
from metrics import compute
from ui.i18n import render_warning

PAGE = "pages/quality.py"


def quality(locale="en", **query):
    at = app(locale, PAGE, **query)
    assert not at.exception
    return at


def test_density_cards_for_the_latest_month(pulse_db, cursor):
    at = quality()
    assert widget(at, "selectbox", "month").options == ["2026-11", "2026-10", "2026-09"]
    assert widget(at, "selectbox", "month").value == "2026-11"
    series = compute("defect_density", cursor(), project_key="ACME", month="2026-11").series.set_index("series")
    m = metrics_by_label(at)
    # 7 valid defects / 4 KLOC; S1-S3 = 6 (ACME-35 is trivial); / 50 FP; / 34 delivered story points
    assert m["Defects / KLOC"].value == "1.75" == f"{series.loc['all', 'density']:.2f}"
    assert m["S1–S3 / KLOC"].value == "1.50" == f"{series.loc['s1_s3', 'density']:.2f}"
    assert m["Defects / FP"].value == "0.140" == f"{series.loc['per_fp', 'density']:.3f}"
    assert m["Defects / SP"].value == "0.206" == f"{7 / 34:.3f}"
    assert "Valid defects up to the end of 2026-11: 7 · size 4 KLOC, 50 FP" in texts(at)


def test_another_month(pulse_db):
    at = quality()
    widget(at, "selectbox", "month").set_value("2026-10").run()
    assert not at.exception
    m = metrics_by_label(at)
    assert m["Defects / KLOC"].value == "0.50"            # ACME-30, ACME-32
    assert m["Resolved"].value == "1"                      # ACME-30 (ACME-31 is a duplicate)
    at = quality(month="2026-10")                          # the month is in the URL: a shareable view
    assert metrics_by_label(at)["Defects / KLOC"].value == "0.50"


def test_density_by_module_chart(pulse_db):
    at = quality()
    (chart,) = charts(at)
    bars = dataset_with(chart, "module").set_index("module")
    # Web: ACME-24, 30, 34, 35 over 2.5 KLOC; API: ACME-32, 33, 35 over 1.5 KLOC (ACME-35 names both)
    assert bars.loc["Web", "defects"] == 4 and bars.loc["Web", "density"] == pytest.approx(1.6)
    assert bars.loc["API", "defects"] == 3 and bars.loc["API", "density"] == pytest.approx(2.0)
    rule = next(df for df in chart["data"].values() if list(df.columns) == ["density", "label"])
    assert rule["density"].tolist() == [1.75] and rule["label"].tolist() == ["Project 1.75"]


def test_reopen_rate_without_history_is_a_dash_with_the_reason(pulse_db, cursor):
    result = compute("reopen_rate", cursor(), project_key="ACME", month="2026-11")
    for lang, label in (("en", "Reopen rate"), ("zh-CN", "重开率")):
        at = quality(lang)
        m = metrics_by_label(at)
        assert m[label].value == "—"
        assert render_warning(result.warnings[0], lang) in texts(at)
    m = metrics_by_label(quality())
    assert m["Resolved"].value == "3"                      # ACME-33, 35, 24 resolved in November
    assert m["Ever reopened"].value == "—"
    assert "Reopened and still open: ACME-34" in texts(quality())


def test_without_sizes_every_density_says_what_to_set(raw_db):
    at = quality("zh-CN")
    m = metrics_by_label(at)
    assert m["缺陷数 / KLOC"].value == "—"
    assert m["缺陷数 / 功能点"].value == "—"
    shown = texts(at)
    assert "请在设置页填写项目规模（KLOC）。" in shown
    assert render_warning({"code": "size_unknown", "basis": "kloc"}, "zh-CN") in shown
    assert "模块有缺陷但没有规模：请在设置页填写各模块规模（KLOC）后再比较。" in shown
    assert charts(at) == []
