"""Reopen rate — 缺陷重开率 (METRICS.md §5a).

    ReopenRate = |{i ∈ R_P : reopen_count(i) ≥ 1}| / |R_P|
    events per issue = Σ reopen_count(i) / |R_P|

Inputs
    issues: type, resolution_class, done_at (final, G4), reopen_count (NULL = unknown: the export had no
            history), issue_key; projects.timezone for the month bounds (G1).

Rules
    * R_P: issues whose final done_at falls in month P (local). scope 'bugs' (default): valid bugs, i.e.
      type 'bug' with resolution_class distinct from 'invalid'; scope 'all': every standard type (G6).
    * A NULL reopen_count is unknown, never 0: such issues leave both numerator and denominator
      (warning {"code": "reopen_partly_unknown", "unknown": n, "resolved": |R_P|}); when all of R_P is
      unknown -> None with {"code": "reopen_not_derivable"}. R_P empty -> None with
      {"code": "no_resolved_in_period", "month": P}.
    * extra["currently_reopened"]: in-scope issues with reopen_count ≥ 1 that are not done now.

Settings read: ``reopen_scope`` (bugs | all), used when no scope is passed.
Warning codes: no_data; no_resolved_in_period{month}; reopen_not_derivable; reopen_partly_unknown{unknown,
resolved}; setting_invalid{name, value}.
"""
from __future__ import annotations

import pandas as pd

from metrics import MetricResult, register
from metrics.common import (STANDARD_TYPES, mode_or_setting, month_bounds, project_settings, ratio,
                            resolve_month)

SCOPES = ("bugs", "all")
COLUMNS = ["month", "resolved", "reopened", "reopen_events", "events_per_issue", "rate", "unknown"]

# Scope as SQL over parameters: bugs = valid bugs; all = standard issue types.
_IN_SCOPE = """
    project_key = $pk AND (
        ($scope = 'bugs' AND type = 'bug' AND resolution_class IS DISTINCT FROM 'invalid')
        OR ($scope = 'all' AND list_contains($std, type)))
"""


@register("reopen_rate", name_en="Reopen rate", name_zh="缺陷重开率", unit="%",
          direction="lower_is_better", section="5a", params=("month", "scope"))
def reopen_rate(cur, *, project_key: str, month: str | None = None, scope: str | None = None) -> MetricResult:
    if scope is not None and scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, got {scope!r}")
    scope, warnings = mode_or_setting(cur, project_key, scope, "reopen_scope", SCOPES)
    tz = project_settings(cur, project_key)["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    params = {"pk": project_key, "scope": scope, "std": list(STANDARD_TYPES)}
    reopened_now = [r[0] for r in cur.execute(
        f"SELECT issue_key FROM issues WHERE {_IN_SCOPE} AND reopen_count >= 1 AND done_at IS NULL"
        " ORDER BY issue_key", params).fetchall()]
    extra = {"month": month, "scope": scope, "currently_reopened": reopened_now}
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=COLUMNS), [*warnings, {"code": "no_data"}], extra)

    start, end = month_bounds(month, tz)
    resolved, reopened, events, unknown = cur.execute(
        f"""
        SELECT count(*), count(*) FILTER (WHERE reopen_count >= 1), sum(reopen_count),
               count(*) FILTER (WHERE reopen_count IS NULL)
        FROM issues WHERE {_IN_SCOPE} AND done_at >= $start AND done_at < $end
        """,
        {**params, "start": start, "end": end},
    ).fetchone()
    known = resolved - unknown
    rate, per_issue = ratio(reopened, known), ratio(events, known)
    series = pd.DataFrame([{
        "month": month, "resolved": resolved, "reopened": None if resolved and not known else reopened,
        "reopen_events": int(events) if events is not None else None,
        "events_per_issue": per_issue, "rate": rate, "unknown": unknown,
    }], columns=COLUMNS)

    if resolved == 0:
        warnings.append({"code": "no_resolved_in_period", "month": month})
    elif known == 0:
        warnings.append({"code": "reopen_not_derivable"})
    elif unknown:
        warnings.append({"code": "reopen_partly_unknown", "unknown": unknown, "resolved": resolved})
    return MetricResult(rate, series, warnings, extra)
