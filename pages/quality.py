"""Quality: defect density (METRICS.md 3) per KLOC / FP / story point / S1-S3, by module against the
u-chart limits, and the reopen rate (5a) for the chosen month."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from store import projects as proj
from ui import charts, state
from ui import components as c
from ui.i18n import current_lang, t

c.ensure_frame()
cur = state.cursor()
project = c.require_project(cur)
pk, tz, lang = project["project_key"], project["timezone"], current_lang()
c.page_header("quality.title", project, "quality.caption")

months = proj.project_months(cur, pk, tz)
if not months:
    c.empty_state("quality.no_issues")
    st.stop()
if st.session_state.get("month") not in months:
    st.session_state.pop("month", None)
with st.columns([1, 3])[0]:
    month = st.selectbox(t("quality.month"), months, index=0, key="month", bind="query-params")

dd = c.metric("defect_density", pk, month=month)
rr = c.metric("reopen_rate", pk, month=month)
rows = dd.series
headline = {r["series"]: r for r in rows[rows["series"] != "module"].to_dict("records")}


def row_value(series_id: str):
    r = headline.get(series_id)
    return None if r is None else r.get("density")


# --- Defect density -------------------------------------------------------------------------------
st.subheader(c.metric_name("defect_density"))
valid = headline.get("all", {}).get("defects")
st.caption(t("quality.density_caption", month=month, valid="—" if valid is None else f"{int(valid):,}",
             kloc=c.fmt_number(project["size_kloc"], 2, trim=True),
             fp=c.fmt_number(project["size_fp"], 0)))
cards = [
    ("quality.per_kloc", row_value("all"), 2, "quality.per_kloc_help"),
    ("quality.s1_s3", row_value("s1_s3"), 2, "quality.s1_s3_help"),
    ("quality.per_fp", row_value("per_fp"), 3, "quality.per_fp_help"),
    ("quality.per_sp", row_value("per_sp"), 3, "quality.per_sp_help"),
]
for col, (key, value, digits, help_key) in zip(st.columns(len(cards)), cards):
    with col:
        with st.container(border=True):
            st.metric(t(key), c.fmt_number(value, digits), help=t(help_key))
            if c.is_missing(value):
                st.caption(t(key + "_missing"))

modules = rows[rows["series"] == "module"].copy()
st.markdown(f"**{t('quality.modules_title')}**")
known = modules[pd.notna(modules["density"])] if len(modules) else modules
if len(known):
    labels = {"module": t("quality.col_module"), "density": t("chart.density_kloc"),
              "defects": t("quality.col_defects"), "size": t("quality.col_size"), "ucl": t("quality.col_ucl"),
              "project": t("quality.project_line", value=c.fmt_number(row_value("all"), 2)),
              "above_ucl": t("quality.above_ucl"), "within": t("quality.within_limits")}
    st.altair_chart(charts.density_by_module_chart(known, row_value("all"), labels, lang=lang), theme=None,
                    width="stretch")
elif len(modules):
    st.info(t("quality.no_module_sizes"), icon=":material/straighten:")
    st.page_link(c.SETTINGS_PAGE, label=t("overview.to_settings"), icon=":material/settings:")
else:
    st.caption(t("quality.no_modules"))
if len(modules):
    # Unknown sizes are NaN, not None, so the table shows its "—" placeholder rather than the word None.
    table = modules[["module", "defects", "size", "density", "ucl", "lcl"]].astype(
        {"size": "float64", "density": "float64", "ucl": "float64", "lcl": "float64"})
    st.dataframe(table, hide_index=True, width="stretch", placeholder="—", column_config={
        "module": st.column_config.TextColumn(t("quality.col_module")),
        "defects": st.column_config.NumberColumn(t("quality.col_defects"), format="%d"),
        "size": st.column_config.NumberColumn(t("quality.col_size"), format="%.2f"),
        "density": st.column_config.NumberColumn(t("chart.density_kloc"), format="%.2f"),
        "ucl": st.column_config.NumberColumn(t("quality.col_ucl"), format="%.2f"),
        "lcl": st.column_config.NumberColumn(t("quality.col_lcl"), format="%.2f"),
    })
c.show_warnings(dd.warnings, title_key="common.data_notes")

# --- Reopen rate ----------------------------------------------------------------------------------
st.subheader(c.metric_name("reopen_rate"))
rec = rr.series.iloc[0].to_dict() if len(rr.series) else {}


def count(v):
    return "—" if c.is_missing(v) else f"{int(v):,}"


scope = rr.extra.get("scope", "bugs")
st.caption(t("quality.reopen_caption", month=month, scope=t(f"quality.scope_{scope}")))
figures = [
    (t("quality.reopen_rate"), c.fmt_pct(rr.value), t("quality.reopen_rate_help")),
    (t("quality.resolved"), count(rec.get("resolved")), t("quality.resolved_help")),
    (t("quality.reopened"), count(rec.get("reopened")), t("quality.reopened_help")),
    (t("quality.events_per_issue"), c.fmt_number(rec.get("events_per_issue"), 2), t("quality.events_help")),
]
for col, (label, value, help_text) in zip(st.columns(len(figures)), figures):
    with col:
        with st.container(border=True):
            st.metric(label, value, help=help_text)
reopened_now = rr.extra.get("currently_reopened") or []
if reopened_now:
    st.caption(c.md_escape(t("quality.currently_reopened", keys=", ".join(reopened_now))))
c.show_warnings(rr.warnings, title_key="common.data_notes")
