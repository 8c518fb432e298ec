"""Overview: the KPI cards show what metrics.compute returns for the same database (and the numbers worked
by hand for tests/data/app), with month-over-month deltas, "—" plus the reason when a value is missing,
the data cut-off, the current sprint's burndown and the density trend."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from tests.app.helpers import app, charts, dataset_with, metrics_by_label, texts
from metrics import compute
from store import projects
from ui.components import local_time
from ui.i18n import render_warning

TZ = "Asia/Shanghai"


def today() -> pd.Timestamp:
    return pd.Timestamp(datetime.now(ZoneInfo(TZ)).date())


def test_kpis_equal_the_metrics_and_the_hand_worked_numbers(pulse_db, cursor):
    cur = cursor()
    at = app("en")
    assert not at.exception
    m = metrics_by_label(at)

    density = compute("defect_density", cur, project_key="ACME", month="2026-11")
    before = compute("defect_density", cur, project_key="ACME", month="2026-10")
    # 7 valid defects by the end of November / 4 KLOC; 2 by the end of October (ACME-31 is a duplicate)
    assert (density.value, before.value) == (pytest.approx(1.75), pytest.approx(0.5))
    card = m["Defect density (/KLOC)"]
    assert card.value == "1.75" == f"{density.value:.2f}"
    assert card.delta == "+1.25"
    assert card.proto.delta_description == "vs 2026-10"

    burndown = compute("burndown", cur, project_key="ACME")
    assert burndown.extra["sprint"]["name"] == "ACME Sprint 3"      # the active sprint
    assert burndown.value == 10.0                                   # ACME-22 (8) + ACME-23 (2)
    card = m["Sprint remaining (points)"]
    assert card.value == "10"
    series = burndown.series
    past = series[pd.to_datetime(series["day"]) <= today()]
    expected = 10.0 - past["guideline"].iloc[-1]
    assert card.delta == f"{expected:+,.1f}"
    assert card.proto.delta_description == "vs ideal line today"

    # open valid bugs: ACME-32, 34, 36 now; ACME-32 at the end of October
    card = m["Open valid bugs"]
    assert (card.value, card.delta) == ("3", "+2")
    assert projects.open_valid_bugs(cur, "ACME") == 3


def test_a_missing_value_is_a_dash_with_its_reason_never_zero(pulse_db, cursor):
    reopen = compute("reopen_rate", cursor(), project_key="ACME", month="2026-11")
    assert reopen.value is None and reopen.warnings == [{"code": "reopen_not_derivable"}]
    for lang, label in (("en", "Reopen rate"), ("zh-CN", "缺陷重开率")):
        at = app(lang)
        card = metrics_by_label(at)[label]
        assert card.value == "—"
        assert card.delta == ""
        assert render_warning(reopen.warnings[0], lang) in [c.value for c in at.caption]


def test_unknown_size_shows_dash_and_the_translated_warning(raw_db):
    at = app("zh-CN")
    assert not at.exception
    card = metrics_by_label(at)["缺陷密度（/KLOC）"]
    assert card.value == "—"
    assert render_warning({"code": "size_unknown", "basis": "kloc"}, "zh-CN") in texts(at)
    burndown_chart, bugs_chart = charts(at)  # no density trend without a size: open bugs instead
    assert "remaining" in dataset_with(burndown_chart, "remaining").columns
    trend = dataset_with(bugs_chart, "value")
    # open valid bugs at the end of Sep (none yet), Oct (ACME-32), Nov (ACME-32, 34, 36)
    assert (trend["month"].tolist(), trend["value"].tolist()) == (["2026-09", "2026-10", "2026-11"], [0, 1, 3])


def test_data_as_of_is_the_latest_import_in_the_project_time_zone(pulse_db, cursor):
    imported_at = projects.data_as_of(cursor(), "ACME")
    at = app("en")
    assert f"Data as of {local_time(imported_at, TZ)} (Asia/Shanghai)" in texts(at)


def test_charts_are_the_current_burndown_and_the_density_trend(pulse_db, cursor):
    cur = cursor()
    at = app("en")
    burndown_chart, trend_chart = charts(at)

    rows = dataset_with(burndown_chart, "remaining")
    series = compute("burndown", cur, project_key="ACME").series
    # first row: the sprint start, at the committed 16 points; then one row per day
    assert rows["day"].tolist() == ["2026-11-16"] + pd.to_datetime(series["day"]).dt.strftime("%Y-%m-%d").tolist()
    assert rows["guideline"].tolist() == pytest.approx([16.0] + series["guideline"].tolist())
    shown = [16.0] + [r if pd.Timestamp(d) <= today() else None for d, r in zip(series["day"], series["remaining"])]
    assert [None if pd.isna(v) else v for v in rows["remaining"]] == shown
    assert rows["guideline"].tolist()[:6] == pytest.approx([16.0, 14.4, 12.8, 11.2, 9.6, 8.0])

    trend = dataset_with(trend_chart, "value")
    assert trend["month"].tolist() == ["2026-09", "2026-10", "2026-11"]      # from the first issue on
    assert trend["value"].tolist() == pytest.approx([0.0, 0.5, 1.75])
    assert trend_chart["spec"]["layer"][0]["encoding"]["y"]["title"] == "Defects / KLOC"


def test_chart_titles_and_vega_locale_follow_the_language(pulse_db):
    at = app("zh-CN")
    spec = charts(at)[0]["spec"]
    assert spec["config"]["locale"]["time"]["months"][0] == "一月"
    assert spec["config"]["font"].startswith("Noto Sans CJK SC")
    legend = {layer["encoding"]["color"]["scale"]["domain"][0] for layer in spec["layer"]
              if "color" in layer.get("encoding", {}) and "scale" in layer["encoding"]["color"]}
    assert legend == {"剩余"}
    assert charts(app("en"))[0]["spec"]["config"]["locale"]["time"]["months"][0] == "January"
