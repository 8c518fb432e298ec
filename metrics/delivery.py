"""Delivery — burnup, velocity, say/do, throughput, release burndown (METRICS.md §1.1 burnup, §1.2, §2).

Every sprint figure is read from metrics.burndown's event-sourced replay (sprint_report / summarize), never
recomputed here: the same membership, estimate and status reconstruction, the same CSV fallback, the same
jira/strict mode (``burndown_mode`` setting).

burnup (1.1)        Scope(t) = R(t) + Done(t) per day of the sprint; the completed line drops on a reopen.
                    value = Done at the last known day. Series: day, scope, done, remaining, is_workday.
velocity (2)        per closed sprint: committed (= C0), added, removed, estimate_change, completed,
                    not_completed, say_do, coverage, with
                        committed + added − removed + estimate_change = completed + not_completed
                    (true by construction of the replay's burnup split; checked, warning if ever broken).
                    value = mean completed of the last N = 3 closed sprints (fewer: the mean of those, with a
                    warning); series = the last 7 closed sprints, oldest first.
say_do (2)          completed / committed per closed sprint (null when nothing was committed, G8);
                    value = the latest closed sprint's.
throughput (2)      standard issues (G6) DONE now whose final done_at (G4) falls in the period and whose
                    resolution class is delivered; a reopened issue counts once, in the period of its final
                    done_at. value = issues delivered in the review month; series = per period (ISO week or
                    month, local time, G1) and type over the 12 months ending with the review month, zeros
                    filled (a week is cut at the review month's end).
release_burndown    version scope = issues whose fix_versions hold the release; default: the latest version
(1.2)               (by the numbers in its name) with no released milestone (a milestone of that name with an
                    actual date, as in quality_dre), preferring one with open work. The replay runs once from
                    the first sprint's start; per closed sprint k, over (close_{k-1}, close_k] (the first from
                    its start): completed_k (the Done line's move: a reopen of work completed in an earlier
                    sprint lowers it), added_k, removed_k, estimate_change_k, so that
                        Remaining_{k+1} = Remaining_k − completed_k + added_k − removed_k + Δest_k.
                    forecast = ceil(Remaining / v̄), v̄ = unrounded mean completed_k over the last 3 closed
                    sprints (our rule), Remaining = after the last closed sprint; value = the forecast in
                    sprints (0 when nothing remains, null when v̄ ≤ 0). Burnup lines: completed_total (from 0
                    at the first sprint's start) and scope = remaining_after + completed_total. Sprints start
                    with the first closed sprint closing after the version's first issue was created.
                    'fix_versions' changes (JSON lists, as 'sprint' ones) give membership history; without
                    any (no importer writes them today) an issue is in the version from its creation and
                    removals are not seen (warning). G7: the version's issues in scope since the first
                    sprint's start that have no estimate now are listed (extra["unestimated"], warning).

Closed sprint: state 'closed', or a completed_at with no active/future state (dates inferred from a CSV);
ordered by close (completed_at, else the planned end). `month` (velocity, say_do): only sprints closed by
the end of that month (local), so a frozen review shows the sprints it reviewed.

Warning codes: no_sprints; no_closed_sprints; few_closed_sprints{count, needed}; sprint_dates_inferred{sprint};
burndown_no_history; sprints_unestimated{sprints}; bucket_identity_broken{sprint, lhs, rhs};
nothing_committed{sprint}; no_data; done_without_resolution{count}; no_versions;
release_not_found{release}; version_no_history; version_unestimated{count, in_scope, version, issues};
forecast_unavailable{version}; setting_invalid{name, value}; and burndown's for burnup.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pandas as pd

from metrics import MetricResult, register
from metrics.burndown import (MODES, STATISTICS, check_options, data_end, has_history, replay, sprint_report,
                              sprint_windows, state_params, summarize)
from metrics.common import (STANDARD_TYPES, local_date, local_midnight, mode_or_setting, month_bounds,
                            project_settings, ratio, resolve_month)

VELOCITY_WINDOW = 3        # N: closed sprints in the velocity mean (and in the release forecast's v̄)
CHART_SPRINTS = 7          # sprints the velocity chart shows, as Jira's
PERIODS = ("month", "week")
TREND_MONTHS = 12

BURNUP_COLUMNS = ["day", "scope", "done", "remaining", "is_workday"]
VELOCITY_COLUMNS = ["sprint", "start", "end", "committed", "added", "removed", "estimate_change", "completed",
                    "not_completed", "say_do", "coverage"]
SAY_DO_COLUMNS = ["sprint", "start", "end", "committed", "completed", "say_do"]
THROUGHPUT_COLUMNS = ["period", "start", "type", "issues"]
RELEASE_COLUMNS = ["sprint", "start", "end", "remaining_before", "completed", "added", "removed",
                   "estimate_change", "remaining_after", "completed_total", "scope"]


def _options(cur, project_key: str, statistic: str, mode: str | None) -> tuple[str, list[dict]]:
    check_options(statistic, mode)
    return mode_or_setting(cur, project_key, mode, "burndown_mode", MODES)


# --- Burnup -------------------------------------------------------------------------------------------

@register("burnup", name_en="Sprint burnup", name_zh="燃起图", unit="points",
          direction="higher_is_better", section="1.1", params=("sprint", "statistic", "mode"))
def burnup(cur, *, project_key: str, sprint: str | None = None, statistic: str = "points",
           mode: str | None = None, now: datetime | None = None) -> MetricResult:
    """The burndown's own replay, seen as scope and completed lines. `now` is the burndown's test hook."""
    report = sprint_report(cur, project_key, sprint=sprint, statistic=statistic, mode=mode, now=now)
    series = report.series.reindex(columns=BURNUP_COLUMNS)
    done = series["done"].dropna()
    return MetricResult(float(done.iloc[-1]) if len(done) else None, series, report.warnings, report.extra)


# --- Velocity and say/do --------------------------------------------------------------------------------

def closed_windows(windows: list[dict]) -> list[dict]:
    """The closed sprints that have dates, in order of close (completed_at, else the planned end)."""
    closed = [w for w in windows if w["start_at"] is not None and w["end_at"] is not None
              and (w["state"] == "closed"
                   or (w["completed_at"] is not None and w["state"] not in ("active", "future")))]
    return sorted(closed, key=lambda w: w["completed_at"] or w["end_at"])


def _close(window: dict) -> datetime:
    return window["completed_at"] or window["end_at"]


def sprint_table(cur, project_key: str, *, statistic: str, mode: str, month: str | None = None,
                 last: int = CHART_SPRINTS) -> tuple[pd.DataFrame, list[dict]]:
    """The velocity buckets of the last `last` closed sprints (closed by the end of `month` when given)."""
    tz = project_settings(cur, project_key)["timezone"]
    windows = sprint_windows(cur, project_key, tz)
    if not windows:
        return pd.DataFrame(columns=VELOCITY_COLUMNS), [{"code": "no_sprints"}]
    closed = closed_windows(windows)
    if month:
        _, month_end = month_bounds(resolve_month(cur, project_key, month, tz), tz)
        closed = [w for w in closed if _close(w) < month_end]
    closed = closed[-last:]
    if not closed:
        return pd.DataFrame(columns=VELOCITY_COLUMNS), [{"code": "no_closed_sprints"}]

    warnings, rows, broken, unestimated = [], [], [], []
    inferred = [w["name"] for w in closed if w["inferred"]]
    if inferred:
        warnings.append({"code": "sprint_dates_inferred", "sprint": inferred})
    if not has_history(cur, project_key):
        warnings.append({"code": "burndown_no_history"})
    now = datetime.now(timezone.utc)
    for w in closed:
        end = data_end(w, now)
        s = summarize(cur, state_params(project_key, w["name"], statistic=statistic, mode=mode,
                                        start=w["start_at"], end=end, tz=tz))
        lhs = s["committed"] + s["added"] - s["removed"] + s["estimate_change"]
        rhs = s["completed"] + s["not_completed"]
        if not math.isclose(lhs, rhs, rel_tol=1e-9, abs_tol=1e-9):
            broken.append({"code": "bucket_identity_broken", "sprint": w["name"], "lhs": lhs, "rhs": rhs})
        if s["estimated"] < s["in_scope"]:
            unestimated.append(w["name"])
        rows.append({"sprint": w["name"], "start": local_date(w["start_at"], tz), "end": local_date(end, tz),
                     **{k: s[k] for k in VELOCITY_COLUMNS[3:9]},
                     "say_do": ratio(s["completed"], s["committed"]),
                     "coverage": ratio(s["estimated"], s["in_scope"])})
    if unestimated:
        warnings.append({"code": "sprints_unestimated", "sprints": unestimated})
    return pd.DataFrame(rows, columns=VELOCITY_COLUMNS), warnings + broken


def _closed_sprint_table(cur, project_key: str, month: str | None, statistic: str, mode: str | None):
    """(sprint_table, warnings, mode) with the options checked and the mode resolved."""
    mode, warnings = _options(cur, project_key, statistic, mode)
    table, more = sprint_table(cur, project_key, statistic=statistic, mode=mode, month=month)
    return table, warnings + more, mode


@register("velocity", name_en="Velocity", name_zh="速率", unit="points/sprint",
          direction="higher_is_better", section="2", params=("month", "statistic", "mode"))
def velocity(cur, *, project_key: str, month: str | None = None, statistic: str = "points",
             mode: str | None = None) -> MetricResult:
    table, warnings, mode = _closed_sprint_table(cur, project_key, month, statistic, mode)
    in_mean = table.tail(VELOCITY_WINDOW)
    if 0 < len(in_mean) < VELOCITY_WINDOW:
        warnings.append({"code": "few_closed_sprints", "count": len(in_mean), "needed": VELOCITY_WINDOW})
    value = float(in_mean["completed"].mean()) if len(in_mean) else None
    extra = {"statistic": statistic, "unit": STATISTICS[statistic], "mode": mode, "window": VELOCITY_WINDOW,
             "sprints_in_mean": list(in_mean["sprint"])}
    return MetricResult(value, table, warnings, extra)


@register("say_do", name_en="Say/Do ratio", name_zh="承诺完成率", unit="%",
          direction="higher_is_better", section="2", params=("month", "statistic", "mode"))
def say_do(cur, *, project_key: str, month: str | None = None, statistic: str = "points",
           mode: str | None = None) -> MetricResult:
    table, warnings, mode = _closed_sprint_table(cur, project_key, month, statistic, mode)
    value, extra = None, {"statistic": statistic, "mode": mode, "sprint": None}
    if len(table):
        latest = table.iloc[-1]
        value, extra["sprint"] = latest["say_do"], latest["sprint"]
        if value is None or value != value:   # G8: Committed = 0 -> null, never 0 or infinity
            value = None
            warnings.append({"code": "nothing_committed", "sprint": latest["sprint"]})
        else:
            value = float(value)
    return MetricResult(value, table.reindex(columns=SAY_DO_COLUMNS), warnings, extra)


# --- Throughput ----------------------------------------------------------------------------------------

_DELIVERED = """
    project_key = $pk AND list_contains($std, type) AND status_category = 'done' AND done_at >= $from
    AND done_at < $to"""

_THROUGHPUT_SQL = f"""
WITH delivered AS (
    SELECT type, CAST(date_trunc($unit, timezone($tz, done_at)) AS DATE) AS start
    FROM issues WHERE {_DELIVERED} AND resolution_class = 'delivered'
),
periods AS (
    SELECT CAST(p AS DATE) AS start
    FROM range(CAST($first AS TIMESTAMP), CAST($last AS TIMESTAMP) + INTERVAL 1 DAY,
               CASE $unit WHEN 'week' THEN INTERVAL 7 DAY ELSE INTERVAL 1 MONTH END) r(p)
),
types AS (SELECT DISTINCT type FROM delivered)
SELECT CASE $unit WHEN 'week' THEN strftime(p.start, '%G-W%V') ELSE strftime(p.start, '%Y-%m') END AS period,
       p.start, t.type, count(d.type) AS issues
FROM periods p CROSS JOIN types t
LEFT JOIN delivered d ON d.start = p.start AND d.type = t.type
GROUP BY ALL ORDER BY p.start, t.type
"""


@register("throughput", name_en="Throughput", name_zh="吞吐量", unit="issues/month",
          direction="higher_is_better", section="2", params=("month", "period"))
def throughput(cur, *, project_key: str, month: str | None = None, period: str = "month") -> MetricResult:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    extra = {"month": month, "period": period}
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=THROUGHPUT_COLUMNS), [{"code": "no_data"}], extra)
    month_start, month_end = month_bounds(month, tz)
    first_day = local_date(month_start, tz)
    first_day = first_day.replace(year=first_day.year - (first_day.month <= TREND_MONTHS - 1),
                                  month=(first_day.month - TREND_MONTHS) % 12 + 1)
    last_day = local_date(month_start, tz)
    if period == "week":
        first_day -= timedelta(days=first_day.weekday())
        last_day = local_date(month_end - timedelta(milliseconds=1), tz)
        last_day -= timedelta(days=last_day.weekday())
    params = {"pk": project_key, "std": list(STANDARD_TYPES), "tz": tz, "unit": period,
              "first": first_day, "last": last_day, "from": local_midnight(first_day, tz), "to": month_end}
    series = pd.DataFrame(cur.execute(_THROUGHPUT_SQL, params).fetchall(), columns=THROUGHPUT_COLUMNS)
    sel = {k: params[k] for k in ("pk", "std", "to")}
    by_type = cur.execute(f"SELECT type, count(*) FROM issues WHERE {_DELIVERED} AND resolution_class = 'delivered'"
                          " GROUP BY type ORDER BY type", {**sel, "from": month_start}).fetchall()
    unresolved = cur.execute(f"SELECT count(*) FROM issues WHERE {_DELIVERED} AND resolution_class IS NULL",
                             {**sel, "from": params["from"]}).fetchone()[0]
    extra["by_type"] = {t: int(n) for t, n in by_type}
    warnings = [{"code": "done_without_resolution", "count": unresolved}] if unresolved else []
    return MetricResult(sum(extra["by_type"].values()), series, warnings, extra)


# --- Release burndown ------------------------------------------------------------------------------------

# Fix versions with issues, latest first (by the numbers in the name, then the newest issue); released = a
# milestone of the same name (case and surrounding spaces ignored) has an actual date, as in quality_dre.
_VERSIONS_SQL = r"""
SELECT v.v, v.open, v.first, m.actual IS NOT NULL AS released
FROM (SELECT v, count(*) FILTER (WHERE status_category IS DISTINCT FROM 'done') AS open,
             min(created_at) AS first, max(created_at) AS last
      FROM (SELECT unnest(list_distinct(fix_versions)) AS v, status_category, created_at
            FROM issues WHERE project_key = $pk AND coalesce(type, 'other') <> 'epic')
      WHERE v IS NOT NULL AND trim(v) <> ''
      GROUP BY v) v
LEFT JOIN (SELECT lower(trim(name)) AS lname, max(actual_date) AS actual FROM milestones
           WHERE project_key = $pk GROUP BY 1) m ON m.lname = lower(trim(v.v))
ORDER BY CAST(regexp_extract_all(v.v, '\d+') AS BIGINT[]) DESC, v.last DESC, v.v DESC
"""

# Lines binned into sprint windows (close_{k-1}, close_k]: the replay runs once over the whole span, so an
# issue completed in one sprint and reopened in a later one moves the later sprint's completed down.
_RELEASE_SELECT = """
, win AS (SELECT unnest($win_k) AS k, unnest(CAST($win_end AS TIMESTAMPTZ[])) AS win_end),
binned AS (SELECT w.k, l.* FROM lines l ASOF JOIN win w ON w.win_end >= l.t)
SELECT w.k,
       coalesce(sum(b.d_done), 0) AS completed,
       coalesce(sum(greatest(b.d_scope, 0)) FILTER (WHERE b.step <> 2), 0) AS added,
       coalesce(sum(greatest(-b.d_scope, 0)) FILTER (WHERE b.step <> 2), 0) AS removed,
       coalesce(sum(b.d_scope) FILTER (WHERE b.step = 2), 0) AS estimate_change
FROM win w LEFT JOIN binned b ON b.k = w.k
GROUP BY w.k ORDER BY w.k
"""

_UNESTIMATED_SELECT = """
SELECT issue_key FROM scoped JOIN last_state USING (issue_key) WHERE NOT known ORDER BY issue_key
"""


def _release_empty(warnings: list[dict], extra: dict) -> MetricResult:
    return MetricResult(None, pd.DataFrame(columns=RELEASE_COLUMNS), warnings, extra)


@register("release_burndown", name_en="Release burndown", name_zh="发布燃尽图", unit="sprints",
          direction="lower_is_better", section="1.2", params=("release", "statistic", "mode"))
def release_burndown(cur, *, project_key: str, release: str | None = None, statistic: str = "points",
                     mode: str | None = None, now: datetime | None = None) -> MetricResult:
    """value = forecast sprints still needed. `now` (default: the clock) ends the scope/coverage look-up."""
    mode, warnings = _options(cur, project_key, statistic, mode)
    tz = project_settings(cur, project_key)["timezone"]
    extra = {"release": release, "statistic": statistic, "unit": STATISTICS[statistic], "mode": mode}
    versions = cur.execute(_VERSIONS_SQL, {"pk": project_key}).fetchall()
    if not versions:
        return _release_empty(warnings + [{"code": "no_versions"}], extra)
    if release is None:   # the latest unreleased version that still has open work, else the latest unreleased
        unreleased = [v for v in versions if not v[3]] or versions
        chosen = next((v for v in unreleased if v[1]), unreleased[0])
    else:
        chosen = next((v for v in versions if v[0] == release), None)
        if chosen is None:
            return _release_empty(warnings + [{"code": "release_not_found", "release": release}], extra)
    release, _, first_created, _ = chosen
    extra["release"] = release
    if not has_history(cur, project_key, "fix_versions"):
        warnings.append({"code": "version_no_history"})

    closed = [w for w in closed_windows(sprint_windows(cur, project_key, tz))
              if first_created is None or _close(w) > first_created]
    if not closed:
        return _release_empty(warnings + [{"code": "no_closed_sprints"}], extra)
    now = now or datetime.now(timezone.utc)
    start, ends = closed[0]["start_at"], [data_end(w, now) for w in closed]
    params = state_params(project_key, release, statistic=statistic, mode=mode, start=start, end=ends[-1],
                          tz=tz, field="fix_versions")
    committed = summarize(cur, params)["committed"]
    binned = replay(cur, {**params, "win_k": list(range(len(closed))), "win_end": ends}, _RELEASE_SELECT)

    rows, remaining, done_total = [], committed, 0.0
    for w, end, (_, completed, added, removed, est) in zip(closed, ends, binned):
        after = remaining - completed + added - removed + est
        done_total += completed
        rows.append({"sprint": w["name"], "start": local_date(w["start_at"], tz), "end": local_date(end, tz),
                     "remaining_before": remaining, "completed": completed, "added": added, "removed": removed,
                     "estimate_change": est, "remaining_after": after, "completed_total": done_total,
                     "scope": after + done_total})
        remaining = after
    series = pd.DataFrame(rows, columns=RELEASE_COLUMNS)

    recent = series["completed"].tail(VELOCITY_WINDOW)
    if len(recent) < VELOCITY_WINDOW:
        warnings.append({"code": "few_closed_sprints", "count": len(recent), "needed": VELOCITY_WINDOW})
    v_bar = float(recent.mean())
    if remaining <= 0:
        forecast = 0
    elif v_bar > 0:
        forecast = math.ceil(remaining / v_bar)
    else:
        forecast = None
        warnings.append({"code": "forecast_unavailable", "version": release})

    # G7: the version's issues in scope since the first sprint's start, as they stand now.
    scope = replay(cur, {**params, "end": max(now, ends[-1])}, _UNESTIMATED_SELECT)
    totals = summarize(cur, {**params, "end": max(now, ends[-1])})
    unestimated = [r[0] for r in scope]
    if unestimated:
        warnings.append({"code": "version_unestimated", "count": len(unestimated), "in_scope": totals["in_scope"],
                         "version": release, "issues": unestimated[:10] + (["…"] if len(unestimated) > 10 else [])})
    extra.update({"scope_at_start": committed, "remaining": remaining, "velocity": v_bar,
                  "forecast_sprints": forecast, "sprints_in_mean": list(series["sprint"].tail(VELOCITY_WINDOW)),
                  "unestimated": unestimated, "in_scope": totals["in_scope"], "estimated": totals["estimated"],
                  "coverage": ratio(totals["estimated"], totals["in_scope"])})
    return MetricResult(forecast, series, warnings, extra)
