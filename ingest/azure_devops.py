"""Azure DevOps Boards query "Export to CSV" onto the canonical model.

Reads FORMATS.md section 5 and METRICS.md G3-G6. The header is the query's column display names (first
column `ID`, then `Work Item Type`, `Title` or the tree query's `Title 1`, `Title 2`, ...); UTF-8 with BOM,
values all quoted (web export) or quoted only when needed (spreadsheet re-save), LF or CRLF, `,` (or `;`
in a comma-decimal locale, then `7,5` hours are read as 7.5).

* issue_key = ID; project = --project, else the first segment of Area Path (else of Iteration Path).
* State through the value maps with Azure's own defaults first: New/Proposed/Approved/To Do -> to do,
  Active/Committed/Doing -> in progress (a ZenTao bug's "active" stays to do), Resolved/Closed/Done/Removed
  -> done; custom states (`Analysis/Design`, `UAT`, `PIR`, ...) are reported until mapped in Settings.
  Removed is done with resolution "Removed" (invalid); any other done item takes `Reason` as its resolution
  (`Fixed`, `Duplicate`, `As Designed`, `Cut`, ...; no Reason column: no resolution).
* Work Item Type: User Story / Product Backlog Item / Issue (Basic process) -> story, Bug -> bug, Task ->
  subtask (Azure tasks are the children of backlog items, outside points and issue counts as in Boards'
  own velocity, G6), Feature / Epic -> epic, Requirement -> requirement, Change Request -> change.
* Assigned To / Created By `Name <email>` -> Name. Tags `a; b` -> labels. Area Path -> components (its last
  segment; the bare project root is no component). Iteration Path `Proj\\Team\\Sprint 2` -> sprints (last
  segment; the bare root is no sprint). Story Points / Effort / Size -> story_points (first present).
  Original Estimate / Remaining Work / Completed Work are hours.
* Dates (Created, Changed, Resolved, Closed, State Change, Activated, Due/Target) are in the exporting user's
  locale and time zone (`8/12/2025 7:00:00 AM`): one date family per file (ingest/dates.py), read in the
  source time zone. done_at = Resolved Date, else Closed Date, else State Change Date, else Changed Date
  (reported as done_date_from_updated); first_done_at is the same (the CSV has no history).
* Parent: the `Parent` column (an ID) where the query has it; in a tree query (`Title 1`, `Title 2`, ...) the
  row's level is its non-empty Title column and its parent is the nearest row above one level up.
* Reopens: the CSV shows the current state only (FORMATS.md 5). reopen_count is 1 (at least once) when
  `Reason` says Reactivated / Regression / Reopened, else unknown (NULL).
"""
from __future__ import annotations

import re

import duckdb

from ingest import dates
from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, warning
from ingest.gitlab import (bad_values, execute, finish_issues, header_index, hours_sql, infer_dates, literal,
                           names_only_sprints, number_sql, read_raw, report, split_list_sql)
from ingest.value_maps import create_map_table
from store.load import Staged

SINGLE = {
    "id": ["id"], "type": ["work item type"], "title": ["title"], "assignee": ["assigned to"],
    "state": ["state"], "reason": ["reason"], "tags": ["tags"], "area": ["area path"],
    "iteration": ["iteration path"], "original": ["original estimate"], "remaining": ["remaining work"],
    "completed": ["completed work"], "created": ["created date"], "changed": ["changed date"],
    "closed": ["closed date"], "resolved": ["resolved date"], "activated": ["activated date"],
    "state_change": ["state change date"], "due": ["due date", "target date"], "priority": ["priority"],
    "severity": ["severity"], "parent": ["parent"], "reporter": ["created by"],
}
STORY_POINTS = ["story points", "effort", "size"]
_TITLE_LEVEL = re.compile(r"^title (\d+)$", re.I)
DATE_FIELDS = ("created", "changed", "closed", "resolved", "activated", "state_change", "due")
REOPEN_REASONS = ("reactivated", "regression", "reopened")

# Azure's words where they mean something else in another tracker (value_maps tracker defaults).
TRACKER_DEFAULTS = {
    "status": {"in_progress": ["active", "committed", "doing"], "todo": ["new", "proposed", "approved", "to do"],
               "done": ["resolved", "closed", "done", "removed"]},
    "type": {"subtask": ["task"], "epic": ["feature", "epic"], "story": ["issue", "product backlog item",
                                                                          "user story"]},
}


def sniff(p: Probe) -> bool:
    header = [h.strip().lower() for h in p.header or []]
    return (bool(header) and header[0] == "id" and "work item type" in header
            and ("title" in header or any(_TITLE_LEVEL.match(h) for h in header)))


def _person(expr: str) -> str:
    """`Display Name <email>` -> `Display Name` (a bare e-mail or name stays as it is)."""
    return f"nullif(trim(regexp_replace({expr}, '\\s*<[^<>]*>\\s*$', '')), '')"


def _segments(expr: str) -> str:
    return f"list_filter(list_transform(string_split({expr}, '\\'), lambda x: trim(x)), lambda x: x <> '')"


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    header = probe.header
    lower = [h.strip().lower() for h in header]
    col_i = header_index(header, SINGLE)
    sp = [lower.index(n) for n in STORY_POINTS if n in lower]
    levels = sorted((int(m.group(1)), i) for i, h in enumerate(lower) if (m := _TITLE_LEVEL.match(h)))
    rows = read_raw(cur, decoded, probe, sorted({*col_i.values(), *sp, *(i for _, i in levels)}))
    comma = probe.delimiter == ";"

    def col(field: str) -> str:
        return f"c{col_i[field]}" if field in col_i else "NULL"

    missing = cur.execute(f"SELECT min(rowid) - (SELECT min(rowid) FROM raw) FROM raw WHERE {col('id')} IS NULL").fetchone()[0]
    if missing is not None:
        raise IngestError("empty_key", decoded.file_name, row=missing + 2, column=header[col_i["id"]])
    first_seg = (f"coalesce({_segments(col('area'))}[1], {_segments(col('iteration'))}[1])")
    project_sql = literal(ctx.project_key) if ctx.project_key else first_seg
    cur.execute(f"CREATE OR REPLACE TEMP VIEW raw_p AS SELECT rowid - (SELECT min(rowid) FROM raw) AS rownum, {project_sql} AS project_key, * FROM raw")
    no_project = cur.execute("SELECT min(rownum) FROM raw_p WHERE project_key IS NULL").fetchone()[0]
    if no_project is not None:
        raise IngestError("project_unknown", decoded.file_name, row=no_project + 2)
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM raw_p ORDER BY 1").fetchall()]
    create_map_table(cur, projects, TRACKER_DEFAULTS)
    warnings: list[dict] = []

    date_cols = {f: col(f) for f in DATE_FIELDS if f in col_i}
    family, w = infer_dates(cur, "raw_p", date_cols, col("created") if "created" in col_i else None,
                            col("changed") if "changed" in col_i else None)
    warnings += w

    def ts(field: str) -> str:
        if field not in col_i or family is None:
            return "NULL::TIMESTAMPTZ"
        return f"timezone($tz, {dates.parse_sql(col(field), family)})"

    # Title and level: `Title` or the tree query's first non-empty `Title n`.
    if "title" in col_i or not levels:
        title, level = col("title"), "1"
    else:
        title = f"coalesce({', '.join(f'c{i}' for _, i in levels)})"
        level = "CASE " + " ".join(f"WHEN c{i} IS NOT NULL THEN {n}" for n, i in levels) + " END"
    if "parent" in col_i:
        parent = "nullif(regexp_extract(parent_raw, '([0-9]+)', 1), '')"
    elif len(levels) > 1:
        parent = "CASE lvl " + " ".join(
            f"WHEN {n} THEN last_value(CASE WHEN lvl = {prev} THEN id END IGNORE NULLS) OVER w"
            for (prev, _), (n, _) in zip(levels, levels[1:])) + " END"
    else:
        parent = "NULL"
    sp_sql = f"coalesce({', '.join(number_sql(f'c{i}', comma) for i in sp)})" if sp else "NULL::DOUBLE"
    state = f"lower(trim({col('state')}))"
    reason = col("reason")
    done_at = f"coalesce({ts('resolved')}, {ts('closed')}, {ts('state_change')})"
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE az_levels AS
        SELECT *, {parent} AS parent_id FROM (
            SELECT rownum, {col('id')} AS id, {level} AS lvl, {col('parent')} AS parent_raw FROM raw_p)
        WINDOW w AS (ORDER BY rownum ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)""")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE az_base AS
        SELECT r.rownum, r.project_key, {col('id')} AS issue_key, {title} AS title, {col('type')} AS type_raw,
               {col('state')} AS status_raw, NULL::VARCHAR AS status_alt,
               CASE WHEN {state} = 'removed' THEN 'Removed'
                    WHEN m.canonical = 'done' THEN {reason} END AS resolution_raw,
               {col('priority')} AS priority, {col('severity')} AS severity,
               {ts('created')} AS created_at, {ts('changed')} AS updated_at,
               {done_at} AS done_candidate, {done_at} AS first_done_candidate, {ts('due')} AS due_at,
               {sp_sql} AS story_points,
               {hours_sql(col('original'), unit='hours', decimal_comma=comma)} AS original_estimate_h,
               {hours_sql(col('remaining'), unit='hours', decimal_comma=comma)} AS remaining_estimate_h,
               {hours_sql(col('completed'), unit='hours', decimal_comma=comma)} AS time_spent_h,
               {_person(col('assignee'))} AS assignee, {_person(col('reporter'))} AS reporter,
               CASE WHEN len({_segments(col('area'))}) > 1 THEN [{_segments(col('area'))}[-1]] ELSE []::VARCHAR[] END
                   AS components,
               {split_list_sql(col('tags'), ';')} AS labels,
               CASE WHEN len({_segments(col('iteration'))}) > 1 THEN [{_segments(col('iteration'))}[-1]]
                    ELSE []::VARCHAR[] END AS sprints,
               []::VARCHAR[] AS fix_versions, l.parent_id AS parent_key, NULL::VARCHAR AS found_phase,
               CASE WHEN lower(trim({reason})) IN ({', '.join(map(literal, REOPEN_REASONS))}) THEN 1 END AS reopen_count
        FROM raw_p r JOIN az_levels l USING (rownum)
        LEFT JOIN _maps m ON m.project_key = r.project_key AND m.kind = 'status' AND m.raw_value = {state}""",
            {"tz": ctx.source_tz})
    for field in date_cols:
        parsed = dates.parse_sql(col(field), family) if family else "NULL"
        warnings += bad_values(cur, "raw_p", col(field), parsed, header[col_i[field]])
    for field in ("original", "remaining", "completed"):
        if field in col_i:
            warnings += bad_values(cur, "raw_p", col(field), hours_sql(col(field), unit="hours", decimal_comma=comma),
                                   header[col_i[field]], "unparsable_numbers")
    for i in sp:
        warnings += bad_values(cur, "raw_p", f"c{i}", number_sql(f"c{i}", comma), header[i], "unparsable_numbers")
    if "parent" in col_i or len(levels) > 1:
        n = cur.execute("SELECT count(*) FROM az_base b WHERE parent_key IS NOT NULL AND NOT EXISTS "
                        "(SELECT 1 FROM az_base p WHERE p.issue_key = b.parent_key)").fetchone()[0]
        if n:
            warnings.append(warning("parent_not_in_file", count=n))
    finish_issues(cur, "az_base")
    warnings += report(cur, rows)
    has_sprints = names_only_sprints(cur)
    for t in ("az_levels", "az_base"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    cur.execute("DROP VIEW IF EXISTS raw_p")
    return Staged(source_format="azure-devops-csv", rows=rows, warnings=warnings, tracker="azure_devops",
                  has_sprints=has_sprints)


register(Format("azure-devops-csv", "csv", "Azure DevOps Boards query CSV export", "Azure DevOps Boards 查询 CSV 导出",
                sniff, stage))
