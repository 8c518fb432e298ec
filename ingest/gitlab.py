"""GitLab issues "Export as CSV" (all three header generations) and REST /projects/:id/issues JSON.

Reads FORMATS.md section 3 and METRICS.md G3-G6:

* `gitlab-csv`: `Issue ID,URL,Title,...` (<= 12.x), `Title,Description,Issue ID,URL,...` (up to 18.3) and the
  18.4+ work-items exporter `ID,IID,Title,Description,Type,URL,...,Parent ID,Parent IID,...`. issue_key is
  `#<IID>` (`#<Issue ID>` before 18.4: that column is the project-scoped number, as the URL shows); the
  project is --project, else the URL's path `group/project`. Dates are UTC as the headers say. `Time Estimate`
  and `Time Spent` are seconds, or human text (`1w 2d 3h 30m`, GitLab's units: 1mo = 4w, 1w = 5d, 1d = 8h);
  an estimate of 0 is GitLab's "not estimated" and becomes empty, time spent 0 stays 0. `Weight` ->
  story_points. The work-items `Parent ID` names the parent by global id: parent_key is set only when that
  parent is a row of the file (an epic parent lives outside the project; its IID would collide).
* `gitlab-json`: the REST issues list (a list, pages as a list of lists, or JSON Lines): `iid`, `state`
  opened/closed, `closed_at`, `labels`, `milestone`, `weight`, `time_stats` (seconds), `issue_type`,
  `iteration` (a sprint, with its dates into the sprints table), `severity`, `_links.closed_as_duplicate_of`
  (-> resolution "duplicate"), `moved_to_id` (-> resolution "moved", invalid: the issue lives on elsewhere).

Labels (both formats; shared with the GitHub adapter): the labels list keeps every label as written. Scoped
labels `scope::value` (also `scope: value` and `scope/value`, as GitHub projects write them) fill fields:
type|kind -> type, priority|prio -> priority, severity|sev -> severity, status|workflow|state -> status
(open issues only: a closed issue is closed whatever its workflow label says; plain board-list labels such
as GitLab's default `To Do` / `Doing` count too, after scoped ones), sprint|iteration -> sprints,
component|area|module -> components, resolution -> resolution. Plain labels fill what no scoped label did:
a label that is a known type name (`bug`, `enhancement`, `feature`; a bug label first) -> type, `P0`-`P4` or
`priority-high` -> priority, `S1`-`S4`, `sev-2` or `severity-high` -> severity, and on closed issues a label
naming a not-delivered resolution (`duplicate`, `invalid`, `wontfix`) -> resolution. The first label (in the
export's order) wins within a kind. A workflow value like `4 - scheduled` is mapped as written, else without
its leading step number (`scheduled`). Label names containing a comma cannot be told apart in the CSV.

Milestone -> fix_versions. Teams that run sprints as milestones: a milestone is also a sprint when its name
says so (`Sprint 3`, `Iteration 7`, 迭代, 冲刺), or, in JSON (and only when the file has no iterations), when it
has a start and a due date at most 35 days apart (the sprint's dates are then imported too). Reported as
`milestones_as_sprints`. Reopens cannot be seen in either export (FORMATS.md 3.3): reopen_count is NULL.

This module also holds the helpers the GitHub, Azure DevOps and Redmine adapters share (CSV reading into a
positional `raw` table, hours parsing, label facets, the canonical finish into stage_issues, the report).
"""
from __future__ import annotations

import re
from typing import Any

import duckdb
import pyarrow as pa

from ingest import dates
from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, csv_read_error, warning
from ingest.value_maps import create_map_table, join_map
from store.load import Staged

# ====================================================================================================
# Shared helpers (used by github.py, azure_devops.py, redmine.py)
# ====================================================================================================

SPRINT_NAME_RE = r"(?i)(sprint|iteration|迭代|冲刺)"
MAX_SPRINT_DAYS = 35

# Canonical base table every adapter here builds before `finish_issues` (stage_issues has these plus flags).
BASE_COLUMNS = (
    "rownum", "project_key", "issue_key", "title", "type_raw", "status_raw", "status_alt", "resolution_raw",
    "priority", "severity", "created_at", "updated_at", "done_candidate", "first_done_candidate", "due_at",
    "story_points", "original_estimate_h", "remaining_estimate_h", "time_spent_h", "assignee", "reporter",
    "components", "labels", "sprints", "fix_versions", "parent_key", "found_phase", "reopen_count",
)


def execute(cur, sql: str, params: dict | None = None):
    """DuckDB refuses named parameters that the statement does not use: pass only those it names."""
    params = params or {}
    return cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def header_index(header: list[str], names: dict[str, list[str]]) -> dict[str, int]:
    """field -> position of the first header (trimmed, case-insensitive) among its names."""
    lower = [h.strip().lower() for h in header]
    out = {}
    for field, candidates in names.items():
        for name in candidates:
            if name in lower:
                out[field] = lower.index(name)
                break
    return out


def read_raw(cur, decoded, probe: Probe, needed: list[int]) -> int:
    """The CSV's records as temp table `raw` with positional columns c<i> (trimmed, '' -> NULL); the count.
    Its rowid is the record's position in the file (the header being row 1, record r is file row r + 2).
    No sniffing (auto_detect = false): DuckDB's sniffer fails on a header without rows or on a broken row with
    "Error when sniffing file" instead of naming the row."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(probe.header))) + "}"
    cols = ", ".join(f"nullif(trim(c{i}), '') AS c{i}" for i in needed) or "1 AS c_none"
    try:
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE raw AS
            SELECT {cols} FROM read_csv($path, header = false, skip = 1, auto_detect = false, columns = {columns},
                delim = $delim, quote = '"', escape = '"', max_line_size = 33554432)""",
                    {"path": str(decoded.path), "delim": probe.delimiter})
    except duckdb.Error as exc:
        raise csv_read_error(exc, decoded.file_name, decoded.path) from None
    rows = cur.execute("SELECT count(*) FROM raw").fetchone()[0]
    if rows == 0:
        raise IngestError("no_rows", decoded.file_name)
    return rows


def number_sql(expr: str, decimal_comma: bool = False) -> str:
    """Numeric text -> DOUBLE (NULL when not a number); `1,50` read as 1.5 where the file uses decimal commas."""
    if decimal_comma:
        return f"try_cast(replace({expr}, ',', '.') AS DOUBLE)"
    return f"try_cast({expr} AS DOUBLE)"


def hours_sql(expr: str, *, unit: str, decimal_comma: bool = False) -> str:
    """A duration text -> hours. unit='seconds': plain numbers are seconds (GitLab); unit='hours': plain
    numbers are hours (Azure DevOps, Redmine, `1.50` or `1,50`), `1:30` is h:mm (Redmine's time span format).
    Human text `1w 2d 3h 30m` uses GitLab's units (1mo = 4w, 1w = 5d, 1d = 8h)."""
    plain = number_sql(expr, decimal_comma)
    scale = " / 3600.0" if unit == "seconds" else ""
    human = (f"list_sum(list_transform(list_zip("
             f"regexp_extract_all(lower({expr}), '([0-9]+(?:[.,][0-9]+)?)\\s*(mo|w|d|h|m|s)', 1), "
             f"regexp_extract_all(lower({expr}), '([0-9]+(?:[.,][0-9]+)?)\\s*(mo|w|d|h|m|s)', 2)), "
             f"lambda p: try_cast(replace(p[1], ',', '.') AS DOUBLE) * CASE p[2] WHEN 'mo' THEN 160 "
             f"WHEN 'w' THEN 40 WHEN 'd' THEN 8 WHEN 'h' THEN 1 WHEN 'm' THEN 1 / 60.0 ELSE 1 / 3600.0 END))")
    hmm = (f"try_cast(split_part(trim({expr}), ':', 1) AS DOUBLE)"
           f" + try_cast(split_part(trim({expr}), ':', 2) AS DOUBLE) / 60")
    return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN {plain} IS NOT NULL THEN {plain}{scale} "
            f"WHEN regexp_full_match(trim({expr}), '[0-9]+:[0-5][0-9]') THEN {hmm} "
            f"WHEN regexp_matches(lower({expr}), '[0-9]\\s*(mo|w|d|h|m|s)') THEN {human} END")


def bad_values(cur, table: str, raw_sql: str, parsed_sql: str, column: str, code: str = "unparsable_dates",
               rownum_offset: int = 2) -> list[dict]:
    """A warning naming the values of `raw_sql` that did not parse (file rows = rownum + rownum_offset)."""
    n, rows, example = cur.execute(
        f"SELECT count(*), list(rownum + {rownum_offset} ORDER BY rownum)[1:10], arg_min({raw_sql}, rownum) "
        f"FROM {table} WHERE {raw_sql} IS NOT NULL AND ({parsed_sql}) IS NULL").fetchone()
    return [warning(code, column=column, count=n, rows=rows, example=example)] if n else []


def iso_ts(expr: str) -> str:
    """ISO text -> TIMESTAMPTZ: with an offset (`Z`, `+08:00`) as written, else in the source zone ($tz)."""
    return (f"CASE WHEN regexp_matches({expr}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
            f"THEN try_cast({expr} AS TIMESTAMPTZ) ELSE timezone($tz, try_cast({expr} AS TIMESTAMP)) END")


def day_start(expr: str) -> str:
    """A `YYYY-MM-DD` text -> 00:00 of that day in the source zone."""
    return f"timezone($tz, try_cast(try_cast({expr} AS DATE) AS TIMESTAMP))"


def day_end(expr: str) -> str:
    """A `YYYY-MM-DD` text -> the last instant of that day in the source zone (as sprint ends are kept)."""
    return (f"timezone($tz, try_cast(try_cast({expr} AS DATE) + INTERVAL 1 DAY AS TIMESTAMP)"
            f" - INTERVAL 1 MILLISECOND)")


def load_rows(cur, name: str, rows: list[dict], schema: pa.Schema) -> None:
    """A temp table from Python rows through a registered Arrow table (values never enter the SQL text)."""
    table = pa.Table.from_pylist(rows, schema=schema)
    view = f"{name}_arrow"
    cur.complete()
    cur.register(view, table)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        cur.unregister(view)


def split_list_sql(expr: str, sep: str) -> str:
    """`a, b` -> ['a', 'b'] (trimmed, empty parts dropped); NULL -> []."""
    return (f"coalesce(list_filter(list_transform(string_split({expr}, {literal(sep)}), lambda x: trim(x)), "
            f"lambda x: x <> ''), []::VARCHAR[])")


# --- Labels -------------------------------------------------------------------------------------------

SCOPES = {
    "type": ("type", "kind", "issue type", "issue-type", "类型"),
    "priority": ("priority", "prio", "pri", "优先级"),
    "severity": ("severity", "sev", "严重程度", "严重级别"),
    "status": ("status", "workflow", "state", "状态"),
    "sprint": ("sprint", "iteration", "迭代", "冲刺"),
    "component": ("component", "area", "module", "模块", "组件"),
    "resolution": ("resolution", "解决方案"),
}

# Plain labels that are board lists (GitLab's default "To Do"/"Doing" lists, GitHub project columns) and so
# say where an open issue stands; any other plain label is not read as a status ("testing", "pending" and
# "new" more often say what an issue is about).
BOARD_LABELS = ("to do", "todo", "doing", "in progress", "in review", "in dev", "in development", "in testing",
                "in qa", "blocked", "ready for review", "ready for development", "待办", "进行中", "处理中")


def _in(values) -> str:
    return "(" + ", ".join(literal(v) for v in values) + ")"


def _plain_level(word: str, short: str) -> tuple[str, str]:
    """(value SQL, condition SQL) for a plain label naming a priority/severity level: `P1` / `S1` (matching
    `short`) is kept whole, `priority-high` and `high priority` give `high`."""
    value = (f"CASE WHEN regexp_full_match(low, '{short}') THEN text ELSE coalesce("
             f"nullif(regexp_extract(text, '(?i)^{word}[ _-]+(.+)$', 1), ''), "
             f"nullif(regexp_extract(text, '(?i)^(.+?)[ _-]+{word}$', 1), '')) END")
    return value, f"scope = '' AND regexp_full_match(low, '{short}|{word}[ _-]+.+|.+[ _-]+{word}')"


def label_facets(cur, src: str) -> None:
    """Temp table `lbl(rownum, type_label, type_scoped, priority_label, severity_label, status_label,
    status_label_alt, sprint_labels, component_labels, resolution_label)` from `src(rownum, project_key,
    labels)`; needs `_maps`. The rules are in this module's docstring."""
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE lbl_items AS
        SELECT rownum, project_key, pos, trim(label) AS text, lower(trim(label)) AS low,
               lower(trim(p.s)) AS scope, trim(p.v) AS val FROM (
            SELECT rownum, project_key, label, pos,
                   regexp_extract(label, '^\\s*([^:/]+?)\\s*(?:::|:|/)\\s*(.+)$', ['s', 'v']) AS p
            FROM (SELECT rownum, project_key, unnest(labels) AS label, generate_subscripts(labels, 1) AS pos
                  FROM {src}))""")

    def scoped(kind: str) -> str:
        return f"scope IN {_in(SCOPES[kind])}"

    prio, prio_if = _plain_level("priority", "p[0-4]")
    sev, sev_if = _plain_level("severity", "(s|sev)[ _-]?[0-4]")
    status_rank = "CASE scope WHEN 'status' THEN 0 WHEN '状态' THEN 0 WHEN 'workflow' THEN 1 WHEN '' THEN 3 ELSE 2 END"
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE lbl_g AS
        SELECT rownum,
            arg_min(val, pos) FILTER (WHERE {scoped('type')}) AS type_scoped,
            arg_min(text, (CASE WHEN mt.canonical = 'bug' THEN 0 ELSE 1 END, pos))
                FILTER (WHERE scope = '' AND mt.canonical IS NOT NULL) AS type_plain,
            coalesce(arg_min(val, pos) FILTER (WHERE {scoped('priority')}),
                     arg_min({prio}, pos) FILTER (WHERE {prio_if})) AS priority_label,
            coalesce(arg_min(val, pos) FILTER (WHERE {scoped('severity')}),
                     arg_min({sev}, pos) FILTER (WHERE {sev_if})) AS severity_label,
            arg_min(CASE WHEN scope = '' THEN text ELSE val END, ({status_rank}, pos))
                FILTER (WHERE {scoped('status')} OR (scope = '' AND low IN {_in(BOARD_LABELS)})) AS status_label,
            list(val ORDER BY pos) FILTER (WHERE {scoped('sprint')}) AS sprint_labels,
            list(val ORDER BY pos) FILTER (WHERE {scoped('component')}) AS component_labels,
            coalesce(arg_min(val, pos) FILTER (WHERE {scoped('resolution')}),
                     arg_min(text, pos) FILTER (WHERE scope = '' AND mr.canonical IN ('invalid', 'valid_not_fixed'))
                    ) AS resolution_label
        FROM lbl_items l
        LEFT JOIN _maps mt ON mt.project_key = l.project_key AND mt.kind = 'type' AND mt.raw_value = l.low
        LEFT JOIN _maps mr ON mr.project_key = l.project_key AND mr.kind = 'resolution' AND mr.raw_value = l.low
        GROUP BY rownum""")
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE lbl AS
        SELECT s.rownum, coalesce(l.type_scoped, l.type_plain) AS type_label, l.type_scoped, l.priority_label,
               l.severity_label, l.status_label,
               nullif(regexp_replace(l.status_label, '^\\s*[0-9A-Za-z]{{1,2}}\\s*[-.)]\\s+', ''), l.status_label)
                   AS status_label_alt,
               coalesce(l.sprint_labels, []::VARCHAR[]) AS sprint_labels,
               coalesce(l.component_labels, []::VARCHAR[]) AS component_labels, l.resolution_label
        FROM (SELECT DISTINCT rownum FROM {src}) s LEFT JOIN lbl_g l USING (rownum)""")
    cur.execute("DROP TABLE IF EXISTS lbl_items")
    cur.execute("DROP TABLE IF EXISTS lbl_g")


# --- Canonical finish ----------------------------------------------------------------------------------

def finish_issues(cur, base: str) -> None:
    """stage_issues from `base` (BASE_COLUMNS): raw values through `_maps` (G3 status category, G5 resolution
    class, type), done_at/first_done_at only while done (G4), the last record of a repeated key kept."""
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        WITH m AS (
            SELECT b.*, coalesce(m_status.canonical, m_alt.canonical) AS cat_c, m_type.canonical AS type_c,
                   m_res.canonical AS res_c
            FROM {base} b
            {join_map('m_status', 'status', 'b.status_raw', 'b.project_key')}
            {join_map('m_alt', 'status', 'b.status_alt', 'b.project_key')}
            {join_map('m_type', 'type', 'b.type_raw', 'b.project_key')}
            {join_map('m_res', 'resolution', 'b.resolution_raw', 'b.project_key')}
            QUALIFY row_number() OVER (PARTITION BY b.project_key, b.issue_key ORDER BY b.rownum DESC) = 1
        ), d AS (
            SELECT *, coalesce(cat_c, 'todo') AS cat,
                   CASE WHEN coalesce(cat_c, 'todo') = 'done' THEN coalesce(done_candidate, updated_at) END AS done_c
            FROM m
        )
        SELECT project_key, issue_key, title, coalesce(type_c, 'other') AS type, type_raw, status_raw,
               cat AS status_category, cat_c IS NULL AS status_unmapped,
               resolution_raw,
               CASE WHEN resolution_raw IS NULL THEN NULL ELSE coalesce(res_c, 'delivered') END AS resolution_class,
               resolution_raw IS NOT NULL AND res_c IS NULL AS resolution_unmapped,
               priority, severity, created_at, updated_at, done_c AS done_at,
               CASE WHEN done_c IS NOT NULL THEN least(coalesce(first_done_candidate, done_c), done_c) END
                   AS first_done_at,
               cat = 'done' AND done_candidate IS NULL AND updated_at IS NOT NULL AS done_from_updated,
               due_at, story_points, original_estimate_h, remaining_estimate_h, time_spent_h, assignee, reporter,
               components, labels, sprints, fix_versions, parent_key, found_phase, reopen_count::INTEGER AS reopen_count,
               rownum
        FROM d""")


def key_and_mapping_warnings(cur, rows: int) -> list[dict]:
    """Repeated keys and raw status/type/resolution values no mapping knows (stage_issues' flag columns)."""
    out = []
    kept = cur.execute("SELECT count(*) FROM stage_issues").fetchone()[0]
    if kept < rows:
        out.append(warning("duplicate_keys", count=rows - kept))
    for kind, flag, raw in (("status", "status_unmapped", "status_raw"),
                            ("type", "type = 'other' AND type_raw IS NOT NULL", "type_raw"),
                            ("resolution", "resolution_unmapped", "resolution_raw")):
        values = cur.execute(f"SELECT {raw}, count(*) FROM stage_issues WHERE {flag} AND {raw} IS NOT NULL "
                             "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        if values:
            out.append(warning(f"unmapped_{kind}", values=[v[0] for v in values], count=sum(v[1] for v in values)))
    return out


def report(cur, rows: int, *, coverage: bool = True) -> list[dict]:
    """The warnings every adapter gives: repeated keys, unmapped raw values, done dates taken from Updated,
    story-point coverage over standard issues (G6/G7)."""
    out = key_and_mapping_warnings(cur, rows)
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE done_from_updated").fetchone()[0]
    if n:
        out.append(warning("done_date_from_updated", count=n))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE status_category = 'done' AND done_at IS NULL").fetchone()[0]
    if n:
        out.append(warning("done_date_missing", count=n))
    if coverage:
        est = cur.execute("SELECT count(*) FILTER (WHERE story_points IS NOT NULL), count(*) FROM stage_issues "
                          "WHERE type NOT IN ('epic', 'subtask')").fetchone()
        out.append(warning("estimate_coverage", estimated=est[0], in_scope=est[1]))
    return out


def names_only_sprints(cur) -> bool:
    """stage_sprints from the sprint names on stage_issues (a CSV knows no sprint dates)."""
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT DISTINCT project_key, unnest(sprints) AS name, NULL::VARCHAR AS state,
               NULL::TIMESTAMPTZ AS start_at, NULL::TIMESTAMPTZ AS end_at, NULL::TIMESTAMPTZ AS completed_at
        FROM stage_issues""")
    return cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0


def infer_dates(cur, table: str, cols: dict[str, str], created: str | None,
                updated: str | None) -> tuple[str | None, list[dict]]:
    """One date family for the file's `cols` (field -> raw SQL column), voted on every value (these exports
    are small: GitLab mails at most 15 MB, Redmine caps exports at its issues_export_limit); a warning when
    the day/month order is a guess."""
    choice = dates.infer_family(cur, table, list(cols.values()), created, updated)
    warns = [warning("date_order_ambiguous", assumed=choice.family)] if choice.ambiguous else []
    return choice.family, warns


# ====================================================================================================
# GitLab CSV
# ====================================================================================================

CSV_SINGLE = {
    "issue_id": ["issue id"], "iid": ["iid"], "id": ["id"], "url": ["url"], "title": ["title"],
    "type": ["type"], "state": ["state"], "author": ["author"], "assignee": ["assignee"],
    "due": ["due date"], "created": ["created at (utc)"], "updated": ["updated at (utc)"],
    "closed": ["closed at (utc)"], "milestone": ["milestone"], "weight": ["weight"], "labels": ["labels"],
    "estimate": ["time estimate"], "spent": ["time spent"], "parent_id": ["parent id"],
    "parent_iid": ["parent iid"],
}
_URL_PROJECT = r"^[A-Za-z][A-Za-z0-9+.-]*://[^/]+/(.+?)(?:/-)?/(?:issues|work_items|incidents)/[0-9]+"


def sniff_csv(p: Probe) -> bool:
    lower = {h.strip().lower() for h in p.header or []}
    if "created at (utc)" not in lower or "issue key" in lower:
        return False
    return ("issue id" in lower and "url" in lower) or "iid" in lower


def stage_csv(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    header = probe.header
    col_i = header_index(header, CSV_SINGLE)
    key_field = "iid" if "iid" in col_i else "issue_id" if "issue_id" in col_i else None
    if key_field is None:
        raise IngestError("missing_column", decoded.file_name, column="IID")
    rows = read_raw(cur, decoded, probe, sorted(set(col_i.values())))

    def col(field: str) -> str:
        return f"c{col_i[field]}" if field in col_i else "NULL"

    key = col(key_field)
    missing = cur.execute(f"SELECT min(rowid) - (SELECT min(rowid) FROM raw) FROM raw WHERE {key} IS NULL").fetchone()[0]
    if missing is not None:
        raise IngestError("empty_key", decoded.file_name, row=missing + 2, column=header[col_i[key_field]])
    project_sql = (literal(ctx.project_key) if ctx.project_key else
                   f"nullif(regexp_extract({col('url')}, '{_URL_PROJECT}', 1), '')")
    cur.execute(f"CREATE OR REPLACE TEMP VIEW raw_p AS SELECT rowid - (SELECT min(rowid) FROM raw) AS rownum, {project_sql} AS project_key, * FROM raw")
    no_project = cur.execute("SELECT min(rownum) FROM raw_p WHERE project_key IS NULL").fetchone()[0]
    if no_project is not None:
        raise IngestError("project_unknown", decoded.file_name, row=no_project + 2,
                          column=header[col_i["url"]] if "url" in col_i else None)
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM raw_p ORDER BY 1").fetchall()]
    create_map_table(cur, projects)
    warnings: list[dict] = []

    date_cols = {f: col(f) for f in ("created", "updated", "closed", "due") if f in col_i}
    family, w = infer_dates(cur, "raw_p", date_cols, col("created") if "created" in col_i else None,
                            col("updated") if "updated" in col_i else None)
    warnings += w

    def utc(field: str) -> str:
        if field not in col_i or family is None:
            return "NULL::TIMESTAMPTZ"
        return f"timezone('UTC', {dates.parse_sql(col(field), family)})"

    due = f"timezone($tz, {dates.parse_sql(col('due'), family)})" if "due" in col_i and family else "NULL::TIMESTAMPTZ"
    labels = split_list_sql(col("labels"), ",")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE gl_raw AS
        SELECT rownum, project_key, '#' || {key} AS issue_key, {col('id')} AS gid, {col('parent_id')} AS parent_gid,
               {col('title')} AS title, {col('type')} AS wi_type, lower({col('state')}) AS state,
               {labels} AS labels, {col('milestone')} AS milestone,
               {utc('created')} AS created_at, {utc('updated')} AS updated_at, {utc('closed')} AS closed_at,
               {due} AS due_at, {number_sql(col('weight'))} AS weight,
               {hours_sql(col('estimate'), unit='seconds')} AS estimate_h,
               {hours_sql(col('spent'), unit='seconds')} AS spent_h,
               {col('assignee')} AS assignee, {col('author')} AS author
        FROM raw_p""", {"tz": ctx.source_tz})
    for field in date_cols:
        parsed = dates.parse_sql(col(field), family) if family else "NULL"
        warnings += bad_values(cur, "raw_p", col(field), parsed, header[col_i[field]])
    for field in ("estimate", "spent", "weight"):
        if field in col_i:
            parsed = number_sql(col(field)) if field == "weight" else hours_sql(col(field), unit="seconds")
            warnings += bad_values(cur, "raw_p", col(field), parsed, header[col_i[field]], "unparsable_numbers")

    label_facets(cur, "gl_raw")
    sprint_like = f"regexp_matches(coalesce(g.milestone, ''), '{SPRINT_NAME_RE}')"
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE gl_base AS
        SELECT g.rownum, g.project_key, g.issue_key, g.title,
               {_type_sql('g.wi_type')} AS type_raw,
               CASE WHEN g.state = 'closed' THEN 'Closed' ELSE coalesce(l.status_label, 'Open') END AS status_raw,
               CASE WHEN g.state <> 'closed' THEN l.status_label_alt END AS status_alt,
               CASE WHEN g.state = 'closed' THEN l.resolution_label END AS resolution_raw,
               l.priority_label AS priority, l.severity_label AS severity,
               g.created_at, g.updated_at, g.closed_at AS done_candidate, NULL::TIMESTAMPTZ AS first_done_candidate,
               g.due_at, g.weight AS story_points, nullif(g.estimate_h, 0) AS original_estimate_h,
               NULL::DOUBLE AS remaining_estimate_h, g.spent_h AS time_spent_h, g.assignee, g.author AS reporter,
               l.component_labels AS components, g.labels,
               list_distinct(l.sprint_labels || CASE WHEN {sprint_like} THEN [g.milestone] ELSE []::VARCHAR[] END)
                   AS sprints,
               CASE WHEN g.milestone IS NULL THEN []::VARCHAR[] ELSE [g.milestone] END AS fix_versions,
               p.issue_key AS parent_key, NULL::VARCHAR AS found_phase, NULL::INTEGER AS reopen_count
        FROM gl_raw g JOIN lbl l USING (rownum)
        LEFT JOIN (SELECT gid, any_value(issue_key) AS issue_key FROM gl_raw WHERE gid IS NOT NULL GROUP BY 1) p
               ON p.gid = g.parent_gid""")
    if "parent_id" in col_i:
        n = cur.execute("SELECT count(*) FROM gl_raw g WHERE parent_gid IS NOT NULL AND NOT EXISTS "
                        "(SELECT 1 FROM gl_raw p WHERE p.gid = g.parent_gid)").fetchone()[0]
        if n:
            warnings.append(warning("parent_not_in_file", count=n))
    milestones = [r[0] for r in cur.execute(
        f"SELECT DISTINCT milestone FROM gl_raw g WHERE {sprint_like} ORDER BY 1").fetchall()]
    if milestones:
        warnings.append(warning("milestones_as_sprints", count=len(milestones), names=milestones[:10]))
    finish_issues(cur, "gl_base")
    warnings += report(cur, rows)
    has_sprints = names_only_sprints(cur)
    for t in ("gl_raw", "gl_base", "lbl"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    cur.execute("DROP VIEW IF EXISTS raw_p")
    return Staged(source_format="gitlab-csv", rows=rows, warnings=warnings, tracker="gitlab",
                  has_sprints=has_sprints)


def _type_sql(work_item_type: str) -> str:
    """type_raw: a scoped type label, else the work item's own type unless it is the generic "issue", else a
    plain label naming a type. Needs `l` (lbl) in scope."""
    generic = f"lower(replace(trim({work_item_type}), '_', ' '))"
    return (f"coalesce(l.type_scoped, CASE WHEN {generic} NOT IN ('issue') THEN {work_item_type} END, "
            f"l.type_label)")


# ====================================================================================================
# GitLab REST JSON
# ====================================================================================================

def top_level_items(doc: Any) -> list:
    """The top-level objects: a list, a list of pages (lists), or one object."""
    if isinstance(doc, dict):
        return [doc]
    if not isinstance(doc, list):
        return []
    out = []
    for x in doc:
        if isinstance(x, list):
            out.extend(x)
        else:
            out.append(x)
    return out


def _is_gl_issue(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("iid"), int) and obj.get("state") in ("opened", "closed", "locked")
            and ("web_url" in obj or "project_id" in obj) and "number" not in obj)


def _is_gl_mr(obj: Any) -> bool:
    return _is_gl_issue(obj) and ("merge_status" in obj or "source_branch" in obj
                                  or "/merge_requests/" in str(obj.get("web_url") or ""))


def sniff_json(p: Probe) -> bool:
    items = top_level_items(p.document)
    dicts = [x for x in items[:200] if isinstance(x, dict)]
    return bool(dicts) and len(dicts) == len(items[:200]) and all(_is_gl_issue(x) for x in dicts) and any(
        not _is_gl_mr(x) for x in dicts)


def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _label_names(v: Any) -> list[str]:
    out = []
    for x in v or []:
        name = x.get("name") if isinstance(x, dict) else x
        name = _text(name)
        if name and name not in out:
            out.append(name)
    return out


def _person(v: Any) -> str | None:
    if isinstance(v, dict):
        return _text(v.get("name")) or _text(v.get("username")) or _text(v.get("login"))
    return _text(v)


ITERATION_STATES = {1: "future", 2: "active", 3: "closed", "upcoming": "future", "started": "active",
                    "current": "active", "opened": "active", "closed": "closed"}

GL_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("project_key", pa.string()), ("issue_key", pa.string()), ("title", pa.string()),
    ("issue_type", pa.string()), ("state", pa.string()), ("labels", pa.list_(pa.string())),
    ("milestone", pa.string()), ("ms_start", pa.string()), ("ms_due", pa.string()), ("ms_state", pa.string()),
    ("iteration", pa.string()), ("created", pa.string()), ("updated", pa.string()), ("closed", pa.string()),
    ("due", pa.string()), ("weight", pa.float64()), ("estimate_s", pa.float64()), ("spent_s", pa.float64()),
    ("assignee", pa.string()), ("author", pa.string()), ("severity", pa.string()), ("duplicate", pa.bool_()),
    ("moved", pa.bool_()),
])
GL_SPRINTS = pa.schema([
    ("rownum", pa.int64()), ("name", pa.string()), ("state", pa.string()), ("start", pa.string()),
    ("due", pa.string()), ("kind", pa.string()),
])


def _gl_project(issue: dict) -> str | None:
    full = (issue.get("references") or {}).get("full") if isinstance(issue.get("references"), dict) else None
    if isinstance(full, str) and "#" in full:
        return full.rsplit("#", 1)[0] or None
    m = re.match(_URL_PROJECT, str(issue.get("web_url") or ""))
    if m:
        return m.group(1)
    return _text(issue.get("project_id"))


def stage_json(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    items = [x for x in top_level_items(probe.document) if isinstance(x, dict)]
    issues = [x for x in items if _is_gl_issue(x) and not _is_gl_mr(x)]
    skipped = len(items) - len(issues)
    if not issues:
        raise IngestError("no_issues", decoded.file_name)
    rows, sprint_rows = [], []
    for n, it in enumerate(issues):
        pk = ctx.project_key or _gl_project(it)
        if not pk:
            raise IngestError("project_unknown", decoded.file_name, row=n + 1)
        ms = it.get("milestone") if isinstance(it.get("milestone"), dict) else {}
        itr = it.get("iteration") if isinstance(it.get("iteration"), dict) else {}
        ts = it.get("time_stats") if isinstance(it.get("time_stats"), dict) else {}
        links = it.get("_links") if isinstance(it.get("_links"), dict) else {}
        assignees = [a for a in (_person(a) for a in it.get("assignees") or []) if a]
        it_name = None
        if itr:
            it_name = _text(itr.get("title")) or (
                f"{itr.get('start_date')} - {itr.get('due_date')}" if itr.get("start_date") else None)
            if it_name:
                sprint_rows.append({"rownum": n, "name": it_name, "state": ITERATION_STATES.get(itr.get("state")),
                                    "start": _text(itr.get("start_date")), "due": _text(itr.get("due_date")),
                                    "kind": "iteration"})
        severity = _text(it.get("severity"))
        rows.append({
            "rownum": n, "project_key": pk, "issue_key": f"#{it['iid']}", "title": _text(it.get("title")),
            "issue_type": _text(it.get("issue_type")), "state": it.get("state"),
            "labels": _label_names(it.get("labels")), "milestone": _text(ms.get("title")),
            "ms_start": _text(ms.get("start_date")), "ms_due": _text(ms.get("due_date")),
            "ms_state": _text(ms.get("state")), "iteration": it_name, "created": _text(it.get("created_at")),
            "updated": _text(it.get("updated_at")), "closed": _text(it.get("closed_at")),
            "due": _text(it.get("due_date")), "weight": _num(it.get("weight")),
            "estimate_s": _num(ts.get("time_estimate")), "spent_s": _num(ts.get("total_time_spent")),
            "assignee": ", ".join(assignees) or _person(it.get("assignee")), "author": _person(it.get("author")),
            "severity": None if severity is None or severity.upper() == "UNKNOWN" else severity,
            "duplicate": bool(links.get("closed_as_duplicate_of")), "moved": it.get("moved_to_id") is not None,
        })
    load_rows(cur, "gl_raw", rows, GL_SCHEMA)
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM gl_raw ORDER BY 1").fetchall()]
    create_map_table(cur, projects)
    params = {"tz": ctx.source_tz}
    warnings: list[dict] = []
    if skipped:
        warnings.append(warning("pull_requests_skipped", count=skipped))

    # Milestones as sprints: named so, or (no iterations in the file) dated at most MAX_SPRINT_DAYS apart.
    has_iterations = any(r["iteration"] for r in rows)
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE gl_ms AS
        SELECT DISTINCT milestone, ms_start, ms_due, ms_state,
               regexp_matches(milestone, '{SPRINT_NAME_RE}')
               OR (NOT $iter AND date_diff('day', try_cast(ms_start AS DATE), try_cast(ms_due AS DATE))
                   BETWEEN 0 AND {MAX_SPRINT_DAYS}) AS is_sprint
        FROM gl_raw WHERE milestone IS NOT NULL""", {"iter": has_iterations})
    cur.execute("""CREATE OR REPLACE TEMP TABLE gl_ms AS SELECT milestone, bool_or(coalesce(is_sprint, false)) AS is_sprint,
                   any_value(ms_start) AS ms_start, any_value(ms_due) AS ms_due, any_value(ms_state) AS ms_state
                   FROM gl_ms GROUP BY 1""")
    label_facets(cur, "gl_raw")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE gl_base AS
        SELECT g.rownum, g.project_key, g.issue_key, g.title, {_type_sql('g.issue_type')} AS type_raw,
               CASE WHEN g.state = 'closed' THEN 'closed' ELSE coalesce(l.status_label, g.state) END AS status_raw,
               CASE WHEN g.state <> 'closed' THEN l.status_label_alt END AS status_alt,
               CASE WHEN g.state <> 'closed' THEN NULL WHEN g.duplicate THEN 'duplicate' WHEN g.moved THEN 'moved'
                    ELSE l.resolution_label END AS resolution_raw,
               l.priority_label AS priority, coalesce(g.severity, l.severity_label) AS severity,
               {iso_ts('g.created')} AS created_at, {iso_ts('g.updated')} AS updated_at,
               {iso_ts('g.closed')} AS done_candidate, NULL::TIMESTAMPTZ AS first_done_candidate,
               {day_start('g.due')} AS due_at, g.weight AS story_points,
               nullif(g.estimate_s, 0) / 3600.0 AS original_estimate_h, NULL::DOUBLE AS remaining_estimate_h,
               g.spent_s / 3600.0 AS time_spent_h, g.assignee, g.author AS reporter,
               l.component_labels AS components, g.labels,
               list_distinct(CASE WHEN g.iteration IS NULL THEN []::VARCHAR[] ELSE [g.iteration] END || l.sprint_labels
                   || CASE WHEN ms.is_sprint THEN [g.milestone] ELSE []::VARCHAR[] END) AS sprints,
               CASE WHEN g.milestone IS NULL THEN []::VARCHAR[] ELSE [g.milestone] END AS fix_versions,
               NULL::VARCHAR AS parent_key, NULL::VARCHAR AS found_phase, NULL::INTEGER AS reopen_count
        FROM gl_raw g JOIN lbl l USING (rownum) LEFT JOIN gl_ms ms ON ms.milestone = g.milestone""", params)
    for raw, label in (("created", "created_at"), ("updated", "updated_at"), ("closed", "closed_at")):
        warnings += _json_bad_dates(cur, raw, iso_ts(raw), label, params)
    finish_issues(cur, "gl_base")
    warnings += report(cur, len(issues))

    milestones = [r[0] for r in cur.execute("SELECT milestone FROM gl_ms WHERE is_sprint ORDER BY 1").fetchall()]
    if milestones:
        warnings.append(warning("milestones_as_sprints", count=len(milestones), names=milestones[:10]))
    load_rows(cur, "gl_sprints_raw", sprint_rows, GL_SPRINTS)
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT project_key, name, state, start_at, end_at, completed_at FROM (
            SELECT i.project_key, s.name, s.state, {day_start('s.start')} AS start_at, {day_end('s.due')} AS end_at,
                   CASE WHEN s.state = 'closed' THEN {day_end('s.due')} END AS completed_at, 0 AS pref
            FROM gl_sprints_raw s JOIN gl_raw i USING (rownum)
            UNION ALL
            SELECT DISTINCT g.project_key, ms.milestone,
                   CASE WHEN ms.ms_state = 'closed' THEN 'closed'
                        WHEN try_cast(ms.ms_start AS DATE) > current_date THEN 'future' ELSE 'active' END,
                   {day_start('ms.ms_start')}, {day_end('ms.ms_due')}, NULL::TIMESTAMPTZ, 1
            FROM gl_ms ms JOIN gl_raw g ON g.milestone = ms.milestone WHERE ms.is_sprint
            UNION ALL     -- sprint:: labels: names only
            SELECT DISTINCT project_key, unnest(sprints), NULL, NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ,
                   NULL::TIMESTAMPTZ, 2 FROM stage_issues)
        QUALIFY row_number() OVER (PARTITION BY project_key, name ORDER BY pref, start_at NULLS LAST) = 1""", params)
    has_sprints = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0
    for t in ("gl_raw", "gl_base", "gl_ms", "gl_sprints_raw", "lbl"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return Staged(source_format="gitlab-json", rows=len(items), warnings=warnings, tracker="gitlab",
                  has_sprints=has_sprints)


def _json_bad_dates(cur, raw: str, parsed: str, column: str, params: dict) -> list[dict]:
    n, keys, example = execute(
        cur, f"SELECT count(*), list(issue_key ORDER BY rownum)[1:10], arg_min({raw}, rownum) FROM gl_raw "
             f"WHERE {raw} IS NOT NULL AND ({parsed}) IS NULL", params).fetchone()
    return [warning("unparsable_dates", column=column, count=n, rows=keys, example=example)] if n else []


register(Format("gitlab-csv", "csv", "GitLab issues CSV export", "GitLab 议题 CSV 导出", sniff_csv, stage_csv))
register(Format("gitlab-json", "json", "GitLab REST issues JSON", "GitLab REST 议题 JSON", sniff_json, stage_json))
