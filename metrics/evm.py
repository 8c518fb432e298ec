"""Earned value management — 挣值管理 (METRICS.md §7, PMBOK 6 Table 7-1, AgileEVM, ZenTao).

    SV = EV − PV          CV = EV − AC          SPI = EV / PV          CPI = EV / AC
    SV% = SV / PV         CV% = CV / EV (PMI)   extra: ZenTao's 成本偏差率 (EV − AC) / AC
    EAC typical  = BAC / CPI                    EAC atypical = AC + (BAC − EV)
    EAC combined = AC + (BAC − EV) / (CPI × SPI)                EAC bottom-up = AC + ETC bottom-up
    ETC = EAC − AC        VAC = BAC − EAC       (each per EAC variant; the headline EAC/ETC/VAC is typical)
    TCPI_BAC = (BAC − EV) / (BAC − AC)  ("unachievable" when BAC ≤ AC: None + flag + warning)
    TCPI_EAC = (BAC − EV) / (EAC typical − AC)
    Zero denominators and missing inputs -> None (G8), never 0 or infinity.

value: SPI at the status date; series: one row per month (month, pv, ev, ac, spi, cpi) from the first month of
the baseline or of the first worklog to the status month (the S-curves and the SPI/CPI trend); extra["table"]:
every figure above for the status month.

Inputs and rules
    * Status date: the end of the month param (23:59:59.999 local on its last day, G1); every "at t" below
      means changes, worklogs and due dates at or before t.
    * Baseline date B: the setting ``evm_baseline_date`` (YYYY-MM-DD, the end of that local day); default:
      when the project's first import was current (imports.exported_at where known, else imported_at;
      warning evm_baseline_default{date}); no import either: now, so every issue is baseline.
    * BAC items: issues created by B, except epics and issues resolved INVALID (cancelled, duplicate: taken
      out of scope, today's classification; warning evm_cancelled_excluded{count}); hours at leaf level (G6):
      sub-tasks, plus issues with no sub-task estimated at baseline, and requirements only when no task
      carries an estimate (ZenTao breaks a requirement's hours down into tasks and earns value on tasks;
      counting both would double the BAC). Baseline estimate = original_estimate_h as of B: the last
      'original_estimate_h' change at or before B, else the latest issue snapshot of an import current at or
      before B, else the value before the first later change, else today's value. A missing estimate counts
      0 and is reported (unestimated_issues{count, in_scope}, extra["coverage"]). Issues created after B are
      unplanned: no EV, but their hours are in AC (scope creep lowers CPI).
    * Money: with projects.hourly_rate, 1 baseline hour is worth BAC / Σ baseline hours, where BAC is
      projects.bac when set (warning evm_bac_differs{bac, derived} when it is more than 0.5% away from
      Σ baseline hours × rate) else Σ baseline hours × rate; AC and bottom-up ETC are hours × rate. Without a
      rate everything is in hours (unit 'h', ZenTao's way; warning evm_no_rate) and projects.bac is not used.
    * PV (time-phased): an item's value is planned in full at its due_at (0/100 planning, the way ZenTao's
      pv_of_task counts a task by its deadline). An item without due_at is spread evenly (linearly in time)
      between B and the project end = the latest due_at of the baseline items, else the latest sprint end
      (warning evm_due_missing{count, end}); with no end at all PV is None (warning evm_no_plan).
    * Status of an item at t: the status-category history (metrics.flow.status_ctes); without history DONE
      from done_at, started from its first worklog.
    * EV rules (setting ``ev_rule``, default 0/100; every rule's EV is also in extra["ev_by_rule"]):
        0/100           value of the items DONE at t
        50/50           half the value once started (left To Do per the history, or hours logged; without
                        history and worklogs an item not To Do today counts as started only from the time
                        the data was current), the rest when DONE
        hours_progress  value × consumed / (consumed + left) (ZenTao); DONE earns the whole value;
                        consumed = Σ worklog hours at t (no worklogs: time_spent_h once DONE, or at the
                        as-of time below); left = remaining estimate at t: its history when
                        there is one, else today's remaining + the hours logged after t, else
                        max(0, baseline estimate − consumed); consumed + left = 0 -> 0
        agile           AgileEVM: EV = BAC × completed baseline points / planned baseline points (standard
                        issues, story points as of B); PV = BAC × sprints ended by t / ``planned_sprints``
                        (default: the number of sprints known, warning evm_planned_sprints_default{count})
    * AC = Σ hours of every worklog of the project at t (baseline and unplanned items) × rate. A project
      without worklogs (ZenTao, GitLab, Redmine CSVs) falls back to time_spent_h at leaf level (ZenTao adds
      child hours into the parent), each issue's hours counted at its final done_at, an open issue's at the
      time the data was current (the latest import's export time, else now): the convention of
      rework_effort, a lower bound for past months (warning evm_ac_from_time_spent); no actuals at all ->
      None (warning evm_no_actuals).
      Non-labour cost is not in the data model yet.
    * ETC bottom-up = Σ left hours (as above) of the baseline items not DONE at the status date × rate.

Settings read: ``evm_baseline_date``, ``ev_rule``, ``planned_sprints``.
Warning codes: no_data; setting_invalid{name, value}; evm_baseline_default{date}; evm_no_baseline;
evm_cancelled_excluded{count};
evm_no_rate; evm_bac_differs{bac, derived}; evm_due_missing{count, end}; evm_no_plan;
evm_planned_sprints_default{count}; evm_ac_from_time_spent; evm_no_actuals; evm_tcpi_unachievable;
unestimated_issues{count, in_scope}.
"""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pandas as pd

from metrics import MetricResult, register
from metrics.burndown import sprint_windows
from metrics.common import (STANDARD_TYPES, end_of_day, local_date, mode_or_setting, month_bounds,
                            parse_month, project_settings, ratio, resolve_month, setting)
from metrics.flow import status_ctes

EV_RULES = ("0/100", "50/50", "hours_progress", "agile")
SERIES_COLUMNS = ["month", "pv", "ev", "ac", "spi", "cpi"]
MAX_MONTHS = 120
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- The formulas (pure) --------------------------------------------------------------------------------------

def _sub(a, b):
    return None if a is None or b is None else a - b


def _add(a, b):
    return None if a is None or b is None else a + b


def evm_table(bac, pv, ev, ac, etc_bottom_up=None) -> dict:
    """Every EVM figure of METRICS.md §7 from BAC, PV, EV, AC (and a bottom-up ETC when known).

    Percentages are fractions (−0.08 is −8%). cv_pct is PMI's CV / EV; cv_pct_zentao is ZenTao's (EV − AC) / AC.
    tcpi_bac is None with tcpi_bac_unachievable True when BAC ≤ AC.
    """
    sv, cv = _sub(ev, pv), _sub(ev, ac)
    spi, cpi = ratio(ev, pv), ratio(ev, ac)
    left = _sub(bac, ev)                                    # BAC − EV, the work still to earn
    eac = {
        "typical": ratio(bac, cpi),
        "atypical": _add(ac, left),
        "combined": _add(ac, ratio(left, None if cpi is None or spi is None else cpi * spi)),
        "bottom_up": _add(ac, etc_bottom_up),
    }
    unachievable = bac is not None and ac is not None and bac <= ac
    out = {
        "bac": bac, "pv": pv, "ev": ev, "ac": ac,
        "sv": sv, "cv": cv, "spi": spi, "cpi": cpi,
        "sv_pct": ratio(sv, pv), "cv_pct": ratio(cv, ev), "cv_pct_zentao": ratio(cv, ac),
    }
    for kind, value in eac.items():
        out[f"eac_{kind}"] = value
        out[f"etc_{kind}"] = _sub(value, ac)
        out[f"vac_{kind}"] = _sub(bac, value)
    out.update({
        "eac": eac["typical"], "etc": out["etc_typical"], "vac": out["vac_typical"],
        "tcpi_bac": None if unachievable else ratio(left, _sub(bac, ac)),
        "tcpi_bac_unachievable": unachievable,
        "tcpi_eac": ratio(left, _sub(eac["typical"], ac)),
    })
    return out


# --- Inputs ---------------------------------------------------------------------------------------------------

def _month_add(month: str, n: int) -> str:
    y, m = parse_month(month)
    k = y * 12 + m - 1 + n
    return f"{k // 12:04d}-{k % 12 + 1:02d}"


def _month_end(month: str, tz: str) -> datetime:
    return month_bounds(month, tz)[1] - timedelta(milliseconds=1)


def _export_time(cur) -> str:
    """SQL for when an import's data was current (alias m): imports.exported_at where this database has that
    column (store/history.py: the time the export was taken), else imported_at."""
    has = cur.execute("SELECT count(*) FROM duckdb_columns() WHERE table_name = 'imports'"
                      " AND column_name = 'exported_at'").fetchone()[0]
    return "coalesce(m.exported_at, m.imported_at)" if has else "m.imported_at"


def _baseline(cur, project_key: str, tz: str) -> tuple[datetime | None, list[dict]]:
    """(baseline instant, warnings); None = no import and no setting: every issue is baseline."""
    raw = setting(cur, project_key, "evm_baseline_date")
    warnings = []
    if raw is not None and str(raw).strip().strip('"'):
        text = str(raw).strip().strip('"')
        try:
            if not _DATE.match(text):
                raise ValueError(text)
            return end_of_day(date.fromisoformat(text), tz), []
        except ValueError:
            warnings.append({"code": "setting_invalid", "name": "evm_baseline_date", "value": raw})
    first = cur.execute(f"SELECT min({_export_time(cur)}) FROM imports m WHERE project_key = ?",
                        [project_key]).fetchone()[0]
    warnings.append({"code": "evm_baseline_default",
                     "date": local_date(first, tz).isoformat() if first is not None else "—"})
    return first, warnings


def _planned_sprints(cur, project_key: str, windows: list[dict]) -> tuple[int | None, list[dict]]:
    raw = setting(cur, project_key, "planned_sprints")
    if raw is not None and str(raw).strip().strip('"'):
        try:
            n = int(str(raw).strip().strip('"'))
            if n > 0:
                return n, []
        except ValueError:
            pass
        warn = [{"code": "setting_invalid", "name": "planned_sprints", "value": raw}]
    else:
        warn = []
    n = len(windows)
    return (n or None), [*warn, {"code": "evm_planned_sprints_default", "count": n}]


# One row per instant: the baseline's hours and points, and what was planned / earned / left by then.
_ITEMS_SQL = """
    SELECT issue_key, created_at, done_at, status_category FROM issues
    WHERE project_key = $pk AND coalesce(type, 'other') <> 'epic'
      AND (created_at IS NULL OR created_at <= $b) AND resolution_class IS DISTINCT FROM 'invalid'
"""

_AGG_SQL = """
,
base AS (
    SELECT i.issue_key, coalesce(i.type, 'other') AS type, i.parent_key, i.due_at, i.done_at, i.original_estimate_h,
           i.remaining_estimate_h, i.time_spent_h, i.story_points, i.status_category AS cur_status,
           CAST($b AS TIMESTAMPTZ) AS bt
    FROM issues i SEMI JOIN items USING (issue_key) WHERE i.project_key = $pk
),
num_chg AS (
    SELECT c.issue_key, c.field, c.changed_at, TRY_CAST(c.from_value AS DOUBLE) AS f,
           TRY_CAST(c.to_value AS DOUBLE) AS v
    FROM changes c SEMI JOIN items i ON i.issue_key = c.issue_key
    WHERE c.project_key = $pk AND c.field IN ('original_estimate_h', 'story_points', 'remaining_estimate_h')
),
est_chg AS (SELECT * FROM num_chg WHERE field = 'original_estimate_h'),
pts_chg AS (SELECT * FROM num_chg WHERE field = 'story_points'),
rem_chg AS (SELECT * FROM num_chg WHERE field = 'remaining_estimate_h'),
snap AS (   -- the latest snapshot of each item taken at or before the baseline
    SELECT issue_key, original_estimate_h, story_points FROM (
        SELECT s.issue_key, s.original_estimate_h, s.story_points,
               row_number() OVER (PARTITION BY s.issue_key ORDER BY {export_time} DESC, s.import_id DESC) AS rn
        FROM issue_snapshots s JOIN imports m ON m.import_id = s.import_id
        WHERE s.project_key = $pk AND {export_time} <= CAST($b AS TIMESTAMPTZ)
    ) WHERE rn = 1
),
at_b AS (
    SELECT b.issue_key, b.type, b.parent_key, b.due_at, b.done_at, b.cur_status, b.remaining_estimate_h,
           b.time_spent_h,
           CASE WHEN ep.changed_at IS NOT NULL THEN ep.v WHEN sn.issue_key IS NOT NULL THEN sn.original_estimate_h
                WHEN en.changed_at IS NOT NULL THEN en.f ELSE b.original_estimate_h END AS est_h,
           CASE WHEN pp.changed_at IS NOT NULL THEN pp.v WHEN sn.issue_key IS NOT NULL THEN sn.story_points
                WHEN pn.changed_at IS NOT NULL THEN pn.f ELSE b.story_points END AS pts
    FROM base b
    ASOF LEFT JOIN est_chg ep ON ep.issue_key = b.issue_key AND ep.changed_at <= b.bt
    ASOF LEFT JOIN est_chg en ON en.issue_key = b.issue_key AND en.changed_at > b.bt
    ASOF LEFT JOIN pts_chg pp ON pp.issue_key = b.issue_key AND pp.changed_at <= b.bt
    ASOF LEFT JOIN pts_chg pn ON pn.issue_key = b.issue_key AND pn.changed_at > b.bt
    LEFT JOIN snap sn ON sn.issue_key = b.issue_key
),
hour_parents AS (   -- G6: a parent whose sub-tasks carry baseline estimates is not a leaf
    SELECT DISTINCT parent_key FROM at_b WHERE type = 'subtask' AND parent_key IS NOT NULL AND est_h IS NOT NULL
),
task_hours AS (SELECT count(*) > 0 AS split FROM at_b WHERE type IN ('task', 'subtask') AND est_h IS NOT NULL),
bl AS (
    SELECT a.*,
           (a.type = 'subtask' OR a.issue_key NOT IN (SELECT parent_key FROM hour_parents))
           -- ZenTao: a requirement's hours are broken down into tasks; with estimated tasks, only they count
           AND NOT (a.type = 'requirement' AND (SELECT split FROM task_hours)) AS hour_leaf,
           list_contains($std, a.type) AS standard
    FROM at_b a
),
logs AS (
    SELECT issue_key, started_at, sum(sum(coalesce(hours, 0))) OVER (PARTITION BY issue_key ORDER BY started_at) AS cum
    FROM worklogs w SEMI JOIN items i USING (issue_key)
    WHERE w.project_key = $pk AND w.started_at IS NOT NULL
    GROUP BY issue_key, started_at
),
logged_now AS (SELECT issue_key, max(cum) AS cum FROM logs GROUP BY 1),
started_hist AS (   -- the first time the item left To Do, from its status history
    SELECT issue_key, min(CASE WHEN to_value IN ('in_progress', 'done') THEN changed_at END) AS moved,
           arg_min(from_value, changed_at) AS first_from
    FROM sc GROUP BY 1
),
cgrid AS (SELECT b.*, n.t FROM bl b CROSS JOIN inst n),
cells AS (
    SELECT g.*,
           coalesce(st.status, 'todo') AS status,
           -- started (50/50): DONE, hours logged, or left To Do per the history; without history today's
           -- status tells only from the time the data was current
           coalesce(st.status = 'done' OR fl.first_log <= g.t
                    OR (st.has_hist AND (st.status <> 'todo' OR sh.moved <= g.t
                                         OR sh.first_from IN ('in_progress', 'done')))
                    OR (NOT st.has_hist AND g.t >= CAST($asof AS TIMESTAMPTZ)
                        AND coalesce(g.cur_status, 'todo') <> 'todo'), false) AS started,
           CASE WHEN $has_logs THEN coalesce(lg.cum, 0)
                -- no worklogs: time spent counts at the final done_at, else at the data's as-of time
                WHEN g.t >= CAST($asof AS TIMESTAMPTZ) OR g.done_at <= g.t THEN coalesce(g.time_spent_h, 0)
                ELSE 0 END AS consumed,
           CASE WHEN rp.changed_at IS NOT NULL THEN rp.v
                WHEN rn.changed_at IS NOT NULL THEN rn.f
                WHEN g.remaining_estimate_h IS NOT NULL AND $has_logs
                     THEN g.remaining_estimate_h + coalesce(ln.cum, 0) - coalesce(lg.cum, 0)
                ELSE g.remaining_estimate_h END AS rem_raw,
           CASE WHEN g.due_at IS NOT NULL THEN (g.due_at <= g.t)::DOUBLE
                WHEN CAST($pend AS TIMESTAMPTZ) IS NULL THEN NULL
                WHEN CAST($pend AS TIMESTAMPTZ) <= CAST($b AS TIMESTAMPTZ)
                     THEN (g.t >= CAST($pend AS TIMESTAMPTZ))::DOUBLE
                ELSE greatest(0, least(1, (epoch(g.t) - epoch(CAST($b AS TIMESTAMPTZ)))
                                          / (epoch(CAST($pend AS TIMESTAMPTZ)) - epoch(CAST($b AS TIMESTAMPTZ)))))
                END AS pv_frac
    FROM cgrid g
    ASOF LEFT JOIN logs lg ON lg.issue_key = g.issue_key AND lg.started_at <= g.t
    ASOF LEFT JOIN rem_chg rp ON rp.issue_key = g.issue_key AND rp.changed_at <= g.t
    ASOF LEFT JOIN rem_chg rn ON rn.issue_key = g.issue_key AND rn.changed_at > g.t
    LEFT JOIN status_at st ON st.issue_key = g.issue_key AND st.t = g.t
    LEFT JOIN started_hist sh ON sh.issue_key = g.issue_key
    LEFT JOIN first_log fl ON fl.issue_key = g.issue_key
    LEFT JOIN logged_now ln ON ln.issue_key = g.issue_key
),
cells2 AS (
    SELECT *, coalesce(est_h, 0) AS est,
           CASE WHEN status = 'done' THEN 0
                ELSE coalesce(greatest(0, rem_raw), greatest(0, coalesce(est_h, 0) - consumed)) END AS left_h
    FROM cells
)
SELECT t,
       count(*) FILTER (WHERE hour_leaf) AS n_leaf,
       count(est_h) FILTER (WHERE hour_leaf) AS n_leaf_est,
       count(*) FILTER (WHERE hour_leaf AND due_at IS NULL AND est > 0) AS n_no_due,
       count(*) FILTER (WHERE standard) AS n_std,
       count(pts) FILTER (WHERE standard) AS n_std_pts,
       coalesce(sum(est) FILTER (WHERE hour_leaf), 0) AS est_h,
       sum(est * pv_frac) FILTER (WHERE hour_leaf) AS pv_h,
       coalesce(bool_or(pv_frac IS NULL AND est > 0) FILTER (WHERE hour_leaf), false) AS pv_unknown,
       coalesce(sum(est) FILTER (WHERE hour_leaf AND status = 'done'), 0) AS ev_0_100_h,
       coalesce(sum(CASE WHEN status = 'done' THEN est WHEN started THEN est / 2 ELSE 0 END)
                FILTER (WHERE hour_leaf), 0) AS ev_50_50_h,
       coalesce(sum(CASE WHEN status = 'done' THEN est
                         WHEN consumed + left_h > 0 THEN est * consumed / (consumed + left_h) ELSE 0 END)
                FILTER (WHERE hour_leaf), 0) AS ev_hours_h,
       coalesce(sum(left_h) FILTER (WHERE hour_leaf AND status <> 'done'), 0) AS etc_h,
       coalesce(sum(coalesce(pts, 0)) FILTER (WHERE standard), 0) AS pts_total,
       coalesce(sum(coalesce(pts, 0)) FILTER (WHERE standard AND status = 'done'), 0) AS pts_done
FROM cells2 GROUP BY t ORDER BY t
"""

_AC_SQL = """
WITH inst AS (SELECT unnest($instants) AS t),
bl AS (
    SELECT issue_key FROM issues
    WHERE project_key = $pk AND coalesce(type, 'other') <> 'epic' AND (created_at IS NULL OR created_at <= $b)
)
SELECT n.t, coalesce(sum(w.hours), 0) AS hours,
       coalesce(sum(w.hours) FILTER (WHERE w.issue_key NOT IN (SELECT issue_key FROM bl)), 0) AS unplanned
FROM inst n LEFT JOIN worklogs w ON w.project_key = $pk AND w.started_at <= n.t
GROUP BY n.t ORDER BY n.t
"""

_AC_SPENT_SQL = """
WITH inst AS (SELECT unnest($instants) AS t),
bl AS (
    SELECT issue_key FROM issues
    WHERE project_key = $pk AND coalesce(type, 'other') <> 'epic' AND (created_at IS NULL OR created_at <= $b)
),
hour_parents AS (   -- ZenTao adds child hours into the parent: a parent's own hours only without them (G6)
    SELECT DISTINCT parent_key FROM issues
    WHERE project_key = $pk AND parent_key IS NOT NULL AND coalesce(time_spent_h, 0) > 0
),
spent AS (
    SELECT issue_key, time_spent_h AS h,
           CASE WHEN status_category = 'done' AND done_at IS NOT NULL THEN done_at
                ELSE CAST($asof AS TIMESTAMPTZ) END AS at
    FROM issues
    WHERE project_key = $pk AND time_spent_h IS NOT NULL
      AND issue_key NOT IN (SELECT parent_key FROM hour_parents)
)
SELECT n.t, CASE WHEN (SELECT count(*) FROM spent) > 0 THEN coalesce(sum(s.h), 0) END AS hours,
       coalesce(sum(s.h) FILTER (WHERE s.issue_key NOT IN (SELECT issue_key FROM bl)), 0) AS unplanned
FROM inst n LEFT JOIN spent s ON s.at <= n.t
GROUP BY n.t ORDER BY n.t
"""

_AGG_COLUMNS = ["t", "n_leaf", "n_leaf_est", "n_no_due", "n_std", "n_std_pts", "est_h", "pv_h", "pv_unknown",
                "ev_0_100_h", "ev_50_50_h", "ev_hours_h", "etc_h", "pts_total", "pts_done"]


def _project_end(cur, project_key: str, b: datetime, windows: list[dict]) -> datetime | None:
    """The end the undated baseline items are spread to: their latest due_at, else the latest sprint end."""
    end = cur.execute(
        "SELECT max(due_at) FROM issues WHERE project_key = ? AND coalesce(type, 'other') <> 'epic'"
        " AND (created_at IS NULL OR created_at <= ?)", [project_key, b]).fetchone()[0]
    if end is None:
        ends = [w["completed_at"] or w["end_at"] for w in windows if (w["completed_at"] or w["end_at"])]
        end = max(ends) if ends else None
    return end


def _empty(warnings: list[dict], extra: dict | None = None) -> MetricResult:
    return MetricResult(None, pd.DataFrame(columns=SERIES_COLUMNS), warnings, extra or {})


@register("evm", name_en="Earned value (SPI)", name_zh="挣值管理(进度绩效指数)", unit="index",
          direction="higher_is_better", section="7", params=("month", "ev_rule"))
def evm(cur, *, project_key: str, month: str | None = None, ev_rule: str | None = None) -> MetricResult:
    """value: SPI at the end of `month` (default: the project's latest month); `ev_rule` defaults to the
    ``ev_rule`` setting, else 0/100."""
    if ev_rule is not None and ev_rule not in EV_RULES:
        raise ValueError(f"ev_rule must be one of {EV_RULES}, got {ev_rule!r}")
    rule, warnings = mode_or_setting(cur, project_key, ev_rule, "ev_rule", EV_RULES)
    proj = project_settings(cur, project_key)
    tz = proj["timezone"]
    month = resolve_month(cur, project_key, month, tz)
    if month is None:
        return _empty([*warnings, {"code": "no_data"}], {"month": None, "ev_rule": rule})
    row = cur.execute("SELECT bac, hourly_rate, coalesce(currency, 'CNY') FROM projects WHERE project_key = ?",
                      [project_key]).fetchone()
    bac_set, rate, currency = row if row else (None, None, "CNY")
    if rate is not None and rate <= 0:
        rate = None

    b, base_warn = _baseline(cur, project_key, tz)
    if b is None:
        b = datetime.now(timezone.utc)
        base_warn = [w if w["code"] != "evm_baseline_default" else {**w, "date": local_date(b, tz).isoformat()}
                     for w in base_warn]
    warnings += base_warn
    status_at = _month_end(month, tz)
    windows = sprint_windows(cur, project_key, tz)
    pend = _project_end(cur, project_key, b, windows)
    has_logs = cur.execute("SELECT count(*) FROM worklogs WHERE project_key = ? AND started_at IS NOT NULL",
                           [project_key]).fetchone()[0] > 0
    # When the data was current: the latest import's export time, else now (time spent without worklogs).
    asof = cur.execute(f"SELECT max({_export_time(cur)}) FROM imports m WHERE project_key = ?",
                       [project_key]).fetchone()[0] or datetime.now(timezone.utc)
    cancelled = cur.execute(
        "SELECT count(*) FROM issues WHERE project_key = ? AND coalesce(type, 'other') <> 'epic'"
        " AND (created_at IS NULL OR created_at <= ?) AND resolution_class = 'invalid'", [project_key, b]).fetchone()[0]
    if cancelled:
        warnings.append({"code": "evm_cancelled_excluded", "count": int(cancelled)})

    # Months: from the baseline's (or the first worklog's) month to the status month; the PV plan runs on
    # to the project end.
    first = local_date(b, tz)
    if has_logs:
        first_log = cur.execute("SELECT min(started_at) FROM worklogs WHERE project_key = ?",
                                [project_key]).fetchone()[0]
        first = min(first, local_date(first_log, tz))
    first_month = min(first.strftime("%Y-%m"), month)
    months = [first_month]
    while months[-1] < month:
        months.append(_month_add(months[-1], 1))
    months = months[-MAX_MONTHS:]
    plan_months = list(months)
    if pend is not None:
        last_plan = max(local_date(pend, tz).strftime("%Y-%m"), month)
        while plan_months[-1] < last_plan and len(plan_months) < MAX_MONTHS * 2:
            plan_months.append(_month_add(plan_months[-1], 1))
    instants = [_month_end(m, tz) for m in plan_months]

    params = {"pk": project_key, "b": b, "instants": instants, "std": list(STANDARD_TYPES),
              "has_logs": has_logs, "pend": pend, "asof": asof}
    sql = ("WITH " + status_ctes(_ITEMS_SQL, "SELECT unnest($instants) AS t")
           + _AGG_SQL.replace("{export_time}", _export_time(cur)))
    agg = pd.DataFrame(cur.execute(sql, params).fetchall(), columns=_AGG_COLUMNS)
    ac_params = {"pk": project_key, "b": b, "instants": instants}
    if not has_logs:
        ac_params["asof"] = asof
    ac_rows = cur.execute(_AC_SQL if has_logs else _AC_SPENT_SQL, ac_params).fetchall()
    extra = {"month": month, "ev_rule": rule, "status_date": local_date(status_at, tz),
             "baseline_date": local_date(b, tz), "currency": currency if rate else None,
             "unit": currency if rate else "h", "hourly_rate": rate, "cv_pct_denominator": "ev",
             "cv_pct_zentao_denominator": "ac"}
    if agg.empty or int(agg["n_leaf"].iloc[0]) + int(agg["n_std"].iloc[0]) == 0:
        return _empty([*warnings, {"code": "evm_no_baseline"}], extra)

    # --- Money (or hours) per baseline hour ---------------------------------------------------------------
    est_h = float(agg["est_h"].iloc[0])
    if rate is None:
        warnings.append({"code": "evm_no_rate"})
        cost_rate, bac = 1.0, (est_h or None)
    else:
        cost_rate = float(rate)
        derived = est_h * cost_rate
        bac = float(bac_set) if bac_set else (derived or None)
        if bac_set and derived and abs(bac - derived) > 0.005 * bac:
            warnings.append({"code": "evm_bac_differs", "bac": round(bac, 2), "derived": round(derived, 2)})
    per_hour = ratio(bac, est_h) if rule != "agile" else None

    # --- Coverage --------------------------------------------------------------------------------------------
    first_row = agg.iloc[0]
    if rule == "agile":
        in_scope, estimated = int(first_row["n_std"]), int(first_row["n_std_pts"])
    else:
        in_scope, estimated = int(first_row["n_leaf"]), int(first_row["n_leaf_est"])
    if estimated < in_scope:
        warnings.append({"code": "unestimated_issues", "count": in_scope - estimated, "in_scope": in_scope})

    # --- PV plan --------------------------------------------------------------------------------------------
    planned = None
    if rule == "agile":
        planned, sprint_warn = _planned_sprints(cur, project_key, windows)
        warnings += sprint_warn
    elif int(first_row["n_no_due"]):
        if pend is None:
            warnings.append({"code": "evm_no_plan"})
        else:
            warnings.append({"code": "evm_due_missing", "count": int(first_row["n_no_due"]),
                             "end": local_date(pend, tz).isoformat()})

    def pv_at(r, t) -> float | None:
        if rule == "agile":
            if bac is None or not planned:
                return None
            ended = sum(1 for w in windows if (w["completed_at"] or w["end_at"]) is not None
                        and (w["completed_at"] or w["end_at"]) <= t)
            return bac * min(ended, planned) / planned
        if r["pv_unknown"] or per_hour is None or r["pv_h"] is None or pd.isna(r["pv_h"]):
            return None
        return float(r["pv_h"]) * per_hour

    def ev_by_rule(r) -> dict:
        out = {name: (float(r[col]) * per_hour if per_hour is not None else None)
               for name, col in (("0/100", "ev_0_100_h"), ("50/50", "ev_50_50_h"),
                                 ("hours_progress", "ev_hours_h"))}
        out["agile"] = (bac * float(r["pts_done"]) / float(r["pts_total"])
                        if bac is not None and r["pts_total"] else None)
        return out

    # One AC row per instant, in the order of `instants` (both queries ORDER BY t).
    ac_at = [(None if hours is None else float(hours) * cost_rate, float(unplanned) * cost_rate)
             for _, hours, unplanned in ac_rows]
    if not has_logs:
        warnings.append({"code": "evm_ac_from_time_spent"})

    rows, plan = [], []
    for m, t, (_, r), (ac, _) in zip(plan_months, instants, agg.iterrows(), ac_at):
        pv = pv_at(r, t)
        plan.append({"month": m, "pv": pv})
        if m not in months:
            continue
        ev = ev_by_rule(r)[rule]
        rows.append({"month": m, "pv": pv, "ev": ev, "ac": ac, "spi": ratio(ev, pv), "cpi": ratio(ev, ac)})
    series = pd.DataFrame(rows, columns=SERIES_COLUMNS)
    for col in SERIES_COLUMNS[1:]:
        series[col] = series[col].astype("float64")

    now_row = agg.iloc[len(months) - 1]
    pv, ev = series["pv"].iloc[-1], series["ev"].iloc[-1]
    pv, ev = (None if pd.isna(pv) else float(pv)), (None if pd.isna(ev) else float(ev))
    ac, unplanned = ac_at[len(months) - 1]
    if ac is None and not has_logs:
        warnings.append({"code": "evm_no_actuals"})
    etc_bu = float(now_row["etc_h"]) * cost_rate
    table = evm_table(bac, pv, ev, ac, etc_bu)
    if table["tcpi_bac_unachievable"]:
        warnings.append({"code": "evm_tcpi_unachievable"})
    extra.update({
        "table": table,
        "ev_by_rule": ev_by_rule(now_row),
        "bac_source": "projects.bac" if rate is not None and bac_set else "estimates",
        "baseline_hours": est_h,
        "baseline_points": float(now_row["pts_total"]),
        "completed_points": float(now_row["pts_done"]),
        "planned_sprints": planned,
        "project_end": local_date(pend, tz) if pend is not None else None,
        "ac_unplanned": unplanned,
        "etc_bottom_up_hours": float(now_row["etc_h"]),
        "coverage": ratio(estimated, in_scope),
        "in_scope": in_scope,
        "estimated": estimated,
        "pv_plan": pd.DataFrame(plan, columns=["month", "pv"]),
    })
    return MetricResult(table["spi"], series, warnings, extra)
