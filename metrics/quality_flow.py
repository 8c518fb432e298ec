"""Defect flow (METRICS.md §6): defect aging — 缺陷存活时长, mean time to resolve — 平均修复时长, defect
arrival vs closure — 缺陷发现-关闭趋势(收敛曲线).

Inputs
    issues: type, resolution_class, severity, title, created_at, done_at (final, G4), status_category;
    changes: field 'status_category' (to_value todo / in_progress / done), where the tracker exported history;
    projects.timezone (G1).

Valid defect: type 'bug', resolution_class distinct from 'invalid' (G5), with today's classification (the
"restated" view of G10). Severity groups use the one mapping of metrics.common (rank 1..4, 'unknown').

defect_aging (param month)
    * Snapshot: the month's last day, state at 23:59:59.999 local (G1). Open then: for an issue with
      status_category history, its category then is not done (as metrics.flow reads history: the to_value of
      the last change at or before the instant, else the from_value of the first change after it, else the
      current category); without history, not done by then (done_at NULL or after the snapshot; a done issue without a
      done date counts as closed). A bug resolved before the snapshot and reopened after it is open only when
      the history says so: without history its final done_at decides.
    * Age: whole calendar days from the local creation day to the snapshot day (06-28 -> 06-30 = 2 d), so
      the buckets 0–7, 8–30, 31–90, >90 have no gaps.
    * Series: one row per open valid bug (issue_key, title, severity as exported, sev S1..S4 / unknown,
      created as a local ISO date, age_days, bucket), oldest first. extra["buckets"]: the four buckets with
      counts per severity (s1..s4, unknown, total). value: mean age (days); no open bug -> None with
      no_open_defects.

mttr (param month)
    * Valid bugs whose final done_at falls in the month (local); lead time = done_at − created_at in
      fractional calendar days (G2). A missing creation date or a done_at before created_at is left out and
      counted in bad_durations.
    * Series rows 'all', 's1'..'s4' and 'unknown' when present: resolved, mean_days, median_days (linear
      interpolation, G8). value: mean of 'all'; nothing resolved -> None with no_resolved_in_period.

defect_arrival (params month, period = week | month; default week)
    * Periods in local time: ISO weeks (Monday..Sunday) or calendar months, complete ones only: from the
      period of the first valid bug's creation to the last period ending on or before the month's last day (a
      week across the month's end belongs to the next month's review). Events after that are not counted.
    * Per period: arrived = valid bugs created; closed = valid bugs whose final done_at falls in it (a
      reopened bug closes once, when finally done); cum_arrived, cum_closed; open = cum_arrived − cum_closed.
    * Converging (extra["converging"]): arrivals fell in each of the last 3 periods (A_n < A_n-1 < A_n-2 <
      A_n-3) and open fell in the last one (open_n < open_n-1); None with fewer than 4 periods.
    * value: open at the end of the last period; no valid bug -> None with no_valid_defects.

Warning codes: no_data; no_open_defects{date}; no_resolved_in_period{month}; bad_durations{count};
no_valid_defects{month}.
"""
from __future__ import annotations

from datetime import date, timedelta

import pandas as pd

from metrics import MetricResult, register
from metrics.common import (local_midnight, month_bounds, parse_month, project_settings, ratio, resolve_month,
                            severity_params, severity_rank_sql)
from metrics.quality_dre import valid_bug_sql

BUCKETS = (("0-7", 0, 7), ("8-30", 8, 30), ("31-90", 31, 90), (">90", 91, None))
SEV_LABELS = ("s1", "s2", "s3", "s4", "unknown")
AGING_COLUMNS = ["issue_key", "title", "severity", "sev", "created", "age_days", "bucket"]
MTTR_COLUMNS = ["series", "resolved", "mean_days", "median_days"]
ARRIVAL_COLUMNS = ["period_start", "period_end", "arrived", "closed", "cum_arrived", "cum_closed", "open"]
PERIODS = ("week", "month")


def _last_day(month: str) -> date:
    year, mon = parse_month(month)
    return date(year + (mon == 12), mon % 12 + 1, 1) - timedelta(days=1)


def _sev_label(rank) -> str:
    return f"s{rank}" if rank in (1, 2, 3, 4) else "unknown"


# --- defect_aging ------------------------------------------------------------------------------------------

_OPEN_AT = f"""
WITH hist AS (
    SELECT issue_key, coalesce(arg_max(to_value, changed_at) FILTER (WHERE changed_at <= $snap),
                               arg_min(from_value, changed_at) FILTER (WHERE changed_at > $snap)) AS cat_then
    FROM changes WHERE project_key = $pk AND field = 'status_category'
    GROUP BY issue_key)
SELECT i.issue_key, i.title, i.severity, {severity_rank_sql('i.severity')} AS rank,
       strftime(timezone($tz, i.created_at), '%Y-%m-%d') AS created,
       date_diff('day', timezone($tz, i.created_at)::DATE, $snap_day) AS age_days
FROM issues i LEFT JOIN hist h ON h.issue_key = i.issue_key
WHERE i.project_key = $pk AND {valid_bug_sql('i')} AND i.created_at <= $snap
  AND CASE WHEN h.issue_key IS NOT NULL THEN coalesce(h.cat_then, i.status_category) IS DISTINCT FROM 'done'
           ELSE NOT (coalesce(i.done_at <= $snap, false)
                     OR (i.status_category = 'done' AND i.done_at IS NULL)) END
ORDER BY age_days DESC, i.issue_key
"""


def _bucket(age: int) -> str:
    for name, lo, hi in BUCKETS:
        if age >= lo and (hi is None or age <= hi):
            return name
    return BUCKETS[0][0]   # a bug created after its own done date is a data error; shown as the youngest


@register("defect_aging", name_en="Defect aging", name_zh="缺陷存活时长", unit="days",
          direction="lower_is_better", section="6", params=("month",))
def defect_aging(cur, *, project_key: str, month: str | None = None) -> MetricResult:
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=AGING_COLUMNS), [{"code": "no_data"}], {"month": None})
    snap_day = _last_day(month)
    snap = month_bounds(month, tz)[1] - timedelta(milliseconds=1)
    rows = cur.execute(_OPEN_AT, {"pk": project_key, "tz": tz, "snap": snap, "snap_day": snap_day,
                                  **severity_params()}).fetchall()
    records = [{"issue_key": k, "title": t, "severity": sev, "sev": _sev_label(rank), "created": created,
                "age_days": int(age), "bucket": _bucket(int(age))} for k, t, sev, rank, created, age in rows]
    series = pd.DataFrame(records, columns=AGING_COLUMNS)
    buckets = []
    for name, _, _ in BUCKETS:
        counts = {s: sum(1 for r in records if r["bucket"] == name and r["sev"] == s) for s in SEV_LABELS}
        buckets.append({"bucket": name, **counts, "total": sum(counts.values())})
    ages = [r["age_days"] for r in records]
    value = ratio(sum(ages), len(ages))
    extra = {"month": month, "snapshot": snap_day.isoformat(), "open": len(ages), "buckets": buckets,
             "median_age": float(pd.Series(ages).median()) if ages else None}
    warnings = [] if ages else [{"code": "no_open_defects", "date": snap_day.isoformat()}]
    return MetricResult(value, series, warnings, extra)


# --- mttr ----------------------------------------------------------------------------------------------------

_RESOLVED = f"""
WITH r AS (
    SELECT {severity_rank_sql('severity')} AS rank,
           (epoch(done_at) - epoch(created_at)) / 86400.0 AS days
    FROM issues
    WHERE project_key = $pk AND {valid_bug_sql()} AND done_at >= $start AND done_at < $end)
SELECT rank, count(*) FILTER (WHERE days >= 0), avg(days) FILTER (WHERE days >= 0),
       quantile_cont(days, 0.5) FILTER (WHERE days >= 0), count(*) FILTER (WHERE days IS NULL OR days < 0)
FROM r GROUP BY ROLLUP (rank) ORDER BY GROUPING(rank) DESC, rank NULLS LAST
"""


@register("mttr", name_en="Mean time to resolve", name_zh="平均修复时长", unit="days",
          direction="lower_is_better", section="6", params=("month",))
def mttr(cur, *, project_key: str, month: str | None = None) -> MetricResult:
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=MTTR_COLUMNS), [{"code": "no_data"}], {"month": None})
    start, end = month_bounds(month, tz)
    fetched = cur.execute(_RESOLVED, {"pk": project_key, "start": start, "end": end,
                                      **severity_params()}).fetchall()
    empty = (None, 0, None, None, 0)
    total = fetched[0] if fetched else empty          # the ROLLUP's grand total comes first
    by_rank = {row[0]: row for row in fetched[1:]}    # rank None here: severity unknown
    groups = [("all", total)] + [(f"s{r}", by_rank.get(r, empty)) for r in (1, 2, 3, 4)]
    if None in by_rank:
        groups.append(("unknown", by_rank[None]))
    rows = [{"series": name, "resolved": int(row[1]), "mean_days": row[2], "median_days": row[3]}
            for name, row in groups]
    bad = int(total[4] or 0)
    warnings = []
    if rows[0]["resolved"] == 0:
        warnings.append({"code": "no_resolved_in_period", "month": month})
    if bad:
        warnings.append({"code": "bad_durations", "count": bad})
    return MetricResult(rows[0]["mean_days"], pd.DataFrame(rows, columns=MTTR_COLUMNS), warnings,
                        {"month": month})


# --- defect_arrival ------------------------------------------------------------------------------------------

_EVENTS = f"""
SELECT date_trunc($unit, timezone($tz, created_at))::DATE AS period, 'a' AS kind, count(*) AS n
FROM issues WHERE project_key = $pk AND {valid_bug_sql()} AND created_at < $as_of
GROUP BY ALL
UNION ALL
SELECT date_trunc($unit, timezone($tz, done_at))::DATE, 'c', count(*)
FROM issues WHERE project_key = $pk AND {valid_bug_sql()} AND done_at < $as_of
GROUP BY ALL
"""


def _periods(first: date, last: date, period: str) -> list[tuple[date, date]]:
    out, start = [], first
    while start <= last:
        if period == "week":
            following = start + timedelta(days=7)
        else:
            following = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        out.append((start, following - timedelta(days=1)))
        start = following
    return out


def converging(arrived: list[int], open_: list[int]) -> bool | None:
    """Arrivals fell in each of the last 3 periods and open fell in the last one; None under 4 periods."""
    if len(arrived) < 4:
        return None
    a = arrived[-4:]
    return a[3] < a[2] < a[1] < a[0] and open_[-1] < open_[-2]


@register("defect_arrival", name_en="Defect arrival vs closure", name_zh="缺陷发现-关闭趋势(收敛曲线)",
          unit="defects", direction="lower_is_better", section="6", params=("month", "period"))
def defect_arrival(cur, *, project_key: str, month: str | None = None, period: str = "week") -> MetricResult:
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}, got {period!r}")
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    extra = {"month": month, "period": period, "converging": None}
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=ARRIVAL_COLUMNS), [{"code": "no_data"}], extra)
    last_day = _last_day(month)
    if period == "week":
        last_day -= timedelta(days=(last_day.weekday() + 1) % 7)     # the last Sunday on or before it
    as_of = local_midnight(last_day + timedelta(days=1), tz)
    counts: dict[tuple[date, str], int] = {}
    for p, kind, n in cur.execute(_EVENTS, {"pk": project_key, "tz": tz, "as_of": as_of, "unit": period}).fetchall():
        counts[(p, kind)] = int(n)
    if not any(kind == "a" for _, kind in counts):
        return MetricResult(None, pd.DataFrame(columns=ARRIVAL_COLUMNS),
                            [{"code": "no_valid_defects", "month": month}], extra)
    rows, cum_a, cum_c = [], 0, 0
    for start, end in _periods(min(p for p, _ in counts), last_day, period):
        a, c = counts.get((start, "a"), 0), counts.get((start, "c"), 0)
        cum_a, cum_c = cum_a + a, cum_c + c
        rows.append({"period_start": start.isoformat(), "period_end": end.isoformat(), "arrived": a, "closed": c,
                     "cum_arrived": cum_a, "cum_closed": cum_c, "open": cum_a - cum_c})
    extra.update(as_of=last_day.isoformat(), cum_arrived=cum_a, cum_closed=cum_c,
                 converging=converging([r["arrived"] for r in rows], [r["open"] for r in rows]))
    return MetricResult(rows[-1]["open"], pd.DataFrame(rows, columns=ARRIVAL_COLUMNS), [], extra)
