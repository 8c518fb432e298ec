"""One Altair theme and the chart builders every page (and later the deck) uses.

Importing this module registers and enables the "pulse" theme (font, palette, axes). Altair's theme
registry is process-wide while the language is per session, so the Vega locale (zh-CN or en number and
month formats) is set on each chart by its builder (`lang=`), never in the shared theme.

Builders take a tidy DataFrame with ASCII column names and a `labels` dict of already translated titles;
they import no Streamlit. Pages render with `st.altair_chart(chart, theme=None, width="stretch")` so the
screen matches an exported PNG.
"""
from __future__ import annotations

import json
from datetime import date
from functools import cache

import altair as alt
import pandas as pd
import vl_convert as vlc

FONT = "Noto Sans CJK SC, Noto Sans, sans-serif"
BLUE, ORANGE, GREEN, RED = "#1f5aa6", "#e07b39", "#3a9d5d", "#b23a48"
GREY, LIGHT_GREY, INK, MUTED = "#8a9099", "#eceef1", "#2b2f36", "#5f6670"
RAG = {"green": GREEN, "amber": "#d99a1e", "red": RED, "grey": GREY}
HEIGHT = 300


@alt.theme.register("pulse", enable=True)
def pulse_theme() -> alt.theme.ThemeConfig:
    return {
        "config": {
            "font": FONT,
            "background": "#ffffff",
            "padding": {"left": 4, "right": 12, "top": 8, "bottom": 4},
            "title": {"fontSize": 15, "fontWeight": 600, "anchor": "start", "color": INK, "offset": 10},
            "axis": {"labelColor": MUTED, "titleColor": MUTED, "labelFontSize": 11, "titleFontSize": 12,
                     "titleFontWeight": 500, "gridColor": "#e6e8eb", "domainColor": "#c5c9cf",
                     "tickColor": "#c5c9cf", "labelFont": FONT, "titleFont": FONT},
            "legend": {"labelColor": INK, "titleColor": MUTED, "labelFontSize": 12, "orient": "top",
                       "labelLimit": 360,
                       "labelFont": FONT, "titleFont": FONT, "symbolStrokeWidth": 2.5},
            "range": {"category": [BLUE, ORANGE, GREEN, RED, "#6b4c9a", "#2a8c8c", GREY]},
            "view": {"stroke": None},
            "line": {"strokeWidth": 2.5},
            "bar": {"color": BLUE},
        },
    }


@cache
def vega_locale(lang: str) -> dict:
    """Vega's number and time format locale for a UI language ('zh-CN' or 'en')."""
    code = "zh-CN" if lang.startswith("zh") else "en-US"
    return {"number": vlc.get_format_locale(code), "time": vlc.get_time_format_locale(code)}


def _date_format(lang: str) -> str:
    return "%-m月%-d日" if lang.startswith("zh") else "%b %-d"


def _finish(chart, lang: str, height: int = HEIGHT):
    return chart.properties(height=height).configure(locale=vega_locale(lang))


# --- Burndown ---------------------------------------------------------------------------------------

BURNDOWN_LABEL_KEYS = ("day", "remaining", "guideline", "non_working", "burndown", "reopen", "scope_plus",
                       "scope_minus", "y_title")


def burndown_frame(series: pd.DataFrame, committed: float | None, today: date | None = None) -> pd.DataFrame:
    """The rows the burndown draws: one point at the end of each sprint day, plus the start point.

    A daily value is the state at the end of its day (METRICS.md G1), so each point sits at the next
    midnight (`at`); the first row is the sprint start with remaining = guideline = committed. Days after
    `today` keep their guideline but have no remaining (an active sprint's future is not data).
    """
    df = series.copy()
    df["day"] = pd.to_datetime(df["day"]).dt.normalize()
    if df["day"].dt.tz is None:
        df["day"] = df["day"].dt.tz_localize("UTC")
    rows = pd.DataFrame({
        "day": df["day"].dt.strftime("%Y-%m-%d"),
        "at": df["day"] + pd.Timedelta(days=1),
        "remaining": df["remaining"].astype("float64"),
        "guideline": pd.to_numeric(df["guideline"], errors="coerce").astype("float64"),
        **{k: df[k].astype("int64") if k in df else 0 for k in ("burndown", "reopen", "scope_plus", "scope_minus")},
    })
    if today is not None:
        rows.loc[df["day"] > pd.Timestamp(today, tz="UTC"), "remaining"] = float("nan")
    if len(df):
        c0 = float(committed) if committed is not None else float(rows["remaining"].iloc[0])
        start = pd.DataFrame({"day": [df["day"].iloc[0].strftime("%Y-%m-%d")], "at": [df["day"].iloc[0]],
                              "remaining": [c0], "guideline": [c0], "burndown": [0], "reopen": [0],
                              "scope_plus": [0], "scope_minus": [0]})
        rows = pd.concat([start, rows], ignore_index=True)
    # The span each point stands for (its day), for the hover band; the start point has none.
    rows["from_at"] = (rows["at"] - pd.Timedelta(days=1)).clip(lower=rows["at"].min() if len(rows) else None)
    return rows


def burndown_chart(series: pd.DataFrame, labels: dict, *, lang: str, committed: float | None = None,
                   today: date | None = None, height: int = HEIGHT):
    """Remaining as a step line, the guideline dashed, non-working days as grey bands, a tooltip per day.

    series: metrics burndown series (day, remaining, guideline, burndown, reopen, scope_plus, scope_minus,
    is_workday). labels: translated titles for BURNDOWN_LABEL_KEYS.
    """
    rows = burndown_frame(series, committed, today)
    days = pd.to_datetime(series["day"]).dt.normalize()
    days = days.dt.tz_localize("UTC") if days.dt.tz is None else days
    workday = series["is_workday"] if "is_workday" in series else pd.Series(True, index=series.index)
    bands = pd.DataFrame({"start": days[~workday.astype(bool).to_numpy()].reset_index(drop=True)})
    bands["end"] = bands["start"] + pd.Timedelta(days=1)
    bands["day"] = bands["start"].dt.strftime("%Y-%m-%d")
    bands["label"] = labels["non_working"]

    color = alt.Scale(domain=[labels["remaining"], labels["guideline"]], range=[BLUE, ORANGE])
    # Days are calendar days of the project, carried as UTC midnights and drawn on a UTC scale, so that
    # neither the browser's nor the exporter's time zone can shift a label by a day.
    x = alt.X("at:T", title=None, scale=alt.Scale(type="utc"),
              axis=alt.Axis(format=_date_format(lang), labelAngle=0, grid=False, labelOverlap="greedy",
                            labelSeparation=8, tickCount={"interval": "day", "step": 1}))
    y = alt.Y("remaining:Q", title=labels["y_title"], scale=alt.Scale(zero=True, nice=True))

    band_layer = alt.Chart(bands).mark_rect(opacity=0.55).encode(
        x=alt.X("start:T", scale=alt.Scale(type="utc")), x2="end:T",
        fill=alt.Fill("label:N", scale=alt.Scale(domain=[labels["non_working"]], range=[LIGHT_GREY]),
                      legend=alt.Legend(title=None, symbolType="square", symbolOpacity=1)),
        tooltip=[alt.Tooltip("day:N", title=labels["day"]), alt.Tooltip("label:N", title=" ")])
    base = alt.Chart(rows)
    guide = base.mark_line(strokeDash=[6, 4], strokeWidth=2).encode(
        x=x, y=alt.Y("guideline:Q"),
        color=alt.Color("g:N", scale=color, legend=alt.Legend(title=None, symbolType="stroke")),
    ).transform_calculate(g=json.dumps(labels["guideline"]))
    remaining = base.mark_line(interpolate="step-after", strokeWidth=2.8).encode(
        x=x, y=y, color=alt.Color("r:N", scale=color, legend=alt.Legend(title=None, symbolType="stroke")),
    ).transform_calculate(r=json.dumps(labels["remaining"]))
    points = base.mark_point(filled=True, size=28, opacity=0.9).encode(
        x=x, y=y, color=alt.value(BLUE))
    tips = [alt.Tooltip("day:N", title=labels["day"]),
            alt.Tooltip("remaining:Q", title=labels["remaining"], format=",.4~f"),
            alt.Tooltip("guideline:Q", title=labels["guideline"], format=",.2f"),
            alt.Tooltip("burndown:Q", title=labels["burndown"]),
            alt.Tooltip("reopen:Q", title=labels["reopen"]),
            alt.Tooltip("scope_plus:Q", title=labels["scope_plus"]),
            alt.Tooltip("scope_minus:Q", title=labels["scope_minus"])]
    # An almost invisible column per day makes the whole day hoverable, not just the 2px line.
    hover = base.mark_rect(opacity=0.001, color="#000").encode(x="from_at:T", x2="at:T", tooltip=tips)
    chart = alt.layer(band_layer, guide, remaining, points, hover)
    return _finish(chart, lang, height)


# --- Defect density by module -----------------------------------------------------------------------

def density_by_module_chart(modules: pd.DataFrame, project_density: float | None, labels: dict, *, lang: str,
                            height: int | None = None):
    """Horizontal bars of density per module, red where above the module's u-chart UCL, and a rule at the
    project's density. modules: rows of defect_density series 'module' with a known density.
    labels: module, density, defects, size, ucl, project, above_ucl, within."""
    df = modules[["module", "defects", "size", "density", "ucl"]].copy()
    df = df[pd.notna(df["density"])].reset_index(drop=True)
    df["ucl"] = pd.to_numeric(df["ucl"], errors="coerce")
    above = df["ucl"].notna() & (df["density"] > df["ucl"])
    df["status"] = [labels["above_ucl"] if a else labels["within"] for a in above]
    height = height or max(120, 34 * len(df) + 40)
    y = alt.Y("module:N", title=None, sort="-x", axis=alt.Axis(labelLimit=180))
    bars = alt.Chart(df).mark_bar(cornerRadiusEnd=2, height={"band": 0.7}).encode(
        y=y, x=alt.X("density:Q", title=labels["density"], scale=alt.Scale(zero=True)),
        color=alt.Color("status:N", scale=alt.Scale(domain=[labels["within"], labels["above_ucl"]],
                                                    range=[BLUE, RED]), legend=alt.Legend(title=None)),
        tooltip=[alt.Tooltip("module:N", title=labels["module"]),
                 alt.Tooltip("defects:Q", title=labels["defects"]),
                 alt.Tooltip("size:Q", title=labels["size"], format=",.2~f"),
                 alt.Tooltip("density:Q", title=labels["density"], format=",.2f"),
                 alt.Tooltip("ucl:Q", title=labels["ucl"], format=",.2f")])
    labels_layer = alt.Chart(df).mark_text(align="left", dx=4, color=INK, fontSize=11).encode(
        y=y, x="density:Q", text=alt.Text("density:Q", format=",.2f"))
    layers = [bars, labels_layer]
    if df["ucl"].notna().any():
        layers.append(alt.Chart(df).mark_tick(color=INK, thickness=2, size=22, opacity=0.7).encode(
            y=y, x="ucl:Q", tooltip=[alt.Tooltip("ucl:Q", title=labels["ucl"], format=",.2f")]))
    if project_density is not None:
        rule_df = pd.DataFrame({"density": [float(project_density)], "label": [labels["project"]]})
        layers.append(alt.Chart(rule_df).mark_rule(color=ORANGE, strokeDash=[6, 4], strokeWidth=2).encode(
            x="density:Q", tooltip=[alt.Tooltip("label:N", title=" "),
                                    alt.Tooltip("density:Q", title=labels["density"], format=",.2f")]))
        layers.append(alt.Chart(rule_df).mark_text(align="left", dx=4, dy=-4, baseline="bottom", color=ORANGE,
                                                   fontSize=11).encode(
            x="density:Q", y=alt.value(0), text="label:N"))
    return _finish(alt.layer(*layers), lang, height)


# --- KPI trend --------------------------------------------------------------------------------------

def trend_chart(df: pd.DataFrame, labels: dict, *, lang: str, value_format: str = ",.2f",
                integer: bool = False, height: int = HEIGHT):
    """A monthly KPI history: df columns month ('YYYY-MM'), value (None = not computable: a gap, not 0),
    optionally series (one line per series). labels: month, value, series (optional). integer=True for
    counts: whole-number ticks."""
    data = df.copy()
    data["date"] = pd.to_datetime(data["month"] + "-01").dt.tz_localize("UTC")
    if "series" not in data:
        data["series"] = labels.get("value", "")
    fmt = "%Y年%-m月" if lang.startswith("zh") else "%b %Y"
    x = alt.X("date:T", title=None, scale=alt.Scale(type="utc"),
              axis=alt.Axis(format=fmt, labelAngle=0, tickCount="month", labelOverlap="greedy",
                            labelSeparation=8))
    y = alt.Y("value:Q", title=labels["value"], scale=alt.Scale(zero=True, nice=True),
              axis=alt.Axis(format=",d", tickMinStep=1) if integer else alt.Axis())
    several = data["series"].nunique() > 1
    color = alt.Color("series:N", legend=alt.Legend(title=None) if several else None)
    tips = [alt.Tooltip("month:N", title=labels["month"]),
            alt.Tooltip("value:Q", title=labels["value"], format=value_format)]
    if several:
        tips.insert(1, alt.Tooltip("series:N", title=labels.get("series", " ")))
    base = alt.Chart(data)
    line = base.mark_line().encode(x=x, y=y, color=color)
    points = base.mark_point(filled=True, size=55).encode(x=x, y=y, color=color, tooltip=tips)
    return _finish(alt.layer(line, points), lang, height)


def to_png(chart, scale: float = 2.0) -> bytes:
    """The chart as PNG (vl-convert), the same spec the screen shows; for downloads and the deck."""
    return vlc.vegalite_to_png(chart.to_dict(), scale=scale)


__all__ = ["pulse_theme", "vega_locale", "burndown_chart", "burndown_frame", "density_by_module_chart",
           "trend_chart", "to_png", "RAG"]
