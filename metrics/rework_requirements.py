"""Requirement change rate — 需求变更率, and requirement stability index — 需求稳定性指数 (METRICS.md §5c).

    ChangeRate = (added + modified + deleted after the baseline) / baseline count     Stability = 1 − ChangeRate

Inputs
    issues: type, created_at, done_at, resolution_class, first_import_id. changes: field, changed_at,
    from_value, to_value. projects.timezone (G1).
    settings: ``requirement_baseline_date`` ('YYYY-MM-DD', local; empty = the default below).

Rules
    * Requirements: issues of type 'requirement' or 'story' (ZenTao 需求, Jira stories). Epics, tasks, bugs
      and change requests are not requirements (change requests are how changes arrive; their hours are
      change_rework).
    * Baseline instant: the end (23:59:59.999 local) of ``requirement_baseline_date``; without it, the
      latest creation time among the issues of the project's first import (what the PMO's first upload
      held; warning requirement_baseline_default, so the PMO knows to set the real date). No import
      recorded -> None with requirement_baseline_unknown.
    * Baseline: requirements created at or before the baseline instant and not already removed by then.
    * Up to the as-of instant (the end of the month param, default month = latest activity), each
      requirement counts at most once, in the first of:
        - added: created after the baseline;
        - deleted: a baseline requirement resolved as anything but delivered (invalid: cancelled, duplicate;
          valid_not_fixed: won't do) after the baseline, at its final done_at;
        - modified: a baseline requirement whose estimate or title changed after the baseline: a ``changes``
          row of field story_points, original_estimate_h, title or summary (the fields the importers
          record) whose from_value is not empty (a first estimate is not a change) and differs from
          to_value; counted at its first such change. Remaining-estimate burn is not a change.
      A requirement added then deleted counts once, as added.
    * Series: one row per month from the baseline's month to the as-of month: added, modified, deleted,
      changed (their sum), cum_changed, rate (cumulative over the baseline), stability (1 − rate).
    * value: rate at the as-of month; baseline count 0 -> None with no_baseline_requirements; a month that
      ends before the baseline -> None with month_before_baseline.

Warning codes: no_data; requirement_baseline_default{date}; requirement_baseline_unknown;
no_baseline_requirements{date}; month_before_baseline{month, date}; setting_invalid{name, value}.
"""
from __future__ import annotations

from datetime import date

import pandas as pd

from metrics import MetricResult, register
from metrics.common import end_of_day, local_date, month_bounds, project_settings, ratio, resolve_month, setting
from metrics.rework_effort import month_range

REQUIREMENT_TYPES = ("requirement", "story")
MODIFIED_FIELDS = ("story_points", "original_estimate_h", "title", "summary")
COLUMNS = ["month", "added", "modified", "deleted", "changed", "cum_changed", "rate", "stability"]

_CLASSES = """
WITH r AS (
    SELECT issue_key, created_at, done_at,
           created_at <= $base AS in_baseline,
           coalesce(resolution_class IN ('invalid', 'valid_not_fixed'), false) AS removed
    FROM issues WHERE project_key = $pk AND list_contains($types, type)),
mods AS (
    SELECT issue_key, min(changed_at) AS first_mod
    FROM changes
    WHERE project_key = $pk AND list_contains($fields, field) AND changed_at > $base AND changed_at < $as_of
      AND nullif(trim(from_value), '') IS NOT NULL AND from_value IS DISTINCT FROM to_value
    GROUP BY issue_key),
c AS (
    SELECT r.*, m.first_mod,
           r.in_baseline AND NOT (r.removed AND coalesce(r.done_at <= $base, false)) AS baseline
    FROM r LEFT JOIN mods m USING (issue_key)),
k AS (
    SELECT baseline, CASE
        WHEN NOT in_baseline AND created_at < $as_of THEN 'added'
        WHEN baseline AND removed AND done_at > $base AND done_at < $as_of THEN 'deleted'
        WHEN baseline AND first_mod IS NOT NULL THEN 'modified' END AS kind,
        CASE WHEN NOT in_baseline THEN created_at
             WHEN removed AND done_at > $base AND done_at < $as_of THEN done_at
             ELSE first_mod END AS event_at
    FROM c)
SELECT strftime(timezone($tz, event_at), '%Y-%m') AS month, kind, count(*) FROM k WHERE kind IS NOT NULL
GROUP BY ALL
UNION ALL
SELECT NULL, 'baseline', count(*) FROM k WHERE baseline
"""


def baseline_instant(cur, project_key: str, tz: str):
    """(instant or None, warnings): the setting's day end, else the first import's latest creation."""
    warnings = []
    raw = setting(cur, project_key, "requirement_baseline_date")
    text = str(raw).strip().strip('"') if raw is not None else ""
    if text:
        try:
            return end_of_day(date.fromisoformat(text), tz), warnings
        except ValueError:
            warnings.append({"code": "setting_invalid", "name": "requirement_baseline_date", "value": raw})
    first = cur.execute(
        "SELECT max(created_at) FROM issues WHERE project_key = $pk AND first_import_id ="
        " (SELECT min(first_import_id) FROM issues WHERE project_key = $pk)", {"pk": project_key}).fetchone()[0]
    if first is None:
        return None, [*warnings, {"code": "requirement_baseline_unknown"}]
    return first, [*warnings, {"code": "requirement_baseline_default", "date": local_date(first, tz).isoformat()}]


def compute_change_rate(cur, project_key: str, month: str | None) -> MetricResult:
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    extra = {"month": month, "baseline_date": None, "baseline": None}
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=COLUMNS), [{"code": "no_data"}], extra)
    base, warnings = baseline_instant(cur, project_key, tz)
    if base is None:
        return MetricResult(None, pd.DataFrame(columns=COLUMNS), warnings, extra)
    base_day = local_date(base, tz)
    extra["baseline_date"] = base_day.isoformat()
    as_of = month_bounds(month, tz)[1]
    if as_of <= base:
        return MetricResult(None, pd.DataFrame(columns=COLUMNS),
                            [*warnings, {"code": "month_before_baseline", "month": month,
                                         "date": base_day.isoformat()}], extra)
    counts, baseline = {}, 0
    for m, kind, n in cur.execute(_CLASSES, {"pk": project_key, "tz": tz, "base": base, "as_of": as_of,
                                             "types": list(REQUIREMENT_TYPES),
                                             "fields": list(MODIFIED_FIELDS)}).fetchall():
        if kind == "baseline":
            baseline = int(n)
        else:
            counts[(m, kind)] = int(n)
    extra["baseline"] = baseline
    base_month = f"{base_day.year:04d}-{base_day.month:02d}"
    rows, cum = [], 0
    for m in month_range(base_month, month):
        added, modified, deleted = (counts.get((m, k), 0) for k in ("added", "modified", "deleted"))
        cum += added + modified + deleted
        rate = ratio(cum, baseline)
        rows.append({"month": m, "added": added, "modified": modified, "deleted": deleted,
                     "changed": added + modified + deleted, "cum_changed": cum, "rate": rate,
                     "stability": None if rate is None else 1 - rate})
    if not baseline:
        warnings.append({"code": "no_baseline_requirements", "date": base_day.isoformat()})
    extra.update({k: sum(r[k] for r in rows) for k in ("added", "modified", "deleted")})
    return MetricResult(rows[-1]["rate"], pd.DataFrame(rows, columns=COLUMNS), warnings, extra)


@register("requirement_change_rate", name_en="Requirement change rate", name_zh="需求变更率", unit="%",
          direction="lower_is_better", section="5c", params=("month",))
def requirement_change_rate(cur, *, project_key: str, month: str | None = None) -> MetricResult:
    return compute_change_rate(cur, project_key, month)


@register("requirement_stability", name_en="Requirement stability index", name_zh="需求稳定性指数", unit="%",
          direction="higher_is_better", section="5c", params=("month",))
def requirement_stability(cur, *, project_key: str, month: str | None = None) -> MetricResult:
    r = compute_change_rate(cur, project_key, month)
    r.value = None if r.value is None else 1 - r.value
    return r
