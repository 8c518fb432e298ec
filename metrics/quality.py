"""Defect density — 缺陷密度 (METRICS.md §3, u-chart limits per §8).

    DD = N_valid / Size

Inputs
    issues: type, resolution_class, severity, components[], created_at; for delivered points also
            status_category, done_at, story_points (standard types only, G6).
    projects: size_kloc, size_fp, timezone.
    settings: ``module_size_kloc`` — JSON object {"module name": KLOC, ...} (project row, else '*').

Rules
    * Valid defect: type 'bug' whose resolution_class is distinct from 'invalid' (open bugs count; G5,
      ZenTao's 有效Bug). Counted as of the end of the month: created before the month's end (local, G1),
      with today's classification (the "restated" view of G10).
    * Series rows: 'all' (defects/KLOC), 's1_s3' (severity rank 1-3 per metrics.common, /KLOC),
      'per_fp' (/FP), 'per_sp' (/delivered story points: DONE + DELIVERED standard issues done before the
      month's end), one 'module' row per component (a bug with k components counts once in each module and
      once in the total). A module's size comes from ``module_size_kloc``; unknown -> density NULL.
    * Module rows also carry the u-chart limits of §8 across modules of known size:
      u = Σdefects / Σsize, UCL = u + 3·sqrt(u/size), LCL = max(0, u − 3·sqrt(u/size)).
    * value: the density of the chosen basis (kloc | fp | sp); size NULL or 0 -> None with warning
      {"code": "size_unknown", "basis": basis}, never infinity.

Warning codes: no_data; size_unknown{basis}; severity_unknown{count}; module_size_unknown{modules}.
"""
from __future__ import annotations

import math

import pandas as pd

from metrics import MetricResult, register
from metrics.common import (STANDARD_TYPES, month_bounds, project_settings, ratio, resolve_month,
                            setting_json, severity_params, severity_rank_sql)

BASES = {"kloc": ("all", "defects/KLOC"), "fp": ("per_fp", "defects/FP"), "sp": ("per_sp", "defects/SP")}
COLUMNS = ["series", "module", "defects", "size", "density", "ucl", "lcl"]


def _module_sizes(cur, project_key: str) -> dict[str, float]:
    raw = setting_json(cur, project_key, "module_size_kloc", {})
    sizes = {}
    if isinstance(raw, dict):
        for name, size in raw.items():
            try:
                sizes[str(name)] = float(size)
            except (TypeError, ValueError):
                continue  # a typo in one module's size must not hide the others
    return sizes


def _counts(cur, project_key: str, month_end) -> tuple[int, int, int, float | None]:
    """(valid, valid S1-S3, valid of unknown severity, delivered points) as of month_end."""
    params = {"pk": project_key, "me": month_end, **severity_params()}
    valid, s13, unknown = cur.execute(
        f"""
        WITH bugs AS (
            SELECT {severity_rank_sql('severity')} AS rank
            FROM issues
            WHERE project_key = $pk AND type = 'bug' AND resolution_class IS DISTINCT FROM 'invalid'
              AND (created_at IS NULL OR created_at < $me)
        )
        SELECT count(*), count(*) FILTER (WHERE rank <= 3), count(*) FILTER (WHERE rank IS NULL)
        FROM bugs
        """,
        params,
    ).fetchone()
    points = cur.execute(
        """
        SELECT sum(story_points) FROM issues
        WHERE project_key = $pk AND list_contains($std, type) AND status_category = 'done'
          AND resolution_class = 'delivered' AND done_at < $me
        """,
        {"pk": project_key, "me": month_end, "std": list(STANDARD_TYPES)},
    ).fetchone()[0]
    return valid, s13, unknown, points


def _module_counts(cur, project_key: str, month_end) -> dict[str, int]:
    rows = cur.execute(
        """
        WITH bugs AS (
            SELECT issue_key, list_distinct(components) AS comps
            FROM issues
            WHERE project_key = $pk AND type = 'bug' AND resolution_class IS DISTINCT FROM 'invalid'
              AND (created_at IS NULL OR created_at < $me)
        )
        SELECT module, count(DISTINCT issue_key)
        FROM (SELECT issue_key, unnest(comps) AS module FROM bugs)
        WHERE module IS NOT NULL AND trim(module) <> ''
        GROUP BY module
        """,
        {"pk": project_key, "me": month_end},
    ).fetchall()
    return {m: int(n) for m, n in rows}


def _u_limits(rows: list[dict]) -> float | None:
    known = [r for r in rows if r["size"]]
    u_bar = ratio(sum(r["defects"] for r in known), sum(r["size"] for r in known)) if known else None
    for r in rows:
        if u_bar is None or not r["size"]:
            continue
        half = 3 * math.sqrt(u_bar / r["size"])
        r["ucl"], r["lcl"] = u_bar + half, max(0.0, u_bar - half)
    return u_bar


@register("defect_density", name_en="Defect density", name_zh="缺陷密度", unit="defects/KLOC",
          direction="lower_is_better", section="3", params=("month", "basis"))
def defect_density(cur, *, project_key: str, month: str | None = None, basis: str = "kloc") -> MetricResult:
    if basis not in BASES:
        raise ValueError(f"basis must be one of {sorted(BASES)}, got {basis!r}")
    proj = project_settings(cur, project_key)
    month = resolve_month(cur, project_key, month, proj["timezone"])
    if month is None:
        return MetricResult(None, pd.DataFrame(columns=COLUMNS), [{"code": "no_data"}],
                            {"basis": basis, "unit": BASES[basis][1]})
    _, month_end = month_bounds(month, proj["timezone"])

    valid, s13, unknown_sev, points = _counts(cur, project_key, month_end)
    kloc, fp = proj["size_kloc"], proj["size_fp"]
    rows = [
        {"series": "all", "module": None, "defects": valid, "size": kloc},
        {"series": "s1_s3", "module": None, "defects": s13, "size": kloc},
        {"series": "per_fp", "module": None, "defects": valid, "size": fp},
        {"series": "per_sp", "module": None, "defects": valid, "size": points},
    ]
    sizes = _module_sizes(cur, project_key)
    counts = _module_counts(cur, project_key, month_end)
    modules = [{"series": "module", "module": m, "defects": counts.get(m, 0), "size": sizes.get(m)}
               for m in sorted(set(counts) | set(sizes))]
    u_bar = _u_limits(modules)
    rows += modules
    for r in rows:
        r["density"] = ratio(r["defects"], r["size"])
        r.setdefault("ucl", None)
        r.setdefault("lcl", None)
    series = pd.DataFrame(rows, columns=COLUMNS)

    headline_series, unit = BASES[basis]
    value = next(r["density"] for r in rows if r["series"] == headline_series)
    warnings = []
    if value is None:
        warnings.append({"code": "size_unknown", "basis": basis})
    if unknown_sev:
        warnings.append({"code": "severity_unknown", "count": unknown_sev})
    unsized = [m["module"] for m in modules if not m["size"] and m["defects"]]
    if unsized:
        warnings.append({"code": "module_size_unknown", "modules": unsized})
    return MetricResult(value, series, warnings,
                        {"month": month, "basis": basis, "unit": unit, "u_bar": u_bar})
