"""Sprint burndown / burnup — 迭代燃尽图 / 燃起图 (METRICS.md §1.1, Jira semantics).

    C0      = Σ est(i, start) over i ∈ M(start) not DONE at start
    R(t)    = Σ est(i, t)     over i ∈ M(t) not DONE at t
    Done(t) = Σ est(i, t)     over i ∈ M(t) DONE at t whose last move into DONE was a BURNDOWN event
              (hours: plus the remaining estimate burned on open issues, so Done is the work done)
    Scope(t) = R(t) + Done(t)                                                       (burnup)
    G(d)    = C0 · (1 − w(d)/W),  W = working days in [start, planned end], w(d) = working days by d
    x-axis: start .. completed_at (even past the planned end); a sprint not completed runs to its planned
            end (an active one to now if later), and days after now are blank
    identity: R(t) = C0 + ΣSCOPE+ − ΣSCOPE− − ΣBURNDOWN + ΣREOPEN

Inputs
    sprints: start_at, end_at (planned), completed_at, state, source (dates inferred when missing, below).
    issues:  type, parent_key, created_at, done_at, status_category, resolution_class, story_points,
             original/remaining_estimate_h, sprints[].
    changes: 'sprint' (JSON membership before/after), 'status_category', 'story_points',
             'remaining_estimate_h', 'original_estimate_h', 'resolution_class'; worklogs (hours fallback).
    projects: timezone (days end at 23:59:59.999 local, G1), calendar (metrics.calendar, G2).

State of an issue at instant t: for each field, the value set by the last change at or before t, else the
value before the first change after t, else the issue's current value. An issue is not in any sprint
before it was created. An issue without status history is DONE from its done_at. Each change between two
instants is split, in this order, into (1) membership at the old estimate, (2) estimate, (3) status at
the new estimate, so the typed deltas add up exactly to the change in R:
    membership in/out (issue not DONE)      -> scope_plus / scope_minus
    estimate up/down (in sprint, not DONE)  -> scope_plus / scope_minus (hours: a decrease is burndown,
                                               work logged — Jira's time-tracking semantics)
    into DONE (in sprint)                   -> burndown; strict mode: scope_minus when INVALID
    out of DONE (in sprint)                 -> reopen;   strict mode: scope_plus when it left as INVALID
Statistic: points (G6: standard issues; sub-tasks and epics never), count (est = 1), hours (leaf level:
sub-tasks, plus standard issues with no estimated sub-task; remaining estimate, else max(0, original −
Σ worklog ≤ t)). Missing estimates count 0 and lower extra["coverage"] (G7).

Burnup split (`lines`): each step also moves Done; Scope = R + Done changes only by membership, estimate
and (a reopen of an issue done outside the sprint, strict INVALID) status steps. extra["summary"] adds them
up as the velocity buckets (METRICS.md 2), so committed + added − removed + estimate_change = completed +
not_completed holds by construction. The same replay tracks a release instead of a sprint with
state_params(field='fix_versions'): 'fix_versions' changes hold JSON lists like 'sprint' ones.

No sprint-membership history in the project (no 'sprint' change at all): membership = sprints[] from
creation on, so an issue counts as added only when created after start; warning burndown_no_history.

Sprint dates missing (CSV import): sprints ordered by the earliest created_at of their members, then
natural name order; end = latest done_at among issues whose LAST listed sprint it is (start + 14 days when
none, or when that is not after start); start = previous sprint's end (first sprint: the end of the local day its
first member was created, so what was planned that day is committed rather than all "added"; our rule). Warning sprint_dates_inferred.

Settings read: ``burndown_mode`` (jira | strict), used when no mode is passed.

Warning codes: no_sprints; sprint_not_found{sprint}; sprint_dates_unknown{sprint};
sprint_dates_inferred{sprint}; burndown_no_history; unestimated_issues{count, in_scope};
no_working_days{sprint}; setting_invalid{name, value}.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd

from metrics import MetricResult, register
from metrics.calendar import working_days
from metrics.common import local_date, local_midnight, mode_or_setting, project_settings

STATISTICS = {"points": "points", "count": "issues", "hours": "hours"}
MODES = ("jira", "strict")
EVENT_TYPES = ("burndown", "reopen", "scope_plus", "scope_minus")
SIGN = {"burndown": -1, "reopen": 1, "scope_plus": 1, "scope_minus": -1}
SERIES_COLUMNS = ["day", "remaining", "guideline", "done", "scope", *EVENT_TYPES, "is_workday"]
EVENT_COLUMNS = ["issue_key", "event_at", "day", "type", "delta", "cause"]
DEFAULT_SPRINT_DAYS = 14

# --- Sprint windows ---------------------------------------------------------------------------------

_SPRINTS_SQL = r"""
WITH names AS (
    SELECT name FROM sprints WHERE project_key = $pk
    UNION
    SELECT unnest(sprints) FROM issues WHERE project_key = $pk
),
members AS (
    SELECT name, min(created_at) AS first_created, count(DISTINCT issue_key) AS members
    FROM (SELECT issue_key, created_at, unnest(list_distinct(sprints)) AS name
          FROM issues WHERE project_key = $pk)
    GROUP BY name
),
last_listed AS (   -- an issue's last listed sprint is where it finished (or still sits)
    SELECT sprints[-1] AS name, max(done_at) AS last_done
    FROM issues WHERE project_key = $pk AND len(sprints) > 0
    GROUP BY 1
)
SELECT n.name, s.state, s.start_at, s.end_at, s.completed_at, s.source,
       coalesce(m.members, 0) AS members, m.first_created, l.last_done
FROM names n
LEFT JOIN sprints s ON s.project_key = $pk AND s.name = n.name
LEFT JOIN members m ON m.name = n.name
LEFT JOIN last_listed l ON l.name = n.name
WHERE n.name IS NOT NULL AND trim(n.name) <> ''
ORDER BY m.first_created NULLS LAST,
         regexp_replace(n.name, '\d+', '', 'g'),
         TRY_CAST(regexp_extract(n.name, '(\d+)', 1) AS BIGINT) NULLS FIRST,
         n.name
"""


def sprint_windows(cur, project_key: str, tz: str | None = None) -> list[dict]:
    """Every sprint of the project in order, with start_at/end_at/completed_at filled in.

    Each dict: name, state, start_at, end_at, completed_at, members, inferred (bool; True also when the
    importer marked the dates source 'inferred'). start_at is None only when nothing allows a guess.
    """
    tz = tz or project_settings(cur, project_key)["timezone"]
    rows = cur.execute(_SPRINTS_SQL, {"pk": project_key}).fetchall()
    out, prev_end = [], None
    for name, state, start, end, completed, source, members, first_created, last_done in rows:
        inferred = source == "inferred"
        if start is None:
            inferred = True
            if prev_end is not None:
                start = prev_end
            elif first_created is not None:
                # The end of the day its first issue was created (the planning day): what was planned
                # that day is the commitment, not scope added after the start.
                start = local_midnight(local_date(first_created, tz) + timedelta(days=1), tz)
        if end is None:
            if completed is not None:
                end = completed
            elif start is not None:
                inferred = True
                if last_done is not None and last_done > start:
                    end = last_done
                    if state not in ("active", "future"):
                        completed = end   # its last issue finished then: the sprint is over
                else:
                    # Nothing ended it: a planned end only, so an ongoing sprint stops at today.
                    end = start + timedelta(days=DEFAULT_SPRINT_DAYS)
        out.append({"name": name, "state": state, "start_at": start, "end_at": end,
                    "completed_at": completed, "members": int(members), "inferred": inferred})
        prev_end = completed or end or prev_end
    return out


def _pick(windows: list[dict]) -> dict:
    """The active sprint, else the latest one that has issues, else the latest one."""
    def latest(ws):
        return max(enumerate(ws), key=lambda p: (p[1]["start_at"] is not None,
                                                 p[1]["start_at"] or datetime.min, p[0]))[1]
    for pool in ([w for w in windows if w["state"] == "active"], [w for w in windows if w["members"]]):
        if pool:
            return latest(pool)
    return latest(windows)


# --- Issue states and events --------------------------------------------------------------------------

# One CTE chain; the queries below (and metrics.delivery's, through replay()) differ only in their final SELECT.
_STATE_SQL = r"""
WITH
base AS (   -- `sprints`: the tracked membership list ($field 'fix_versions' tracks version $sprint instead)
    SELECT issue_key, coalesce(type, 'other') AS type, parent_key, created_at, done_at, status_category,
           resolution_class, story_points, original_estimate_h, remaining_estimate_h,
           CASE WHEN $field = 'sprint' THEN sprints ELSE fix_versions END AS sprints
    FROM issues WHERE project_key = $pk
),
sprint_chg AS (
    SELECT issue_key, changed_at,
           coalesce(list_contains(CASE WHEN json_valid(from_value)
                                       THEN from_json(from_value, '["VARCHAR"]') END, $sprint), false) AS f_in,
           coalesce(list_contains(CASE WHEN json_valid(to_value)
                                       THEN from_json(to_value, '["VARCHAR"]') END, $sprint), false) AS t_in
    FROM changes WHERE project_key = $pk AND field = $field
),
keyed AS (   -- a sub-task with no sprint data of its own moves with its parent, as in Jira
    SELECT b.*, CASE WHEN b.type = 'subtask' AND b.parent_key IS NOT NULL AND coalesce(len(b.sprints), 0) = 0
                          AND b.issue_key NOT IN (SELECT issue_key FROM sprint_chg)
                     THEN b.parent_key ELSE b.issue_key END AS mkey
    FROM base b
),
hour_parents AS (   -- G6 hours: a parent whose sub-tasks carry estimates is not a leaf
    SELECT DISTINCT parent_key FROM base
    WHERE type = 'subtask' AND parent_key IS NOT NULL
      AND (original_estimate_h IS NOT NULL OR remaining_estimate_h IS NOT NULL)
),
cand AS (
    SELECT k.*, coalesce(list_contains(m.sprints, $sprint), false) AS cur_in
    FROM keyed k LEFT JOIN base m ON m.issue_key = k.mkey
    WHERE k.type <> 'epic'
      AND CASE WHEN $stat = 'hours'
               THEN k.type = 'subtask' OR k.issue_key NOT IN (SELECT parent_key FROM hour_parents)
               ELSE k.type <> 'subtask' END
      AND (coalesce(list_contains(m.sprints, $sprint), false)
           OR k.mkey IN (SELECT issue_key FROM sprint_chg WHERE f_in OR t_in))
),
status_keys AS (SELECT DISTINCT issue_key FROM changes WHERE project_key = $pk AND field = 'status_category'),
rem_keys AS (SELECT DISTINCT issue_key FROM changes WHERE project_key = $pk AND field = 'remaining_estimate_h'),
chg AS (SELECT x.* FROM changes x JOIN cand c USING (issue_key) WHERE x.project_key = $pk),
logged AS (
    SELECT w.issue_key, w.started_at, sum(coalesce(w.hours, 0)) AS hours
    FROM worklogs w JOIN cand c USING (issue_key)
    WHERE w.project_key = $pk AND $stat = 'hours' AND w.started_at IS NOT NULL
    GROUP BY ALL
),
hist AS (   -- every field as (from, to) numbers: 1/0 for flags
    SELECT c.issue_key, 'in' AS field, s.changed_at, s.f_in::DOUBLE AS v_from, s.t_in::DOUBLE AS v_to
    FROM cand c JOIN sprint_chg s ON s.issue_key = c.mkey
    UNION ALL
    SELECT issue_key, 'done', changed_at, (from_value = 'done')::DOUBLE, (to_value = 'done')::DOUBLE
    FROM chg WHERE field = 'status_category'
    UNION ALL   -- no status history: DONE from done_at
    SELECT issue_key, 'done', done_at, 0, 1 FROM cand
    WHERE done_at IS NOT NULL AND issue_key NOT IN (SELECT issue_key FROM status_keys)
    UNION ALL
    SELECT issue_key, 'inv', changed_at, (from_value = 'invalid')::DOUBLE, (to_value = 'invalid')::DOUBLE
    FROM chg WHERE field = 'resolution_class'
    UNION ALL
    SELECT issue_key, 'est', changed_at, TRY_CAST(from_value AS DOUBLE), TRY_CAST(to_value AS DOUBLE)
    FROM chg WHERE (field = 'story_points' AND $stat = 'points')
                OR (field = 'remaining_estimate_h' AND $stat = 'hours')
    UNION ALL
    SELECT issue_key, 'orig', changed_at, TRY_CAST(from_value AS DOUBLE), TRY_CAST(to_value AS DOUBLE)
    FROM chg WHERE field = 'original_estimate_h' AND $stat = 'hours'
    UNION ALL
    SELECT issue_key, 'logged', started_at,
           sum(hours) OVER w - hours, sum(hours) OVER w
    FROM logged WINDOW w AS (PARTITION BY issue_key ORDER BY started_at ROWS UNBOUNDED PRECEDING)
),
curv AS (   -- today's values: what a field has been since its last change (or always, without history)
    SELECT issue_key, 'in' AS field, cur_in::DOUBLE AS v FROM cand
    UNION ALL SELECT issue_key, 'done', (status_category = 'done')::DOUBLE FROM cand
    UNION ALL SELECT issue_key, 'inv', (resolution_class = 'invalid')::DOUBLE FROM cand
    UNION ALL SELECT issue_key, 'est', CASE $stat WHEN 'points' THEN story_points
                                                  WHEN 'hours' THEN remaining_estimate_h END FROM cand
    UNION ALL SELECT issue_key, 'orig', original_estimate_h FROM cand
    UNION ALL SELECT issue_key, 'logged', 0 FROM cand
),
instants AS (
    SELECT issue_key, CAST($start AS TIMESTAMPTZ) AS t FROM cand
    UNION SELECT issue_key, changed_at FROM hist
          WHERE changed_at > CAST($start AS TIMESTAMPTZ) AND changed_at <= CAST($end AS TIMESTAMPTZ)
    UNION SELECT issue_key, created_at FROM cand
          WHERE created_at > CAST($start AS TIMESTAMPTZ) AND created_at <= CAST($end AS TIMESTAMPTZ)
),
grid AS (
    SELECT i.issue_key, i.t, f.field
    FROM instants i CROSS JOIN (SELECT unnest(['in', 'done', 'inv', 'est', 'orig', 'logged']) AS field) f
),
as_of AS (
    SELECT g.issue_key, g.t, g.field,
           CASE WHEN p.changed_at IS NOT NULL THEN p.v_to
                WHEN n.changed_at IS NOT NULL THEN n.v_from
                ELSE cv.v END AS v
    FROM grid g
    ASOF LEFT JOIN hist p ON p.issue_key = g.issue_key AND p.field = g.field AND p.changed_at <= g.t
    ASOF LEFT JOIN hist n ON n.issue_key = g.issue_key AND n.field = g.field AND n.changed_at > g.t
    LEFT JOIN curv cv ON cv.issue_key = g.issue_key AND cv.field = g.field
),
wide AS (
    SELECT issue_key, t,
           max(v) FILTER (WHERE field = 'in') AS in_v, max(v) FILTER (WHERE field = 'done') AS done_v,
           max(v) FILTER (WHERE field = 'inv') AS inv_v, max(v) FILTER (WHERE field = 'est') AS est_v,
           max(v) FILTER (WHERE field = 'orig') AS orig_v, max(v) FILTER (WHERE field = 'logged') AS logged_v
    FROM as_of GROUP BY issue_key, t
),
st AS (
    SELECT w.issue_key, w.t,
           (coalesce(w.in_v, 0) = 1 AND (c.created_at IS NULL OR w.t >= c.created_at))::INT AS inn,
           (coalesce(w.done_v, 0) = 1)::INT AS done,
           coalesce(w.inv_v, 0) = 1 AS inv,
           CASE WHEN $stat = 'count' THEN 1.0::DOUBLE
                WHEN $stat = 'hours' AND w.orig_v IS NOT NULL
                     AND w.issue_key NOT IN (SELECT issue_key FROM rem_keys)
                THEN greatest(0, w.orig_v - coalesce(w.logged_v, 0))
                ELSE coalesce(w.est_v, 0) END AS est,
           CASE WHEN $stat = 'count' THEN true
                WHEN $stat = 'hours' THEN w.est_v IS NOT NULL OR w.orig_v IS NOT NULL
                ELSE w.est_v IS NOT NULL END AS known
    FROM wide w JOIN cand c USING (issue_key)
),
seq AS (
    SELECT st.*, lag(inn) OVER w AS inn0, lag(done) OVER w AS done0, lag(est) OVER w AS est0,
           lag(inv) OVER w AS inv0, row_number() OVER w AS rn
    FROM st WINDOW w AS (PARTITION BY issue_key ORDER BY t)
),
flagged AS (   -- counted: the last in-sprint move into DONE was a burndown (feeds Done(t), the burnup)
    SELECT seq.*,
           coalesce(last_value(CASE WHEN rn > 1 AND inn = 1 AND done <> done0
                                    THEN (done = 1 AND NOT ($strict AND inv))::INT END IGNORE NULLS)
                    OVER (PARTITION BY issue_key ORDER BY t ROWS UNBOUNDED PRECEDING), 0) AS counted
    FROM seq
),
fl AS (SELECT flagged.*, coalesce(lag(counted) OVER (PARTITION BY issue_key ORDER BY t), 0) AS counted0
       FROM flagged),
lines AS (   -- the burnup split of each step (same order as events): d_r moves R, d_done moves Done(t)
    SELECT *, d_r + d_done AS d_scope FROM (
        SELECT issue_key, t, 1 AS step, (inn - inn0) * (1 - done0) * est0 AS d_r,
               (inn - inn0) * done0 * counted0 * est0 AS d_done
        FROM fl WHERE rn > 1 AND inn <> inn0
        UNION ALL   -- hours: remaining lowered on an open issue is work done (moves to Done, scope unchanged)
        SELECT issue_key, t, 2, inn * (1 - done0) * (est - est0),
               inn * done0 * counted0 * (est - est0)
               + CASE WHEN $stat = 'hours' THEN inn * (1 - done0) * greatest(0, est0 - est) ELSE 0 END
        FROM fl WHERE rn > 1 AND est <> est0
        UNION ALL
        SELECT issue_key, t, 3, inn * est * (done0 - done), inn * est * (done * counted - done0 * counted0)
        FROM fl WHERE rn > 1 AND (done <> done0 OR counted <> counted0)
    ) WHERE d_r <> 0 OR d_done <> 0
),
scoped AS (   -- in scope: in the sprint while not DONE at some instant of the window
    SELECT issue_key FROM st GROUP BY issue_key HAVING bool_or(inn = 1 AND done = 0)
),
last_state AS (SELECT issue_key, arg_max(known, t) AS known FROM st GROUP BY issue_key),
events AS (
    SELECT issue_key, t, 1 AS step, 'membership' AS cause,
           CASE WHEN inn > inn0 THEN 'scope_plus' ELSE 'scope_minus' END AS type, est0 AS delta
    FROM seq WHERE rn > 1 AND inn <> inn0 AND done0 = 0
    UNION ALL
    SELECT issue_key, t, 2, 'estimate',
           CASE WHEN est > est0 THEN 'scope_plus' WHEN $stat = 'hours' THEN 'burndown' ELSE 'scope_minus' END,
           abs(est - est0)
    FROM seq WHERE rn > 1 AND inn = 1 AND done0 = 0 AND est <> est0
    UNION ALL
    SELECT issue_key, t, 3, 'status',
           CASE WHEN done = 1 THEN CASE WHEN $strict AND inv THEN 'scope_minus' ELSE 'burndown' END
                ELSE CASE WHEN $strict AND inv0 THEN 'scope_plus' ELSE 'reopen' END END,
           est
    FROM seq WHERE rn > 1 AND inn = 1 AND done <> done0
),
days AS (
    SELECT CAST(d AS DATE) AS day, timezone($tz, d + INTERVAL 1 DAY - INTERVAL 1 MILLISECOND) AS eod
    FROM range(date_trunc('day', timezone($tz, CAST($start AS TIMESTAMPTZ))),
               date_trunc('day', timezone($tz, CAST($axis_end AS TIMESTAMPTZ))) + INTERVAL 1 DAY,
               INTERVAL 1 DAY) r(d)
)
"""

_EVENTS_SELECT = """
SELECT issue_key, t AS event_at, CAST(timezone($tz, t) AS DATE) AS day, type, delta, cause
FROM events ORDER BY t, step, issue_key
"""

_DAILY_SELECT = """
, done_line AS (SELECT d.day, coalesce(sum(l.d_done), 0) AS done FROM days d LEFT JOIN lines l ON l.t <= d.eod
                GROUP BY d.day)
SELECT x.day, coalesce(sum(f.inn * (1 - f.done) * f.est), 0) AS remaining, any_value(dl.done) AS done
FROM (SELECT d.day, d.eod, c.issue_key FROM days d LEFT JOIN (SELECT DISTINCT issue_key FROM st) c ON true) x
ASOF LEFT JOIN flagged f ON f.issue_key = x.issue_key AND f.t <= x.eod
JOIN done_line dl ON dl.day = x.day
GROUP BY x.day ORDER BY x.day
"""

# The velocity buckets (METRICS.md 2) come from `lines`, so that by construction
#   committed + added − removed + estimate_change = completed + not_completed   (Scope(start) = C0)
# added/removed: membership moves, a reopen of an issue done outside the sprint (added), and strict mode's
# INVALID resolutions; estimate_change: re-estimates, including those of issues already DONE.
_SUMMARY_SELECT = """
SELECT (SELECT coalesce(sum(inn * (1 - done) * est), 0) FROM seq WHERE rn = 1) AS committed,
       (SELECT count(*) FROM scoped) AS in_scope,
       (SELECT count(*) FROM scoped JOIN last_state USING (issue_key) WHERE known) AS estimated,
       (SELECT coalesce(sum(greatest(d_scope, 0)), 0) FROM lines WHERE step <> 2) AS added,
       (SELECT coalesce(sum(greatest(-d_scope, 0)), 0) FROM lines WHERE step <> 2) AS removed,
       (SELECT coalesce(sum(d_scope), 0) FROM lines WHERE step = 2) AS estimate_change,
       (SELECT coalesce(sum(delta), 0) FROM events WHERE type = 'burndown') AS burndown,
       (SELECT coalesce(sum(delta), 0) FROM events WHERE type = 'reopen') AS reopen,
       (SELECT coalesce(sum(d_done), 0) FROM lines) AS completed,
       (SELECT coalesce(sum(d_r), 0) FROM lines) AS remaining_change
"""
SUMMARY_KEYS = ("committed", "in_scope", "estimated", "added", "removed", "estimate_change", "burndown",
                "reopen", "completed", "remaining_change")


def _daily_frame(rows, events: pd.DataFrame, cal: pd.DataFrame, c0: float, planned_end_day) -> pd.DataFrame:
    series = pd.DataFrame(rows, columns=["day", "remaining", "done"])
    series["scope"] = series["remaining"] + series["done"]
    counts = events.groupby(["day", "type"]).size().unstack(fill_value=0) if len(events) else pd.DataFrame()
    for kind in EVENT_TYPES:
        per_day = counts[kind].to_dict() if kind in counts else {}
        series[kind] = [int(per_day.get(d, 0)) for d in series["day"]]
    workday = dict(zip(cal["day"], cal["is_workday"]))
    series["is_workday"] = [bool(workday.get(d, False)) for d in series["day"]]
    total = sum(1 for d, w in workday.items() if w and d <= planned_end_day)
    elapsed, guideline = 0, []
    for d in series["day"]:
        elapsed += bool(workday.get(d, False))
        # Anchored to C0 and flat on rest days; reaches 0 at the planned end and stays there after it.
        guideline.append(None if total == 0 else c0 * (1 - min(elapsed, total) / total))
    series["guideline"] = pd.Series(guideline, dtype="float64")
    return series[SERIES_COLUMNS]


def _axis(window: dict, now: datetime) -> tuple[datetime, datetime]:
    """(axis end, data end). A completed sprint runs to completed_at, even past its planned end; an open
    one to its planned end, or to now when an active sprint overruns; its data stops at now."""
    start = window["start_at"]
    if window["completed_at"] is not None:
        end = max(window["completed_at"], start)
        return end, end
    axis_end = max(window["end_at"], start)
    if window["state"] == "active":
        axis_end = max(axis_end, now)
    return axis_end, min(axis_end, max(now, start))


def data_end(window: dict, now: datetime) -> datetime:
    """Where a sprint's data stops: its completion, else its planned end or now, whichever is sooner."""
    return _axis(window, now)[1]


def replay(cur, params: dict, select: str) -> list[tuple]:
    """The rows of `select` run over the replay's CTE chain (a select may open with more CTEs: ', x AS')."""
    return cur.execute(_STATE_SQL + select, params).fetchall()


def _empty(warnings: list[dict], extra: dict | None = None) -> MetricResult:
    extra = {"events": pd.DataFrame(columns=EVENT_COLUMNS), **(extra or {})}
    return MetricResult(None, pd.DataFrame(columns=SERIES_COLUMNS), warnings, extra)


def check_options(statistic: str, mode: str | None) -> None:
    if statistic not in STATISTICS:
        raise ValueError(f"statistic must be one of {sorted(STATISTICS)}, got {statistic!r}")
    if mode is not None and mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def resolve_sprint(cur, project_key: str, sprint: str | None, tz: str) -> tuple[dict | None, list[dict]]:
    """(window, []) for the sprint asked for (default: the active one, else the latest with issues), or
    (None, [the warning saying why there is none])."""
    windows = sprint_windows(cur, project_key, tz)
    if not windows:
        return None, [{"code": "no_sprints"}]
    if sprint is None:
        window = _pick(windows)
    else:
        window = next((w for w in windows if w["name"] == sprint), None)
        if window is None:
            return None, [{"code": "sprint_not_found", "sprint": sprint}]
    if window["start_at"] is None or window["end_at"] is None:
        return None, [{"code": "sprint_dates_unknown", "sprint": window["name"]}]
    return window, []


def has_history(cur, project_key: str, field: str = "sprint") -> bool:
    """Whether the project has any membership history for `field` ('sprint' or 'fix_versions')."""
    return cur.execute("SELECT count(*) FROM changes WHERE project_key = ? AND field = ?",
                       [project_key, field]).fetchone()[0] > 0


def state_params(project_key: str, member: str, *, statistic: str, mode: str, start: datetime,
                 end: datetime, tz: str, axis_end: datetime | None = None, field: str = "sprint") -> dict:
    """The parameters of _STATE_SQL: membership of `member` in the `field` lists, replayed over [start, end]."""
    return {"pk": project_key, "sprint": member, "field": field, "stat": statistic, "strict": mode == "strict",
            "start": start, "end": end, "axis_end": axis_end or end, "tz": tz}


def summarize(cur, params: dict) -> dict:
    """Committed, in-scope/estimated counts and the velocity buckets of one replay (_SUMMARY_SELECT);
    not_completed = committed + the net change of R, i.e. R at the end of the window."""
    row = dict(zip(SUMMARY_KEYS, cur.execute(_STATE_SQL + _SUMMARY_SELECT, params).fetchone()))
    out = {k: int(v) if k in ("in_scope", "estimated") else float(v) for k, v in row.items()}
    out["not_completed"] = out["committed"] + out.pop("remaining_change")
    return out


def sprint_report(cur, project_key: str, *, sprint: str | None = None, statistic: str = "points",
                  mode: str | None = None, now: datetime | None = None) -> MetricResult:
    """One sprint's replay: the daily series (remaining, guideline, done, scope, event counts), the typed
    events and the summary. `burndown` returns it as is; metrics.delivery's `burnup` reads the same."""
    check_options(statistic, mode)
    mode, setting_warnings = mode_or_setting(cur, project_key, mode, "burndown_mode", MODES)
    proj = project_settings(cur, project_key)
    tz = proj["timezone"]
    window, missing = resolve_sprint(cur, project_key, sprint, tz)
    if window is None:
        return _empty(missing)
    name = window["name"]

    warnings = setting_warnings
    if window["inferred"]:
        warnings.append({"code": "sprint_dates_inferred", "sprint": name})
    if not has_history(cur, project_key):
        warnings.append({"code": "burndown_no_history"})

    start = window["start_at"]
    axis_end, data_end = _axis(window, now or datetime.now(timezone.utc))
    params = state_params(project_key, name, statistic=statistic, mode=mode, start=start, end=data_end,
                          axis_end=axis_end, tz=tz)
    events = pd.DataFrame(cur.execute(_STATE_SQL + _EVENTS_SELECT, params).fetchall(), columns=EVENT_COLUMNS)
    events["delta"] = events["delta"].astype("float64")
    daily = cur.execute(_STATE_SQL + _DAILY_SELECT, params).fetchall()
    totals = summarize(cur, params)
    c0, in_scope, estimated = totals["committed"], totals["in_scope"], totals["estimated"]

    start_day, end_day = local_date(start, tz), local_date(axis_end, tz)
    planned_end_day = local_date(window["end_at"], tz)
    cal = working_days(cur, start_day, max(end_day, planned_end_day), proj["calendar"])
    series = _daily_frame(daily, events, cal, c0, planned_end_day)
    if data_end < axis_end:
        # Days still to come have no state yet: blank, not a flat copy of today.
        future = series["day"] > local_date(data_end, tz)
        series.loc[future, ["remaining", "done", "scope"]] = float("nan")
    known = series["remaining"].dropna()
    if series["guideline"].isna().all():
        warnings.append({"code": "no_working_days", "sprint": name})
    if estimated < in_scope:
        warnings.append({"code": "unestimated_issues", "count": in_scope - estimated, "in_scope": in_scope})

    summary = {k: totals[k] for k in ("committed", "added", "removed", "estimate_change", "burndown", "reopen",
                                      "completed", "not_completed")}
    if not len(known):
        summary["completed"] = summary["not_completed"] = None
    extra = {
        "events": events,
        "sprint": {**window, "axis_end": axis_end, "data_end": data_end, "timezone": tz},
        "committed": c0,
        "coverage": estimated / in_scope if in_scope else None,
        "in_scope": in_scope,
        "estimated": estimated,
        "statistic": statistic,
        "unit": STATISTICS[statistic],
        "mode": mode,
        "summary": summary,
    }
    return MetricResult(float(known.iloc[-1]) if len(known) else None, series, warnings, extra)


@register("burndown", name_en="Sprint burndown", name_zh="迭代燃尽图", unit="points",
          direction="lower_is_better", section="1.1", params=("sprint", "statistic", "mode"))
def burndown(cur, *, project_key: str, sprint: str | None = None, statistic: str = "points",
             mode: str | None = None, now: datetime | None = None) -> MetricResult:
    """`mode` defaults to the ``burndown_mode`` setting, else "jira". `now` (default: the clock) only
    matters for a sprint not yet completed; tests pin it."""
    return sprint_report(cur, project_key, sprint=sprint, statistic=statistic, mode=mode, now=now)
