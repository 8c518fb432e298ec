"""Flow metrics — lead time, cycle time, WIP, cumulative flow (METRICS.md §6).

    lead_time(i)   = done_at(i) − created_at(i)                                         提前期(交付周期)
    cycle_time(i)  = done_at(i) − start(i)                                              周期时间
    active_time(i) = Σ time spent in IN_PROGRESS up to done_at(i), reopened loops included (Jira control chart)
    WIP(d)         = #issues whose status category at the end of day d is IN_PROGRESS   在制品
    band_c(d)      = #in-scope issues whose status category at the end of day d is c    累积流图
    Little's law   avg cycle time ≈ avg WIP / avg throughput (per day)

Population (G6, G5): standard issue types only (sub-tasks and epics never). Lead and cycle time take the
DELIVERED issues that are DONE now and whose final done_at (G4: the last move into DONE) falls in the month
(local, G1); a reopened issue counts once, in the month of its final done_at, with its full lead time.

Durations are calendar days, fractional (hours / 24, G2). ``days="working"`` counts only the part of each
interval that falls on working days of the project calendar (metrics.calendar: holidays and 调休 make-up days),
still fractional: 09:00 Monday to 09:00 Tuesday is 1 working day, Friday 09:00 to Monday 09:00 is 1 too.

Statistics: count, mean, P50, P80 (DevLake's panel), P85, P95, with linear interpolation (DuckDB quantile_cont
= Excel PERCENTILE.INC, G8). Empty -> None, never 0.

Headline value of lead_time and cycle_time: the **median (P50)** (our rule). METRICS.md §8 puts "median cycle
time" on the XmR chart, the median is not dragged by one stale ticket the way the mean is, and the mean, P85
and P95 sit beside it in extra["summary"] (P85 is the usual Kanban service-level line for the scatter).

Status history: the changes rows with field 'status_category' (from/to todo, in_progress, done). The status
at instant t is the to_value of the last change at or before t, else the from_value of the first change after
t, else the current status; an issue does not exist before created_at.

Rules (our rules where METRICS.md is silent)
    * start(i) = the first instant the issue is IN_PROGRESS: the first change into in_progress, or created_at
      when its history starts in in_progress (created straight into a started status). An issue with history
      that never was IN_PROGRESS before done_at "skipped start": cycle and active time NULL, warning
      flow_skipped_start{count}. An issue with no status history at all: cycle and active time NULL, warning
      flow_no_history{count} (lead time still counts).
    * WIP and CFD without history for an issue: approximated from created/done (warning flow_no_history with
      the number of issues whose state in the month had to be guessed: not To Do today and not done before
      the month): DONE from done_at; before that, IN_PROGRESS from its first worklog (else from created_at)
      when it is not To Do now; To Do otherwise.
    * WIP/CFD days: every day of the month (local); in the current month only up to today (days to come have
      no state). Scope: standard issues created by the end of the day.
    * Little's law (extra["little"]): throughput = DELIVERED standard issues with final done_at in the month
      / days in the series; predicted cycle time = avg WIP / throughput; compared with the mean cycle time
      (calendar days) of the month's delivered issues.

Warning codes: no_data; no_resolved_in_period{month}; flow_skipped_start{count}; flow_no_history{count}.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd

from metrics import MetricResult, register
from metrics.calendar import working_days
from metrics.common import (STANDARD_TYPES, end_of_day, local_date, local_midnight, month_bounds,
                            project_settings, ratio, resolve_month)

DAY_MODES = ("calendar", "working")
LEAD_COLUMNS = ["issue_key", "type", "created_at", "done_at", "day", "days"]
CYCLE_COLUMNS = ["issue_key", "type", "started_at", "done_at", "day", "days", "active_days"]
WIP_COLUMNS = ["day", "wip"]
CFD_COLUMNS = ["day", "todo", "in_progress", "done"]
STATS = ("count", "mean", "p50", "p80", "p85", "p95")


def _as_utc(instant: datetime) -> datetime:
    return instant if instant.tzinfo is not None else instant.replace(tzinfo=timezone.utc)


# --- Status at instants (shared with metrics.evm) ---------------------------------------------------------

def status_ctes(items_sql: str, instants_sql: str) -> str:
    """CTEs ending in ``status_at(issue_key, t, status, has_hist)``: each item's status category at each
    instant it existed. `items_sql` selects issue_key, created_at, done_at, status_category of the items (it
    may use $pk); `instants_sql` selects a column `t` (TIMESTAMPTZ) plus any columns to carry along. Both
    are SQL written by this package, never user input. Needs the parameter $pk."""
    return f"""
items AS ({items_sql}),
inst AS ({instants_sql}),
sc AS (
    SELECT c.issue_key, c.changed_at, c.from_value, c.to_value
    FROM changes c SEMI JOIN items i ON i.issue_key = c.issue_key
    WHERE c.project_key = $pk AND c.field = 'status_category'
),
hist_keys AS (SELECT DISTINCT issue_key FROM sc),
first_log AS (
    SELECT w.issue_key, min(w.started_at) AS first_log
    FROM worklogs w SEMI JOIN items i ON i.issue_key = w.issue_key
    WHERE w.project_key = $pk GROUP BY 1
),
grid AS (
    SELECT i.issue_key, n.*
    FROM items i CROSS JOIN inst n
    WHERE i.created_at IS NULL OR i.created_at <= n.t
),
status_at AS (
    SELECT g.*,
           CASE WHEN p.changed_at IS NOT NULL THEN p.to_value
                WHEN nx.changed_at IS NOT NULL THEN nx.from_value
                -- no history: DONE from done_at; started (not To Do now) from the first worklog, else created
                WHEN i.status_category = 'done' AND (i.done_at IS NULL OR i.done_at <= g.t) THEN 'done'
                WHEN coalesce(i.status_category, 'todo') = 'todo' THEN 'todo'
                WHEN coalesce(fl.first_log, i.created_at) IS NULL
                     OR coalesce(fl.first_log, i.created_at) <= g.t THEN 'in_progress'
                ELSE 'todo' END AS status,
           h.issue_key IS NOT NULL AS has_hist
    FROM grid g
    ASOF LEFT JOIN sc p ON p.issue_key = g.issue_key AND p.changed_at <= g.t
    ASOF LEFT JOIN sc nx ON nx.issue_key = g.issue_key AND nx.changed_at > g.t
    JOIN items i ON i.issue_key = g.issue_key
    LEFT JOIN hist_keys h ON h.issue_key = g.issue_key
    LEFT JOIN first_log fl ON fl.issue_key = g.issue_key
)"""


_STANDARD_ITEMS = """
    SELECT issue_key, created_at, done_at, status_category FROM issues
    WHERE project_key = $pk AND list_contains($std, type)
"""


# --- Durations ---------------------------------------------------------------------------------------------

# Spans per delivered issue of the month: 'lead' [created, done], 'cycle' [start, done], 'active' (one row per
# stay in IN_PROGRESS, clipped at done_at).
_SPANS_SQL = """
WITH
pop AS (
    SELECT issue_key, coalesce(type, 'other') AS type, created_at, done_at
    FROM issues
    WHERE project_key = $pk AND list_contains($std, type) AND resolution_class = 'delivered'
      AND status_category = 'done' AND done_at >= $start AND done_at < $end
),
sc AS (
    SELECT c.issue_key, c.changed_at, c.from_value, c.to_value,
           row_number() OVER w AS rn, lead(c.changed_at) OVER w AS next_at
    FROM changes c SEMI JOIN pop p ON p.issue_key = c.issue_key
    WHERE c.project_key = $pk AND c.field = 'status_category'
    WINDOW w AS (PARTITION BY c.issue_key ORDER BY c.changed_at, c.to_value)
),
stays AS (   -- [a, b) in IN_PROGRESS, clipped at the final done_at
    SELECT s.issue_key, s.changed_at AS a, least(coalesce(s.next_at, p.done_at), p.done_at) AS b
    FROM sc s JOIN pop p USING (issue_key)
    WHERE s.to_value = 'in_progress' AND s.changed_at < p.done_at
    UNION ALL   -- the history starts in IN_PROGRESS: it was started when it was created
    SELECT s.issue_key, p.created_at, least(s.changed_at, p.done_at)
    FROM sc s JOIN pop p USING (issue_key)
    WHERE s.rn = 1 AND s.from_value = 'in_progress' AND p.created_at IS NOT NULL AND p.created_at < p.done_at
),
spans AS (
    SELECT issue_key, 'lead' AS kind, created_at AS a, done_at AS b FROM pop WHERE created_at IS NOT NULL
    UNION ALL
    SELECT s.issue_key, 'cycle', min(s.a), p.done_at FROM stays s JOIN pop p USING (issue_key)
    GROUP BY s.issue_key, p.done_at
    UNION ALL
    SELECT issue_key, 'active', a, b FROM stays WHERE b > a
)
"""

_CALENDAR_DURATION = """
, dur AS (
    SELECT issue_key, kind, min(a) AS a, sum(epoch(b) - epoch(a)) / 86400.0 AS days
    FROM spans GROUP BY ALL
)
"""

# Working days: the overlap of each span with the working days' [00:00, 24:00) local.
_WORKING_DURATION = """
, wd AS (SELECT unnest($ws) AS ws, unnest($we) AS we),
dur AS (
    SELECT s.issue_key, s.kind, min(s.a) AS a,
           coalesce(sum(greatest(0, epoch(least(s.b, wd.we)) - epoch(greatest(s.a, wd.ws)))), 0) / 86400.0
               AS days
    FROM spans s LEFT JOIN wd ON wd.ws < s.b AND wd.we > s.a
    GROUP BY ALL
)
"""

_PER_ISSUE_SELECT = """
SELECT p.issue_key, p.type, p.created_at, c.a AS started_at, p.done_at,
       CAST(timezone($tz, p.done_at) AS DATE) AS day,
       l.days AS lead_days, c.days AS cycle_days,
       CASE WHEN c.issue_key IS NOT NULL THEN coalesce(ac.days, 0) END AS active_days,
       p.issue_key IN (SELECT issue_key FROM sc) AS has_hist
FROM pop p
LEFT JOIN dur l ON l.issue_key = p.issue_key AND l.kind = 'lead'
LEFT JOIN dur c ON c.issue_key = p.issue_key AND c.kind = 'cycle'
LEFT JOIN dur ac ON ac.issue_key = p.issue_key AND ac.kind = 'active'
ORDER BY p.done_at, p.issue_key
"""

_STATS_SELECT = """
SELECT kind, count(days), avg(days), quantile_cont(days, [0.5, 0.8, 0.85, 0.95])
FROM dur GROUP BY kind
"""

_PER_ISSUE_COLUMNS = ["issue_key", "type", "created_at", "started_at", "done_at", "day", "lead_days",
                      "cycle_days", "active_days", "has_hist"]


def _workday_bounds(cur, params: dict, tz: str, calendar: str) -> dict:
    """$ws/$we: [local 00:00, next 00:00) of every working day the month's spans touch."""
    lo, hi = cur.execute(
        _SPANS_SQL + "SELECT min(a), max(b) FROM spans", params).fetchone()
    if lo is None:
        lo = hi = params["start"]
    cal = working_days(cur, local_date(lo, tz), local_date(hi, tz), calendar)
    days = [d for d, w in zip(cal["day"], cal["is_workday"]) if w]
    # A typed list even when empty (an empty Python list has no element type for DuckDB).
    ws = [local_midnight(d, tz) for d in days] or [params["start"]]
    we = [local_midnight(d + timedelta(days=1), tz) for d in days] or [params["start"]]
    return {"ws": ws, "we": we}


def _durations(cur, project_key: str, month: str, tz: str, calendar: str, days: str):
    """(per-issue DataFrame, {kind: stats}) for the standard DELIVERED issues done in `month`."""
    start, end = month_bounds(month, tz)
    params = {"pk": project_key, "std": list(STANDARD_TYPES), "start": start, "end": end}
    if days == "working":
        params.update(_workday_bounds(cur, params, tz, calendar))
        sql = _SPANS_SQL + _WORKING_DURATION
    else:
        sql = _SPANS_SQL + _CALENDAR_DURATION
    rows = cur.execute(sql + _PER_ISSUE_SELECT, {**params, "tz": tz}).fetchall()
    per_issue = pd.DataFrame(rows, columns=_PER_ISSUE_COLUMNS)
    for col in ("created_at", "started_at", "done_at"):   # shown (and dated by the CLI) in the project's zone
        per_issue[col] = pd.to_datetime(per_issue[col], utc=True).dt.tz_convert(tz)
    for col in ("lead_days", "cycle_days", "active_days"):
        per_issue[col] = per_issue[col].astype("float64")
    stats = {}
    for kind, n, mean, qs in cur.execute(sql + _STATS_SELECT, params).fetchall():
        qs = qs or [None] * 4
        stats[kind] = dict(zip(STATS, (int(n), mean, *qs)))
    empty = dict(zip(STATS, (0, None, None, None, None, None)))
    return per_issue, {k: stats.get(k, dict(empty)) for k in ("lead", "cycle", "active")}


def _check_days(days: str) -> None:
    if days not in DAY_MODES:
        raise ValueError(f"days must be one of {DAY_MODES}, got {days!r}")


def _history_warnings(per_issue: pd.DataFrame) -> list[dict]:
    warnings = []
    no_hist = int((~per_issue["has_hist"]).sum())
    skipped = int((per_issue["has_hist"] & per_issue["cycle_days"].isna()).sum())
    if skipped:
        warnings.append({"code": "flow_skipped_start", "count": skipped})
    if no_hist:
        warnings.append({"code": "flow_no_history", "count": no_hist})
    return warnings


def _month_or_empty(cur, project_key: str, month: str | None, columns: list[str]):
    proj = project_settings(cur, project_key)
    month = resolve_month(cur, project_key, month, proj["timezone"])
    if month is None:
        return proj, None, MetricResult(None, pd.DataFrame(columns=columns), [{"code": "no_data"}],
                                        {"month": None})
    return proj, month, None


@register("lead_time", name_en="Lead time", name_zh="提前期(交付周期)", unit="days",
          direction="lower_is_better", section="6", params=("month", "days"))
def lead_time(cur, *, project_key: str, month: str | None = None, days: str = "calendar") -> MetricResult:
    """value: median lead time (days) of the standard issues delivered in the month; extra["summary"]:
    count, mean, p50, p80, p85, p95."""
    _check_days(days)
    proj, month, empty = _month_or_empty(cur, project_key, month, LEAD_COLUMNS)
    if empty:
        return empty
    per_issue, stats = _durations(cur, project_key, month, proj["timezone"], proj["calendar"], days)
    series = per_issue.rename(columns={"lead_days": "days"})[LEAD_COLUMNS].reset_index(drop=True)
    warnings = [] if len(per_issue) else [{"code": "no_resolved_in_period", "month": month}]
    summary = stats["lead"]
    return MetricResult(summary["p50"], series, warnings,
                        {"month": month, "days": days, "summary": summary, "value_stat": "p50"})


@register("cycle_time", name_en="Cycle time", name_zh="周期时间", unit="days",
          direction="lower_is_better", section="6", params=("month", "days"))
def cycle_time(cur, *, project_key: str, month: str | None = None, days: str = "calendar") -> MetricResult:
    """value: median cycle time (days); series per issue with its active time; extra["summary"] (cycle)
    and extra["active_time"] (the same statistics of active time)."""
    _check_days(days)
    proj, month, empty = _month_or_empty(cur, project_key, month, CYCLE_COLUMNS)
    if empty:
        return empty
    per_issue, stats = _durations(cur, project_key, month, proj["timezone"], proj["calendar"], days)
    series = per_issue.rename(columns={"cycle_days": "days"})[CYCLE_COLUMNS].reset_index(drop=True)
    if not len(per_issue):
        warnings = [{"code": "no_resolved_in_period", "month": month}]
    else:
        warnings = _history_warnings(per_issue)
    summary = stats["cycle"]
    extra = {"month": month, "days": days, "summary": summary, "active_time": stats["active"],
             "value_stat": "p50", "delivered": int(len(per_issue)),
             "skipped_start": sorted(per_issue.loc[per_issue["has_hist"] & per_issue["cycle_days"].isna(),
                                                   "issue_key"])}
    return MetricResult(summary["p50"], series, warnings, extra)


# --- Daily status: WIP and CFD ------------------------------------------------------------------------------

def _month_days(month: str, tz: str, now: datetime | None) -> list[date]:
    start, end = month_bounds(month, tz)
    first, last = local_date(start, tz), local_date(end, tz) - timedelta(days=1)
    today = local_date(_as_utc(now or datetime.now(timezone.utc)), tz)
    last = min(last, today)
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _daily_status(cur, project_key: str, days: list[date], tz: str) -> tuple[pd.DataFrame, int]:
    """(per day: todo, in_progress, done counts; issues whose state in these days had to be guessed: no
    status history, not To Do now, and not done before the first day)."""
    if not days:
        return pd.DataFrame(columns=CFD_COLUMNS), 0
    instants = "SELECT unnest($days) AS day, unnest($eods) AS t"
    sql = "WITH " + status_ctes(_STANDARD_ITEMS, instants) + """
SELECT n.day,
       count(s.issue_key) FILTER (WHERE s.status = 'todo') AS todo,
       count(s.issue_key) FILTER (WHERE s.status = 'in_progress') AS in_progress,
       count(s.issue_key) FILTER (WHERE s.status = 'done') AS done
FROM inst n LEFT JOIN status_at s ON s.t = n.t
GROUP BY n.day ORDER BY n.day
"""
    params = {"pk": project_key, "std": list(STANDARD_TYPES), "days": days,
              "eods": [end_of_day(d, tz) for d in days]}
    frame = pd.DataFrame(cur.execute(sql, params).fetchall(), columns=CFD_COLUMNS)
    for col in CFD_COLUMNS[1:]:
        frame[col] = frame[col].astype("int64")
    guessed = cur.execute(
        "SELECT count(*) FROM issues i WHERE project_key = $pk AND list_contains($std, type)"
        " AND coalesce(status_category, 'todo') <> 'todo' AND (created_at IS NULL OR created_at <= $last)"
        " AND (done_at IS NULL OR done_at >= $first)"
        " AND NOT EXISTS (SELECT 1 FROM changes c WHERE c.project_key = $pk AND c.issue_key = i.issue_key"
        "                 AND c.field = 'status_category')",
        {"pk": project_key, "std": list(STANDARD_TYPES), "last": params["eods"][-1],
         "first": local_midnight(days[0], tz)}).fetchone()[0]
    return frame, int(guessed)


def littles_law(avg_wip: float | None, throughput_per_day: float | None) -> float | None:
    """Predicted average cycle time (days) = avg WIP / avg throughput per day (None on a zero rate)."""
    return ratio(avg_wip, throughput_per_day)


@register("wip", name_en="Work in progress (WIP)", name_zh="在制品", unit="issues",
          direction="none", section="6", params=("month",))
def wip(cur, *, project_key: str, month: str | None = None, now: datetime | None = None) -> MetricResult:
    """value: the mean of the daily WIP over the month's days (to today in the current month). `now` (default:
    the clock) only cuts the current month; tests pin it."""
    proj, month, empty = _month_or_empty(cur, project_key, month, WIP_COLUMNS)
    if empty:
        return empty
    tz = proj["timezone"]
    days = _month_days(month, tz, now)
    daily, guessed = _daily_status(cur, project_key, days, tz)
    series = pd.DataFrame({"day": daily["day"], "wip": daily["in_progress"]}, columns=WIP_COLUMNS)
    avg_wip = float(series["wip"].mean()) if len(series) else None
    warnings = [{"code": "flow_no_history", "count": guessed}] if guessed else []

    per_issue, stats = _durations(cur, project_key, month, tz, proj["calendar"], "calendar")
    throughput = ratio(len(per_issue), len(days)) if days else None
    predicted = littles_law(avg_wip, throughput)
    avg_cycle = stats["cycle"]["mean"]
    extra = {
        "month": month,
        "days": len(days),
        "max_wip": int(series["wip"].max()) if len(series) else None,
        "little": {"avg_wip": avg_wip, "throughput_per_day": throughput, "delivered": int(len(per_issue)),
                   "predicted_cycle_days": predicted, "avg_cycle_days": avg_cycle,
                   "ratio": ratio(avg_cycle, predicted)},
    }
    return MetricResult(avg_wip, series, warnings, extra)


@register("cfd", name_en="Cumulative flow diagram", name_zh="累积流图", unit="issues",
          direction="none", section="6", params=("month",))
def cfd(cur, *, project_key: str, month: str | None = None, now: datetime | None = None) -> MetricResult:
    """Per day the standard issues (created by then) in each status category at the end of the day. Stack
    done at the bottom, then in_progress, then todo (extra["stack_order"]). value: in_progress on the last
    day (the vertical distance between the bands)."""
    proj, month, empty = _month_or_empty(cur, project_key, month, CFD_COLUMNS)
    if empty:
        return empty
    tz = proj["timezone"]
    days = _month_days(month, tz, now)
    series, guessed = _daily_status(cur, project_key, days, tz)
    warnings = [{"code": "flow_no_history", "count": guessed}] if guessed else []
    value = float(series["in_progress"].iloc[-1]) if len(series) else None
    return MetricResult(value, series.reset_index(drop=True), warnings,
                        {"month": month, "stack_order": ["done", "in_progress", "todo"]})
