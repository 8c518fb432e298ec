"""Delivery: the sprint burndown (METRICS.md 1.1), its committed / remaining / coverage figures and the
typed events behind every change of the remaining line."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from metrics.burndown import sprint_windows
from store import settings as named_settings
from ui import charts, state
from ui import components as c
from ui.i18n import current_lang, t

c.ensure_frame()
cur = state.cursor()
project = c.require_project(cur)
pk, tz, lang = project["project_key"], project["timezone"], current_lang()
c.page_header("delivery.title", project, "delivery.caption")

windows = sprint_windows(cur, pk, tz)[::-1]          # latest first
if not windows:
    c.empty_state("delivery.no_sprints")
    st.stop()
names = [w["name"] for w in windows]
active = next((w["name"] for w in windows if w["state"] == "active"), names[0])

if st.session_state.get("sprint") not in names:      # another project's sprint, or none yet
    st.session_state.pop("sprint", None)
left, right = st.columns([3, 2])
with left:
    sprint = st.selectbox(t("delivery.sprint"), names, index=names.index(active), key="sprint",
                          bind="query-params")
with right:
    statistic = c.statistic_picker()
mode = named_settings.get(cur, "burndown_mode", pk)

bd = c.metric("burndown", pk, sprint=sprint, statistic=statistic, mode=mode)
window = bd.extra.get("sprint") or next(w for w in windows if w["name"] == sprint)
unit = t(f"delivery.unit_{statistic}")

dates = t("delivery.dates", start=c.local_day(window.get("start_at"), tz), end=c.local_day(window.get("end_at"), tz))
if window.get("completed_at"):
    dates += " · " + t("delivery.completed_on", day=c.local_day(window["completed_at"], tz))
source = t("delivery.dates_inferred") if window.get("inferred") else t("delivery.dates_known")
st.caption(f"{dates} · {source} · {c.md_escape(t('delivery.calendar', calendar=project['calendar']))} · "
           f"{t('delivery.mode_' + mode)} · {t('delivery.figures_in', unit=unit)}")

if not len(bd.series):
    c.show_warnings(bd.warnings)
    c.empty_state("delivery.no_burndown", link_to_import=False)
    st.stop()

summary = bd.extra.get("summary", {})
series = bd.series
last_remaining = series["remaining"].dropna().iloc[-1] if series["remaining"].notna().any() else None
figures = [
    (t("delivery.committed"), c.fmt_number(bd.extra.get("committed"), 1, trim=True),
     t("delivery.committed_help")),
    (t("delivery.remaining"), c.fmt_number(last_remaining, 1, trim=True), t("delivery.remaining_help")),
    (t("delivery.completed"), c.fmt_number(summary.get("completed"), 1, trim=True),
     t("delivery.completed_help")),
    (t("delivery.scope_change"), c.fmt_delta((summary.get("added") or 0) - (summary.get("removed") or 0)
                                             + (summary.get("estimate_change") or 0), 1, trim=True) or "0",
     t("delivery.scope_change_help", added=c.fmt_number(summary.get("added"), 1, trim=True),
       removed=c.fmt_number(summary.get("removed"), 1, trim=True),
       est=c.fmt_delta(summary.get("estimate_change"), 1, trim=True) or "0")),
    (t("delivery.coverage"), c.fmt_pct(bd.extra.get("coverage"), 0),
     t("delivery.coverage_help", estimated=bd.extra.get("estimated", "—"), in_scope=bd.extra.get("in_scope", "—"))),
]
for col, (label, value, help_text) in zip(st.columns(len(figures)), figures):
    with col:
        with st.container(border=True):
            st.metric(label, value, help=help_text)

labels = {k: t(f"chart.{k}") for k in charts.BURNDOWN_LABEL_KEYS}
labels["y_title"] = unit
st.altair_chart(charts.burndown_chart(series, labels, lang=lang, committed=bd.extra.get("committed"),
                                      today=c.today_in(tz)), theme=None, width="stretch")
st.caption(t("delivery.chart_note"))
c.show_warnings(bd.warnings, title_key="common.data_notes")

st.subheader(t("delivery.events_title"))
events = bd.extra.get("events")
if events is None or not len(events):
    st.caption(t("delivery.no_events"))
else:
    table = pd.DataFrame({
        "day": pd.to_datetime(events["day"]).dt.strftime("%Y-%m-%d"),
        "issue_key": events["issue_key"],
        "event": [t(f"event.{e}") for e in events["type"]],
        "delta": events["delta"].astype("float64"),
        "cause": [t(f"event.cause_{x}") for x in events["cause"]] if "cause" in events else "",
    })
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", column_config={
        "day": st.column_config.TextColumn(t("chart.day")),
        "issue_key": st.column_config.TextColumn(t("delivery.col_issue")),
        "event": st.column_config.TextColumn(t("delivery.col_event")),
        "delta": st.column_config.NumberColumn(t("delivery.col_delta", unit=unit), format="%.4g"),
        "cause": st.column_config.TextColumn(t("delivery.col_cause")),
    })
    totals = {k: float(events.loc[events["type"] == k, "delta"].sum()) for k in ("burndown", "reopen",
                                                                                  "scope_plus", "scope_minus")}
    def amount(x):
        return c.fmt_number(x, 1, trim=True)
    st.caption(t("delivery.identity", committed=amount(bd.extra.get("committed")), plus=amount(totals["scope_plus"]),
                 minus=amount(totals["scope_minus"]), burned=amount(totals["burndown"]),
                 reopened=amount(totals["reopen"]), remaining=amount(last_remaining)))
