"""Delivery: the sprint picker (latest first, the active sprint chosen), the statistic, the burndown rows
(remaining and a guideline flat on Chinese holidays and weekends, not on the 调休 Saturday), the figures
and the typed events."""
from __future__ import annotations

import pytest

from tests.app.helpers import app, charts, dataset_with, metrics_by_label, texts, widget
from metrics import compute
from ui.i18n import render_warning

PAGE = "pages/delivery.py"
S1, S3 = "ACME Sprint 1", "ACME Sprint 3"


def delivery(locale="en", **query):
    at = app(locale, PAGE, **query)
    assert not at.exception
    return at


def sprint_box(at):
    return widget(at, "selectbox", "sprint")


def test_sprints_latest_first_and_the_active_one_chosen(pulse_db):
    at = delivery()
    box = sprint_box(at)
    assert box.options == ["ACME Sprint 3", "ACME Sprint 2", "ACME Sprint 1"]
    assert box.value == S3
    m = metrics_by_label(at)
    assert m["Committed"].value == "16"          # ACME-20 5 + ACME-21 3 + ACME-22 8
    assert m["Remaining"].value == "10"
    assert m["Completed"].value == "8"           # ACME-20 5 + ACME-21 3
    assert m["Scope change"].value == "+2"       # ACME-23 added on 11-19
    assert m["Estimate coverage"].value == "80%"          # the bug ACME-24 has no points
    assert "Check: committed 16 + added 2 − removed 0 − burned down 8 + reopened 0 = remaining 10" in texts(at)


def test_events_table_is_typed_and_translated(pulse_db):
    at = delivery()
    table = at.dataframe[0].value
    rows = [tuple(r) for r in table[["day", "issue_key", "event", "delta"]].itertuples(index=False)]
    assert rows == [("2026-11-17", "ACME-24", "Scope +", 0.0), ("2026-11-18", "ACME-20", "Burned down", 5.0),
                    ("2026-11-19", "ACME-23", "Scope +", 2.0), ("2026-11-19", "ACME-24", "Burned down", 0.0),
                    ("2026-11-20", "ACME-21", "Burned down", 3.0)]
    zh = delivery("zh-CN").dataframe[0].value
    assert zh["event"].tolist() == ["范围 +", "燃尽", "范围 +", "燃尽", "燃尽"]


def test_sprint_over_national_day_has_a_flat_guideline_and_grey_bands(pulse_db, cursor):
    at = delivery()
    sprint_box(at).set_value(S1).run()
    assert not at.exception
    (chart,) = charts(at)
    rows = dataset_with(chart, "remaining")
    expected = compute("burndown", cursor(), project_key="ACME", sprint=S1).series
    assert rows["remaining"].tolist()[1:] == expected["remaining"].tolist()
    assert rows["guideline"].tolist()[1:] == pytest.approx(expected["guideline"].tolist())
    # Hand-worked: C0 = 18 (ACME-1 5, 2 3, 3 8, 4 2; the sub-task ACME-5 does not count); 11 working days
    # (09-28..30, 10-08..10 with the make-up Saturday 10-10, 10-12..16); the line is flat 10-01..07 and 10-11.
    by_day = dict(zip(rows["day"][1:], zip(rows["remaining"][1:], rows["guideline"][1:])))
    assert rows["remaining"][0] == rows["guideline"][0] == 18.0
    assert by_day["2026-09-30"] == (13.0, pytest.approx(18 * 8 / 11))     # ACME-1 done 09-30
    assert by_day["2026-10-07"] == (13.0, pytest.approx(18 * 8 / 11))     # still flat on the last holiday
    assert by_day["2026-10-10"][1] == pytest.approx(18 * 5 / 11)           # 调休 Saturday: a working day
    assert by_day["2026-10-11"][1] == pytest.approx(18 * 5 / 11)           # Sunday: flat
    assert by_day["2026-10-12"] == (10.0, pytest.approx(18 * 4 / 11))     # ACME-2 done
    assert by_day["2026-10-16"] == (8.0, pytest.approx(0.0))               # ACME-3 carried over
    bands = dataset_with(chart, "label")
    assert bands["day"].tolist() == [f"2026-10-0{d}" for d in range(1, 8)] + ["2026-10-11"]


def test_statistic_issue_count(pulse_db, cursor):
    at = delivery()
    widget(at, "button_group", "statistic").set_value("count").run()
    expected = compute("burndown", cursor(), project_key="ACME", sprint=S3, statistic="count")
    m = metrics_by_label(at)
    assert m["Committed"].value == f"{expected.extra['committed']:.0f}" == "3"
    assert m["Remaining"].value == f"{expected.value:.0f}" == "2"      # ACME-22, ACME-23
    assert "figures in issues" in texts(at)


def test_sprint_is_shareable_by_url(pulse_db):
    at = delivery(sprint=S1)
    assert sprint_box(at).value == S1
    assert metrics_by_label(at)["Committed"].value == "18"


def test_warnings_are_translated(pulse_db, cursor):
    result = compute("burndown", cursor(), project_key="ACME", sprint=S3)
    codes = [w["code"] for w in result.warnings]
    assert "burndown_no_history" in codes
    for lang in ("en", "zh-CN"):
        shown = texts(delivery(lang))
        for w in result.warnings:
            assert render_warning(w, lang) in shown


def test_inferred_sprint_dates_are_flagged(raw_db):
    at = delivery("zh-CN")
    shown = texts(at)
    assert "日期由问题单推算，请在设置页填写" in shown
    assert render_warning({"code": "sprint_dates_inferred", "sprint": sprint_box(at).value}, "zh-CN") in shown
