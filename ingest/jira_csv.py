"""Jira "Export CSV" (all fields / current fields / Excel-resaved), onto the canonical model.

Reads FORMATS.md section 1: repeated headers (Sprint, Labels, Components, Fix versions and their older names)
become lists; story points come from whichever story-point column is present; time tracking is in seconds;
dates follow one pattern per file (ingest/dates.py); status -> status_category and resolution ->
resolution_class per METRICS.md G3/G5 with per-project overrides (ingest/value_maps.py). A CSV carries no
history: reopen_count is NULL (unknown) unless the status itself says Reopened.

All row work runs in DuckDB SQL over read_csv; Python only looks at the header.
"""
from __future__ import annotations

import re

import duckdb

from ingest import dates
from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, warning
from ingest.value_maps import create_map_table, join_map
from store.load import Staged

KEY, ID = "issue key", "issue id"
SINGLE = {
    "title": ["summary"],
    "type": ["issue type"],
    "status": ["status"],
    "status_category": ["status category"],
    "project": ["project key"],
    "project_name": ["project name"],
    "priority": ["priority"],
    "severity": ["custom field (severity)", "severity"],
    "resolution": ["resolution"],
    "assignee": ["assignee"],
    "reporter": ["reporter"],
    "created": ["created"],
    "updated": ["updated"],
    "resolved": ["resolved"],
    "due": ["due date"],
    "original": ["original estimate"],
    "remaining": ["remaining estimate"],
    "spent": ["time spent"],
    "parent_key": ["parent key"],
    "parent_id": ["parent id", "parent"],
    "found_phase": ["custom field (found in)", "custom field (phase found)", "custom field (发现阶段)"],
}
MULTI = {
    "sprints": ["sprint"],
    "labels": ["labels"],
    "components": ["components", "component/s"],
    "fix_versions": ["fix versions", "fix version/s"],
    "log_work": ["log work"],
}
# Company-managed "Story Points", team-managed "Story point estimate", and an untranslated i18n key seen in a
# real export; any other header naming story points is tried last.
STORY_POINTS = ["custom field (story points)", "custom field (story point estimate)",
                "custom field (${field_story_points})"]
_SP_PATTERN = re.compile(r"story[ _-]?points?", re.I)


def sniff(p: Probe) -> bool:
    lower = {h.lower() for h in p.header or []}
    return KEY in lower and ID in lower


def _columns(header: list[str]) -> tuple[dict[str, int], dict[str, list[int]], list[int]]:
    lower = [h.strip().lower() for h in header]
    single = {}
    for field, names in SINGLE.items():
        for name in names:
            if name in lower:
                single[field] = lower.index(name)
                break
    multi = {field: [i for i, h in enumerate(lower) if h in names] for field, names in MULTI.items()}
    sp = [lower.index(n) for n in STORY_POINTS if n in lower]
    sp += [i for i, h in enumerate(header) if _SP_PATTERN.search(h) and i not in sp and "Σ" not in h]
    return single, multi, sp


def _read_raw(cur, decoded, probe: Probe, needed: list[int]) -> int:
    names = [f"c{i}" for i in range(len(probe.header))]
    cols = ", ".join(f"nullif(trim(c{i}), '') AS c{i}" for i in needed)
    try:
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE raw AS
            SELECT {cols} FROM read_csv($path, header = false, skip = 1, names = $names, all_varchar = true,
                delim = $delim, quote = '"', escape = '"', max_line_size = 33554432)""",
                    {"path": str(decoded.path), "names": names, "delim": probe.delimiter})
    except duckdb.Error as exc:
        msg = str(exc)
        line = re.search(r"[Ll]ine:? (\d+)", msg)
        raise IngestError("bad_csv", decoded.file_name, row=int(line.group(1)) if line else None,
                          detail=msg.splitlines()[0][:200]) from None
    return cur.execute("SELECT count(*) FROM raw").fetchone()[0]


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    header = probe.header
    lower = [h.lower() for h in header]
    key_i = lower.index(KEY)
    id_i = lower.index(ID)
    single, multi, sp = _columns(header)
    needed = sorted({key_i, id_i, *single.values(), *sp, *(i for v in multi.values() for i in v)})
    rows = _read_raw(cur, decoded, probe, needed)
    if rows == 0:
        raise IngestError("no_rows", decoded.file_name)
    warnings: list[dict] = []

    def col(field: str) -> str:
        return f"c{single[field]}" if field in single else "NULL"

    def lst(field: str) -> str:
        idx = multi.get(field) or []
        if not idx:
            return "[]::VARCHAR[]"
        return f"list_filter([{', '.join(f'c{i}' for i in idx)}], lambda x: x IS NOT NULL)"

    missing_key = cur.execute(f"SELECT min(rowid) FROM raw WHERE c{key_i} IS NULL").fetchone()[0]
    if missing_key is not None:
        raise IngestError("empty_key", decoded.file_name, row=missing_key + 2, column=header[key_i])

    # Project: what the user said, else the file's Project key column, else the issue key's prefix.
    project_sql = ("$project" if ctx.project_key else
                   f"coalesce({col('project')}, regexp_extract(c{key_i}, '^(.+)-[0-9]+$', 1), c{key_i})")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE raw_p AS SELECT rowid AS rownum, {project_sql} AS project_key, * FROM raw",
                {"project": ctx.project_key} if ctx.project_key else {})
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM raw_p ORDER BY 1").fetchall()]
    names = {}
    if "project_name" in single:
        names = dict(cur.execute(f"SELECT project_key, any_value({col('project_name')}) FROM raw_p "
                                 "GROUP BY 1").fetchall())
    create_map_table(cur, projects)

    # Dates: one family for the whole file.
    date_fields = [f for f in ("created", "updated", "resolved", "due") if f in single]
    choice = dates.infer_family(cur, "raw_p", [col(f) for f in date_fields],
                                col("created") if "created" in single else None,
                                col("updated") if "updated" in single else None)
    if choice.ambiguous:
        warnings.append(warning("date_order_ambiguous", assumed=choice.family))

    def ts(field: str) -> str:
        if field not in single or choice.family is None:
            return "NULL::TIMESTAMPTZ"
        return f"timezone($tz, {dates.parse_sql(col(field), choice.family)})"

    for field in date_fields:
        bad = cur.execute(
            f"SELECT count(*), list(rownum + 2 ORDER BY rownum)[1:10] FROM raw_p "
            f"WHERE {col(field)} IS NOT NULL AND {dates.parse_sql(col(field), choice.family or 'iso')} IS NULL"
        ).fetchone()
        if bad[0]:
            warnings.append(warning("unparsable_dates", column=header[single[field]], count=bad[0],
                                    rows=bad[1], example=cur.execute(
                                        f"SELECT {col(field)} FROM raw_p WHERE rownum = ?",
                                        [bad[1][0] - 2]).fetchone()[0]))

    sp_sql = (f"coalesce({', '.join(f'try_cast(c{i} AS DOUBLE)' for i in sp)})" if sp else "NULL::DOUBLE")

    def hours(field: str) -> str:
        return f"try_cast({col(field)} AS DOUBLE) / 3600.0" if field in single else "NULL::DOUBLE"

    status_cat = (f"coalesce(m_status.canonical, m_cat.canonical, "
                  f"CASE WHEN {col('resolution')} IS NOT NULL AND ur.raw_value IS NULL THEN 'done' END)")
    parent_sql = col("parent_key") if "parent_key" in single else (
        "pk.issue_key" if "parent_id" in single else "NULL")
    parent_join = (f"LEFT JOIN (SELECT c{id_i} AS issue_id, any_value(c{key_i}) AS issue_key FROM raw_p GROUP BY 1) pk "
                   f"ON pk.issue_id = {col('parent_id')}") if parent_sql == "pk.issue_key" else ""

    cur.execute("CREATE OR REPLACE TEMP TABLE _unresolved (raw_value VARCHAR)")
    cur.executemany("INSERT INTO _unresolved VALUES (?)", [[v] for v in ("unresolved", "未解决", "none")])
    resolution = f"CASE WHEN ur.raw_value IS NULL THEN {col('resolution')} END"
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        WITH dedup AS (
            SELECT * FROM raw_p QUALIFY row_number() OVER (PARTITION BY project_key, c{key_i} ORDER BY rownum DESC) = 1
        ), mapped AS (
            SELECT d.*, {status_cat} AS status_category_c,
                   coalesce(m_type.canonical, 'other') AS type_c, m_type.canonical IS NULL AS type_unmapped,
                   {resolution} AS resolution_c, m_res.canonical AS resolution_class_c
            FROM dedup d
            {join_map('m_status', 'status', col('status'), 'd.project_key')}
            {join_map('m_cat', 'status_category', col('status_category'), 'd.project_key')}
            {join_map('m_type', 'type', col('type'), 'd.project_key')}
            {join_map('m_res', 'resolution', col('resolution'), 'd.project_key')}
            LEFT JOIN _unresolved ur ON ur.raw_value = lower(trim({col('resolution')}))
        )
        SELECT project_key, c{key_i} AS issue_key, {col('title')} AS title,
            type_c AS type, {col('type')} AS type_raw, {col('status')} AS status_raw,
            coalesce(status_category_c, 'todo') AS status_category, status_category_c IS NULL AS status_unmapped,
            resolution_c AS resolution_raw,
            CASE WHEN resolution_c IS NULL THEN NULL ELSE coalesce(resolution_class_c, 'delivered') END AS resolution_class,
            resolution_c IS NOT NULL AND resolution_class_c IS NULL AS resolution_unmapped,
            {col('priority')} AS priority, {col('severity')} AS severity,
            {ts('created')} AS created_at, {ts('updated')} AS updated_at,
            CASE WHEN coalesce(status_category_c, 'todo') = 'done' THEN coalesce({ts('resolved')}, {ts('updated')}) END AS done_at,
            CASE WHEN coalesce(status_category_c, 'todo') = 'done' THEN coalesce({ts('resolved')}, {ts('updated')}) END AS first_done_at,
            coalesce(status_category_c, 'todo') = 'done' AND {ts('resolved')} IS NULL AND {ts('updated')} IS NOT NULL AS done_from_updated,
            {ts('due')} AS due_at,
            {sp_sql} AS story_points, {hours('original')} AS original_estimate_h,
            {hours('remaining')} AS remaining_estimate_h, {hours('spent')} AS time_spent_h,
            {col('assignee')} AS assignee, {col('reporter')} AS reporter,
            {lst('components')} AS components, {lst('labels')} AS labels, {lst('sprints')} AS sprints,
            {lst('fix_versions')} AS fix_versions, {parent_sql} AS parent_key, {col('found_phase')} AS found_phase,
            CASE WHEN lower({col('status')}) IN ('reopened', '重新打开', '已重新打开') THEN 1 END AS reopen_count,
            rownum
        FROM mapped {parent_join}
    """, {"tz": ctx.source_tz})
    warnings += _report(cur, rows, header, single)

    cur.execute("""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT DISTINCT project_key, unnest(sprints) AS name, NULL::VARCHAR AS state,
               NULL::TIMESTAMPTZ AS start_at, NULL::TIMESTAMPTZ AS end_at, NULL::TIMESTAMPTZ AS completed_at
        FROM stage_issues""")
    has_sprints = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0
    has_worklogs = _stage_worklogs(cur, multi, key_i, choice, ctx)
    return Staged(source_format="jira-csv", rows=rows, warnings=warnings, project_names=names,
                  tracker="jira", has_sprints=has_sprints, has_worklogs=has_worklogs)


def _stage_worklogs(cur, multi, key_i: int, choice, ctx) -> bool:
    """`Log Work` cells are `<comment>;dd/MMM/yy h:mm AM;<author>;<seconds>`: read from the right, since the
    comment may itself contain semicolons."""
    idx = multi.get("log_work") or []
    if not idx:
        return False
    cells = " UNION ALL ".join(f"SELECT project_key, c{key_i} AS issue_key, c{i} AS cell FROM raw_p "
                               f"WHERE c{i} IS NOT NULL" for i in idx)
    when = f"coalesce({dates.parse_sql('p[-3]', 'jira')}, {dates.parse_sql('p[-3]', choice.family or 'iso')})"
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_worklogs AS
        SELECT project_key, issue_key, timezone($tz, {when}) AS started_at,
               p[-2] AS author, try_cast(p[-1] AS DOUBLE) / 3600.0 AS hours
        FROM (SELECT project_key, issue_key, string_split(cell, ';') AS p FROM ({cells}))
        WHERE len(p) >= 4 AND try_cast(p[-1] AS DOUBLE) IS NOT NULL""", {"tz": ctx.source_tz})
    return cur.execute("SELECT count(*) FROM stage_worklogs").fetchone()[0] > 0


def _report(cur, rows: int, header: list[str], single: dict[str, int]) -> list[dict]:
    """Everything the import understood only partly, as warnings for the import report."""
    out = []
    dups = cur.execute("SELECT count(*) FROM stage_issues").fetchone()[0]
    if dups < rows:
        out.append(warning("duplicate_keys", count=rows - dups))
    for kind, flag, raw in (("status", "status_unmapped", "status_raw"), ("type", "type = 'other' AND type_raw IS NOT NULL", "type_raw"),
                            ("resolution", "resolution_unmapped", "resolution_raw")):
        values = cur.execute(f"SELECT {raw}, count(*) FROM stage_issues WHERE {flag} AND {raw} IS NOT NULL "
                             "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        if values:
            out.append(warning(f"unmapped_{kind}", values=[v[0] for v in values],
                               count=sum(v[1] for v in values)))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE done_from_updated").fetchone()[0]
    if n:
        out.append(warning("done_date_from_updated", count=n))
    if "created" not in single:
        out.append(warning("missing_column", column="Created"))
    # G6/G7: points count on standard issues only, so coverage is over those too.
    est = cur.execute("SELECT count(*) FILTER (WHERE story_points IS NOT NULL), count(*) FROM stage_issues "
                      "WHERE type NOT IN ('epic', 'subtask')").fetchone()
    out.append(warning("estimate_coverage", estimated=est[0], in_scope=est[1]))
    if "parent_id" in single and "parent_key" not in single:
        orphans = cur.execute(f"SELECT count(*) FROM raw_p r JOIN stage_issues s ON s.rownum = r.rownum "
                              f"WHERE r.c{single['parent_id']} IS NOT NULL AND s.parent_key IS NULL").fetchone()[0]
        if orphans:
            out.append(warning("parent_not_in_file", count=orphans))
    return out


def _execute(cur, sql: str, params: dict) -> None:
    # DuckDB refuses named parameters that the statement does not use.
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


register(Format("jira-csv", "csv", "Jira CSV export", "Jira CSV 导出", sniff, stage))
