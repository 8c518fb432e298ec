"""Defect removal efficiency — 缺陷排除效率, and leakage — 缺陷逃逸率 (METRICS.md §4).

    DRE = D_pre / (D_pre + D_post)        leakage = D_post / (D_pre + D_post) = 1 − DRE

Inputs
    issues: type, resolution_class, severity, fix_versions[], found_phase, created_at, done_at, first_done_at.
    milestones: name, actual_date, baseline_date (PMO-entered). projects.timezone (G1).
    settings: ``dre_window_days`` (default 90): the post-release window (Jones's 90 days).

Releases (param ``release``)
    * A fix version carried by the project's issues ("version" scope). Its release instant is, in this order:
      the milestone of the same name (case and surrounding spaces ignored): its actual_date, else its
      baseline_date (warning release_date_baseline: a planned date), taken as 00:00 local on that day (the
      go-live day is the first day of production use); else the latest done_at among the version's issues
      (warning release_date_inferred). A version with neither has no date (release_date_unknown).
    * Or, for trackers whose exports carry no versions (ZenTao's bug CSV, waterfall projects with one go-live),
      a milestone that is no fix version ("project" scope), dated as above. A milestone is a release by
      default only when its name says so (release, go-live, launch, cutover, 上线, 发布, 投产, 切换); any milestone
      can be asked for by name.
    * As of: the end of the month param (local; default month = latest activity). No release given: the
      dated fix version released last before that (ties: the greatest name); without one, the release-like
      milestone dated last before it.

Rules
    * Valid defect: type 'bug', resolution_class distinct from 'invalid' (G5), on both sides: a customer report
      closed as a duplicate of an internal defect is not counted twice.
    * The found-phase field decides first. It is post-release when it names production (lower-cased, matched
      anywhere): prod, production, prd, live, go-live, field, customer, post-release, operation(s), 生产, 线上,
      现网, 上线后, 发布后, 客户, 现场, 运维, 运营; pre-production words win over these (pre-prod, staging, 预生产,
      准生产, 预发, 仿真). Any other non-empty phase (设计评审, 单元测试, SIT, UAT, ...) is pre-release. UAT is
      pre-release: it tests a release not yet shipped (Jones counts acceptance testing among the pre-release
      removal activities, and waterfall projects run it before go-live). Phase empty: creation vs release.
    * D_pre, version scope: valid bugs carrying the version whose phase is pre-release, or, phase empty,
      created before the release instant (a pre-release bug of the version reported after the release, phase
      known, is still D_pre). Project scope: valid bugs with a pre-release or empty phase created before the
      release instant and, when an earlier release-like milestone exists, at or after it.
    * D_post: valid bugs created in [release, release + window) and before the as-of instant, whose phase is
      post-release or empty; a phase-empty bug tagged with another fix version not yet released when it was
      reported belongs to that version's development, not to this release's leakage. Post-release bugs need
      not carry the version (they are usually tagged with a hotfix version, or none). Windows of successive
      releases may overlap; a production bug then counts for each.
    * Provisional: while release + window is after the as-of instant (extra["provisional"], warning
      dre_provisional naming the day the window closes).
    * Shipped known defects: D_pre bugs reported before the release instant and not resolved at it (never done
      before it, by first_done_at / done_at; a bug resolved, then reopened before the release counts as
      resolved: the export keeps no earlier state). They stay in D_pre (Kan's effectiveness view). extra:
      count and keys.
    * Series rows: 'all', 's1_s2', then 's1'..'s4' (metrics.common severity ranks) and 'unknown' when a
      counted bug's severity maps to no rank; columns d_pre, d_post, dre, leakage, shipped_known. dre and
      leakage NULL when D_pre + D_post = 0.
    * value: DRE of 'all' (a fraction); ``leakage`` is the same computation with value 1 − DRE.

Warning codes: no_data; no_release{month}; release_not_found{release}; release_date_unknown{release};
release_after_month{release, date, month}; release_date_baseline{release, date}; release_date_inferred{release,
date}; release_has_no_bugs{release}; dre_provisional{release, until}; setting_invalid{name, value}.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pandas as pd

from metrics import MetricResult, register
from metrics.common import (local_date, month_bounds, project_settings, ratio, resolve_month, setting,
                            severity_params, severity_rank_sql)

COLUMNS = ["series", "d_pre", "d_post", "dre", "leakage", "shipped_known"]
DEFAULT_WINDOW_DAYS = 90


def valid_bug_sql(alias: str = "") -> str:
    """The valid-defect condition (type 'bug', not INVALID; G5) on a table alias written by our code."""
    a = f"{alias}." if alias else ""
    return f"{a}type = 'bug' AND {a}resolution_class IS DISTINCT FROM 'invalid'"


# Found-phase words (matched on lower(found_phase), RE2): pre-production first, then production.
PRE_PRODUCTION_RE = r"pre[-_ ]?(prod|production|release)|staging|预生产|准生产|预发|仿真"
PRODUCTION_RE = (r"(^|[^a-z])(prod|production|prd|live|go[-_ ]?live|field|customer|post[-_ ]?release"
                 r"|operations?)([^a-z]|$)|生产|线上|现网|上线后|发布后|客户|现场|运维|运营")
# A milestone that is a release by default (project scope).
RELEASE_LIKE = re.compile(r"release|go[-_ ]?live|launch|cut[-_ ]?over|上线|发布|投产|切换", re.I)

# Fix versions and the other milestones with their release instants (module docstring); needs $pk and $tz.
RELEASES_CTE = """
versions AS (
    SELECT trim(v) AS name, max(done_at) AS last_done
    FROM (SELECT unnest(fix_versions) AS v, done_at FROM issues WHERE project_key = $pk)
    WHERE v IS NOT NULL AND trim(v) <> ''
    GROUP BY trim(v)),
ms AS (
    SELECT lower(trim(name)) AS lname, min(trim(name)) AS name, max(actual_date) AS actual_date,
           max(baseline_date) AS baseline_date
    FROM milestones WHERE project_key = $pk GROUP BY 1),
rel AS (
    SELECT coalesce(v.name, m.name) AS name, v.name IS NOT NULL AS is_version,
           CASE WHEN m.actual_date IS NOT NULL THEN timezone($tz, m.actual_date::TIMESTAMP)
                WHEN m.baseline_date IS NOT NULL THEN timezone($tz, m.baseline_date::TIMESTAMP)
                ELSE v.last_done END AS release_at,
           CASE WHEN m.actual_date IS NOT NULL THEN 'milestone_actual'
                WHEN m.baseline_date IS NOT NULL THEN 'milestone_baseline'
                WHEN v.last_done IS NOT NULL THEN 'latest_done' END AS source
    FROM versions v FULL OUTER JOIN ms m ON m.lname = lower(v.name))
"""

# Sides of each counted bug; needs $pk, $tz, $scope, $rel, $rel_at, $prev_at, $post_to, the regexes and
# severity_params().
_SIDES = f"""
WITH {RELEASES_CTE},
b AS (
    SELECT issue_key, {severity_rank_sql('severity')} AS rank, created_at, done_at, first_done_at, fix_versions,
           coalesce(list_contains(list_transform(fix_versions, lambda v: trim(v)), $rel), false) AS in_release,
           CASE WHEN nullif(trim(found_phase), '') IS NULL THEN NULL
                WHEN regexp_matches(lower(found_phase), $pre_re) THEN 'pre'
                WHEN regexp_matches(lower(found_phase), $prod_re) THEN 'post'
                ELSE 'pre' END AS phase
    FROM issues WHERE project_key = $pk AND {valid_bug_sql()}),
other AS (
    SELECT DISTINCT t.issue_key
    FROM (SELECT issue_key, created_at, unnest(fix_versions) AS v FROM b WHERE phase IS NULL) t
    JOIN rel r ON r.is_version AND r.name = trim(t.v)
    WHERE r.name <> $rel AND (r.release_at IS NULL OR r.release_at > t.created_at)),
s AS (
    SELECT b.*, CASE
        WHEN $scope = 'version' AND b.in_release
             AND (b.phase = 'pre' OR (b.phase IS NULL AND b.created_at < $rel_at)) THEN 'pre'
        WHEN $scope = 'project' AND coalesce(b.phase, 'pre') = 'pre' AND b.created_at < $rel_at
             AND ($prev_at IS NULL OR b.created_at >= $prev_at) THEN 'pre'
        WHEN coalesce(b.phase, 'post') = 'post' AND b.created_at >= $rel_at AND b.created_at < $post_to
             AND o.issue_key IS NULL THEN 'post' END AS side
    FROM b LEFT JOIN other o USING (issue_key))
SELECT rank,
       count(*) FILTER (WHERE side = 'pre') AS d_pre,
       count(*) FILTER (WHERE side = 'post') AS d_post,
       count(*) FILTER (WHERE shipped) AS shipped,
       list(issue_key ORDER BY issue_key) FILTER (WHERE shipped) AS keys
FROM (SELECT *, side = 'pre' AND created_at < $rel_at
                AND NOT coalesce(least(first_done_at, done_at) < $rel_at, false) AS shipped
      FROM s WHERE side IS NOT NULL)
GROUP BY rank
"""


def window_days(cur, project_key: str) -> tuple[int, list[dict]]:
    """The ``dre_window_days`` setting as a positive whole number of days, else the default + a warning."""
    raw = setting(cur, project_key, "dre_window_days")
    if raw is None:
        return DEFAULT_WINDOW_DAYS, []
    try:
        days = int(str(raw).strip().strip('"'))
    except ValueError:
        days = 0
    if days > 0:
        return days, []
    return DEFAULT_WINDOW_DAYS, [{"code": "setting_invalid", "name": "dre_window_days", "value": raw}]


def releases(cur, project_key: str, tz: str) -> list[dict]:
    """Every fix version and every other milestone: name, scope ('version' | 'project'), release_at (None
    when unknown), source of the date, release_like (a milestone named like a release; versions always)."""
    rows = cur.execute(f"WITH {RELEASES_CTE} SELECT name, is_version, release_at, source FROM rel"
                       " ORDER BY release_at NULLS LAST, name", {"pk": project_key, "tz": tz}).fetchall()
    return [{"name": n, "scope": "version" if v else "project", "release_at": at, "source": src,
             "release_like": bool(v or RELEASE_LIKE.search(n))} for n, v, at, src in rows]


def _choose(known: list[dict], release: str | None, as_of):
    """The release asked for (a version first, then a milestone by name), else the default (docstring)."""
    if release is not None:
        name = str(release).strip()
        return (next((r for r in known if r["scope"] == "version" and r["name"] == name), None)
                or next((r for r in known if r["scope"] == "project" and r["name"].lower() == name.lower()), None))
    for scope in ("version", "project"):
        dated = [r for r in known if r["scope"] == scope and r["release_like"] and r["release_at"] is not None
                 and r["release_at"] < as_of]
        if dated:
            return max(dated, key=lambda r: (r["release_at"], r["name"]))
    return None


def _severity_rows(by_rank: dict) -> list[dict]:
    """'all', 's1_s2', 's1'..'s4' and, when present, 'unknown' from {rank: (d_pre, d_post, shipped)}."""
    def total(ranks):
        parts = [by_rank.get(r, (0, 0, 0)) for r in ranks]
        return tuple(sum(p[i] for p in parts) for i in range(3))
    rows = [("all", total(list(by_rank))), ("s1_s2", total([1, 2]))]
    rows += [(f"s{r}", total([r])) for r in (1, 2, 3, 4)]
    if None in by_rank:
        rows.append(("unknown", by_rank[None]))
    out = []
    for name, (pre, post, shipped) in rows:
        dre = ratio(pre, pre + post)
        out.append({"series": name, "d_pre": pre, "d_post": post, "dre": dre,
                    "leakage": None if dre is None else 1 - dre, "shipped_known": shipped})
    return out


def _empty(warnings: list[dict], extra: dict) -> MetricResult:
    return MetricResult(None, pd.DataFrame(columns=COLUMNS), warnings, extra)


def compute_dre(cur, project_key: str, release: str | None, month: str | None) -> MetricResult:
    tz = project_settings(cur, project_key)["timezone"]
    days, warnings = window_days(cur, project_key)
    month = resolve_month(cur, project_key, month, tz)
    extra = {"month": month, "release": release, "window_days": days}
    if month is None:
        return _empty([*warnings, {"code": "no_data"}], extra)
    _, as_of = month_bounds(month, tz)
    known = releases(cur, project_key, tz)
    extra["releases"] = [{"name": r["name"], "scope": r["scope"], "source": r["source"],
                          "date": local_date(r["release_at"], tz).isoformat() if r["release_at"] else None}
                         for r in known if r["release_like"]]
    chosen = _choose(known, release, as_of)
    if chosen is None:
        code = {"code": "no_release", "month": month} if release is None else {"code": "release_not_found",
                                                                                "release": release}
        return _empty([*warnings, code], extra)
    name, rel_at, source, scope = chosen["name"], chosen["release_at"], chosen["source"], chosen["scope"]
    extra.update(release=name, release_scope=scope, release_date_source=source)
    if rel_at is None:
        return _empty([*warnings, {"code": "release_date_unknown", "release": name}], extra)
    rel_day = local_date(rel_at, tz).isoformat()
    extra["release_date"] = rel_day
    if source == "milestone_baseline":
        warnings.append({"code": "release_date_baseline", "release": name, "date": rel_day})
    elif source == "latest_done":
        warnings.append({"code": "release_date_inferred", "release": name, "date": rel_day})
    if rel_at >= as_of:
        return _empty([*warnings, {"code": "release_after_month", "release": name, "date": rel_day,
                                   "month": month}], extra)

    earlier = [r["release_at"] for r in known if r["scope"] == "project" and r["release_like"]
               and r["name"] != name and r["release_at"] is not None and r["release_at"] < rel_at]
    post_end = rel_at + timedelta(days=days)
    provisional = post_end > as_of
    until = local_date(post_end, tz).isoformat()
    params = {"pk": project_key, "tz": tz, "scope": scope, "rel": name, "rel_at": rel_at,
              "prev_at": max(earlier) if scope == "project" and earlier else None,
              "post_to": min(post_end, as_of), "pre_re": PRE_PRODUCTION_RE, "prod_re": PRODUCTION_RE,
              **severity_params()}
    by_rank, keys = {}, []
    for rank, pre, post, shipped, shipped_keys in cur.execute(_SIDES, params).fetchall():
        by_rank[rank] = (pre, post, shipped)
        keys += shipped_keys or []
    rows = _severity_rows(by_rank)
    if rows[0]["d_pre"] == 0:
        warnings.append({"code": "release_has_no_bugs", "release": name})
    if provisional:
        warnings.append({"code": "dre_provisional", "release": name, "until": until})
    extra.update(window_end=until, provisional=provisional, shipped_known=rows[0]["shipped_known"],
                 shipped_known_keys=sorted(keys))
    return MetricResult(rows[0]["dre"], pd.DataFrame(rows, columns=COLUMNS), warnings, extra)


@register("dre", name_en="Defect removal efficiency", name_zh="缺陷排除效率", unit="%",
          direction="higher_is_better", section="4", params=("release", "month"))
def dre(cur, *, project_key: str, release: str | None = None, month: str | None = None) -> MetricResult:
    return compute_dre(cur, project_key, release, month)


@register("leakage", name_en="Defect leakage", name_zh="缺陷逃逸率", unit="%",
          direction="lower_is_better", section="4", params=("release", "month"))
def leakage(cur, *, project_key: str, release: str | None = None, month: str | None = None) -> MetricResult:
    r = compute_dre(cur, project_key, release, month)
    r.value = None if r.value is None else 1 - r.value
    return r
