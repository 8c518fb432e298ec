"""Rework effort ratio — 返工工作量占比 (METRICS.md §5b, the headline rework measure) and change-driven rework —
变更引起的返工 (§5c).

    ReworkEffort = H_rework / H_total            ChangeRework = H_change / H_total

Inputs
    worklogs: issue_key, started_at, hours. issues: type, parent_key, labels[], first_done_at, done_at,
    time_spent_h. projects.timezone (G1).

Rules
    * H_total: every work log of the project started in the month (local), whatever its issue.
    * Each work log counts once, in the first of these that holds (sub-tasks take their parent's type, labels
      and resolution history, G6/§5b; a sub-task's own first resolution counts too, the earlier one wins):
        - h_bug: its issue is a bug;
        - h_from_bug: its issue is a ZenTao task derived from a bug (label ``from_bug:BUG-n``, ZenTao's
          来源Bug的任务消耗工时 [Z4]);
        - h_after_done: logged at or after the issue's first resolution (first_done_at, else done_at): work
          redone after a reopen.
      h_rework = h_bug + h_from_bug + h_after_done.
    * H_change: hours on issues of type 'change', or labelled as a change request: a label equal (case and
      surrounding spaces ignored) to one of CHANGE_LABELS ("change request", "CR", 变更, 变更请求, 需求变更, ...).
      METRICS.md's second part, hours on baseline items reopened with reason "requirement change", needs a
      reopen reason no export carries: not counted.
    * No work log at all in the project (ZenTao, GitLab, Redmine CSVs...): fallback to each issue's
      time_spent_h, counted in the month of its final done_at, at leaf level (G6: a parent's own hours only
      when none of its sub-tasks has hours, since ZenTao adds child hours into the parent); warning
      hours_from_time_spent. Work after a reopen cannot be told apart then: h_after_done is NULL and the
      rate a lower bound.
    * Series: the 12 months ending with the month param (default month = latest activity), oldest first;
      a month without hours has h_total 0 and rate NULL. value: the month's rate; no hours -> None with
      no_hours_in_period.

Warning codes: no_data; hours_from_time_spent; no_hours_in_period{month}.
"""
from __future__ import annotations

import pandas as pd

from metrics import MetricResult, register
from metrics.common import month_bounds, parse_month, project_settings, ratio, resolve_month

CHANGE_LABELS = ("change request", "change-request", "change_request", "changerequest", "cr", "变更", "变更请求",
                 "需求变更", "变更单")
REWORK_COLUMNS = ["month", "basis", "h_total", "h_bug", "h_from_bug", "h_after_done", "h_rework", "rate"]
CHANGE_COLUMNS = ["month", "basis", "h_total", "h_change", "rate"]
MONTHS_SHOWN = 12


def _from_bug(labels: str) -> str:
    return (f"len(list_filter(coalesce({labels}, []::VARCHAR[]),"
            f" lambda l: starts_with(lower(trim(l)), 'from_bug:'))) > 0")


def _change_label(labels: str) -> str:
    return (f"list_has_any(list_transform(coalesce({labels}, []::VARCHAR[]), lambda l: lower(trim(l))),"
            f" $change_labels)")


# Each issue with what its work counts as (sub-tasks inherit from their parent); needs $pk, $change_labels.
_ISSUES = f"""
it AS (
    SELECT i.issue_key, i.done_at, i.time_spent_h,
           CASE WHEN i.type = 'subtask' AND p.issue_key IS NOT NULL THEN p.type ELSE i.type END AS eff_type,
           least(coalesce(i.first_done_at, i.done_at),
                 CASE WHEN i.type = 'subtask' THEN coalesce(p.first_done_at, p.done_at) END) AS first_done,
           {_from_bug('i.labels')} OR (i.type = 'subtask' AND coalesce({_from_bug('p.labels')}, false)) AS from_bug,
           {_change_label('i.labels')}
               OR (i.type = 'subtask' AND coalesce({_change_label('p.labels')}, false)) AS change_label
    FROM issues i LEFT JOIN issues p ON p.project_key = i.project_key AND p.issue_key = i.parent_key
    WHERE i.project_key = $pk)
"""

_SUMS = """
SELECT month, sum(hours) AS h_total,
       coalesce(sum(hours) FILTER (WHERE eff_type = 'bug'), 0) AS h_bug,
       coalesce(sum(hours) FILTER (WHERE eff_type IS DISTINCT FROM 'bug' AND from_bug), 0) AS h_from_bug,
       coalesce(sum(hours) FILTER (WHERE eff_type IS DISTINCT FROM 'bug' AND NOT from_bug AND after_done), 0)
           AS h_after_done,
       coalesce(sum(hours) FILTER (WHERE eff_type = 'change' OR change_label), 0) AS h_change
FROM w GROUP BY month
"""

_WORKLOG_HOURS = f"""
WITH {_ISSUES},
w AS (
    SELECT strftime(timezone($tz, w.started_at), '%Y-%m') AS month, w.hours, it.eff_type,
           coalesce(it.from_bug, false) AS from_bug, coalesce(it.change_label, false) AS change_label,
           coalesce(w.started_at >= it.first_done, false) AS after_done
    FROM worklogs w LEFT JOIN it ON it.issue_key = w.issue_key
    WHERE w.project_key = $pk AND w.started_at >= $start AND w.started_at < $end)
{_SUMS}
"""

_SPENT_HOURS = f"""
WITH {_ISSUES},
w AS (
    SELECT strftime(timezone($tz, it.done_at), '%Y-%m') AS month, it.time_spent_h AS hours, it.eff_type,
           coalesce(it.from_bug, false) AS from_bug, coalesce(it.change_label, false) AS change_label,
           false AS after_done
    FROM it
    WHERE it.done_at >= $start AND it.done_at < $end AND it.time_spent_h IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM issues c WHERE c.project_key = $pk AND c.parent_key = it.issue_key
                      AND c.type = 'subtask' AND c.time_spent_h > 0))
{_SUMS}
"""


def month_range(first: str, last: str) -> list[str]:
    """'YYYY-MM' months from `first` to `last`, both included (empty when first > last)."""
    year, mon = parse_month(first)
    out = []
    while f"{year:04d}-{mon:02d}" <= last:
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year, mon + 1) if mon < 12 else (year + 1, 1)
    return out


def _months(last: str, n: int = MONTHS_SHOWN) -> list[str]:
    """The `n` months ending with `last`."""
    year, mon = parse_month(last)
    total = year * 12 + mon - 1 - (n - 1)
    return month_range(f"{total // 12:04d}-{total % 12 + 1:02d}", last)


def monthly_hours(cur, project_key: str, month: str, tz: str) -> tuple[str, list[dict]]:
    """(basis, one dict per month of the 12 ending with `month`): h_total, h_bug, h_from_bug, h_after_done,
    h_change. basis 'worklogs', or 'time_spent' when the project has no work log (h_after_done then None)."""
    months = _months(month)
    start, end = month_bounds(months[0], tz)[0], month_bounds(months[-1], tz)[1]
    has_logs = cur.execute("SELECT count(*) > 0 FROM worklogs WHERE project_key = ?", [project_key]).fetchone()[0]
    basis = "worklogs" if has_logs else "time_spent"
    sql = _WORKLOG_HOURS if has_logs else _SPENT_HOURS
    found = {}
    for m, total, bug, from_bug, after, change in cur.execute(
            sql, {"pk": project_key, "tz": tz, "start": start, "end": end,
                  "change_labels": list(CHANGE_LABELS)}).fetchall():
        found[m] = {"h_total": float(total or 0), "h_bug": float(bug), "h_from_bug": float(from_bug),
                    "h_after_done": float(after) if has_logs else None, "h_change": float(change)}
    zero = {"h_total": 0.0, "h_bug": 0.0, "h_from_bug": 0.0, "h_after_done": 0.0 if has_logs else None,
            "h_change": 0.0}
    return basis, [{"month": m, **found.get(m, zero)} for m in months]


def _hours_result(cur, project_key: str, month: str | None, columns: list[str], row_of) -> MetricResult:
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=columns), [{"code": "no_data"}], {"month": None})
    basis, hours = monthly_hours(cur, project_key, month, tz)
    rows = [{"month": h["month"], "basis": basis, **row_of(h)} for h in hours]
    warnings = [] if basis == "worklogs" else [{"code": "hours_from_time_spent"}]
    if not rows[-1]["h_total"]:
        warnings.append({"code": "no_hours_in_period", "month": month})
    return MetricResult(rows[-1]["rate"], pd.DataFrame(rows, columns=columns), warnings,
                        {"month": month, "basis": basis})


def _rework_row(h: dict) -> dict:
    rework = h["h_bug"] + h["h_from_bug"] + (h["h_after_done"] or 0.0)
    return {"h_total": h["h_total"], "h_bug": h["h_bug"], "h_from_bug": h["h_from_bug"],
            "h_after_done": h["h_after_done"], "h_rework": rework, "rate": ratio(rework, h["h_total"])}


def _change_row(h: dict) -> dict:
    return {"h_total": h["h_total"], "h_change": h["h_change"], "rate": ratio(h["h_change"], h["h_total"])}


@register("rework_effort", name_en="Rework effort ratio", name_zh="返工工作量占比", unit="%",
          direction="lower_is_better", section="5b", params=("month",))
def rework_effort(cur, *, project_key: str, month: str | None = None) -> MetricResult:
    return _hours_result(cur, project_key, month, REWORK_COLUMNS, _rework_row)


@register("change_rework", name_en="Change-driven rework", name_zh="变更引起的返工", unit="%",
          direction="lower_is_better", section="5c", params=("month",))
def change_rework(cur, *, project_key: str, month: str | None = None) -> MetricResult:
    return _hours_result(cur, project_key, month, CHANGE_COLUMNS, _change_row)
