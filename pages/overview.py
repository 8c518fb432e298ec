"""Overview: the chosen project's health at a glance, this month against last month.

KPI cards (defect density, reopen rate, current sprint remaining, open valid bugs), the data cut-off, the
current sprint's burndown and the 12-month defect-density trend.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.common import default_month, month_bounds
from store import projects as proj
from ui import charts, state
from ui import components as c
from ui.i18n import current_lang, t

c.ensure_frame()
cur = state.cursor()
project = c.require_project(cur)
pk, tz, lang = project["project_key"], project["timezone"], current_lang()

c.page_header("overview.title", project)
month = default_month(cur, pk, tz)
if month is None:
    c.empty_state("overview.no_issues")
    st.stop()
prev = c.previous_month(month)
st.caption(t("overview.period", month=month, prev=prev) + "  ·  " + c.data_as_of_caption(cur, project))

# --- Figures ----------------------------------------------------------------------------------------
dd, dd_prev = c.metric("defect_density", pk, month=month), c.metric("defect_density", pk, month=prev)
rr, rr_prev = c.metric("reopen_rate", pk, month=month), c.metric("reopen_rate", pk, month=prev)
bd = c.metric("burndown", pk)
open_now = proj.open_valid_bugs(cur, pk, month_bounds(month, tz)[1])
open_prev = proj.open_valid_bugs(cur, pk, month_bounds(prev, tz)[1])
vs_prev = t("overview.vs_month", prev=prev)


def delta(now, before):
    return None if c.is_missing(now) or c.is_missing(before) else float(now) - float(before)


def note(result, codes=None):
    """The translated reason a headline value is missing ("—", never 0)."""
    if not c.is_missing(result.value):
        return None
    ws = [w for w in result.warnings if codes is None or w.get("code") in codes]
    return " ".join(c.warning_text(w) for w in ws[:1]) or t("common.not_computable")


sprint = bd.extra.get("sprint") or {}
guide_today = None
if len(bd.series):
    today = pd.Timestamp(c.today_in(tz))
    days = pd.to_datetime(bd.series["day"])
    past = bd.series[days <= today]
    if len(past):
        guide_today = past["guideline"].iloc[-1]
remaining = bd.series["remaining"].dropna().iloc[-1] if len(bd.series) and bd.series["remaining"].notna().any() \
    else bd.value
unit = t(f"delivery.unit_{bd.extra.get('statistic', 'points')}")

cards = [
    c.Kpi(t("overview.kpi_density"), c.fmt_number(dd.value, 2),
          c.fmt_delta(delta(dd.value, dd_prev.value)), "inverse", vs_prev,
          help=t("overview.kpi_density_help", name=c.metric_name("defect_density")), note=note(dd)),
    c.Kpi(t("overview.kpi_reopen"), c.fmt_pct(rr.value),
          c.fmt_delta(delta(rr.value, rr_prev.value), 1, pct=True), "inverse", vs_prev,
          help=t("overview.kpi_reopen_help", name=c.metric_name("reopen_rate")), note=note(rr)),
    c.Kpi(t("overview.kpi_remaining", unit=unit), c.fmt_number(remaining, 1, trim=True),
          c.fmt_delta(delta(remaining, guide_today), 1), "inverse", t("overview.vs_ideal"),
          help=t("overview.kpi_remaining_help", sprint=sprint.get("name") or "—"),
          note=note(bd) if c.is_missing(remaining) else t("overview.sprint_caption", sprint=sprint.get("name"))),
    c.Kpi(t("overview.kpi_open_bugs"), f"{open_now:,}", c.fmt_delta(open_now - open_prev, 0), "inverse", vs_prev,
          help=t("overview.kpi_open_bugs_help")),
]
for col, card in zip(st.columns(len(cards)), cards):
    with col:
        c.kpi_card(card)

# --- Charts -----------------------------------------------------------------------------------------
# Months before the project's first issue are not "zero defects": they are not part of a trend.
months = [m for m in c.last_months(month, 12) if m in set(proj.project_months(cur, pk, tz))]
density = pd.DataFrame({"month": months, "value": [c.metric("defect_density", pk, month=m).value for m in months]})
density["value"] = pd.to_numeric(density["value"], errors="coerce")
has_sprint, has_density = len(bd.series) > 0, bool(density["value"].notna().any())


def open_bugs_trend() -> None:
    """Open valid bugs at each month end: shown where a burndown or a density cannot be."""
    st.subheader(t("overview.open_bugs_trend_title"))
    bugs = pd.DataFrame({"month": months,
                         "value": [float(proj.open_valid_bugs(cur, pk, month_bounds(m, tz)[1])) for m in months]})
    st.altair_chart(charts.trend_chart(bugs, {"month": t("chart.month"), "value": t("overview.kpi_open_bugs")},
                                       lang=lang, value_format=",.0f", integer=True), theme=None,
                    width="stretch")
    st.caption(t("overview.open_bugs_trend_caption"))


left, right = st.columns(2, gap="large")
with left:
    if has_sprint:
        st.subheader(t("overview.burndown_title", sprint=sprint.get("name") or "—"))
        labels = {k: t(f"chart.{k}") for k in charts.BURNDOWN_LABEL_KEYS}
        labels["y_title"] = unit
        st.altair_chart(charts.burndown_chart(bd.series, labels, lang=lang, committed=bd.extra.get("committed"),
                                              today=c.today_in(tz)), theme=None, width="stretch")
        st.page_link("pages/delivery.py", label=t("overview.to_delivery"), icon=":material/trending_down:")
    else:
        # No sprint (a waterfall or Kanban project): the open-bug trend takes the burndown's place.
        open_bugs_trend()
        st.caption(c.md_escape(c.warning_text(bd.warnings[0])) if bd.warnings else t("overview.no_sprint"))

with right:
    if has_density:
        st.subheader(t("overview.trend_title"))
        st.altair_chart(charts.trend_chart(density, {"month": t("chart.month"), "value": t("chart.density_kloc")},
                                           lang=lang), theme=None, width="stretch")
        st.page_link("pages/quality.py", label=t("overview.to_quality"), icon=":material/bug_report:")
    else:
        if has_sprint:
            open_bugs_trend()
        else:
            st.subheader(t("overview.trend_title"))
        c.show_warnings(dd.warnings[:1])
        st.page_link(c.SETTINGS_PAGE, label=t("overview.to_settings"), icon=":material/settings:")
