"""Jira "Export CSV" (all fields / current fields / Excel-resaved), onto the canonical model.

Reads FORMATS.md section 1: repeated headers (Sprint, Labels, Components, Fix versions and their older names)
become lists; story points come from whichever story-point column is present; time tracking is in seconds;
dates follow one pattern per file (ingest/dates.py); status -> status_category and resolution ->
resolution_class per METRICS.md G3/G5 with per-project overrides (ingest/value_maps.py). A CSV carries no
history: reopen_count is NULL (unknown) unless the status itself says Reopened.

All row work runs in DuckDB SQL over read_csv; Python only looks at the header. One pass: stage_issues is
built straight from read_csv by projections only (MAP lookups instead of joins keep the rows in file order,
so its rowid is the record number); the date format is voted on the first rows beforehand and checked on all
of them afterwards (bench/README.md has the measurements).
"""
from __future__ import annotations

import re

import duckdb

from ingest import dates
from ingest.decode import ProfileClock
from ingest.detect import NEAR_MISSES, Format, Probe, register
from ingest.errors import IngestError, csv_read_error, warning
from ingest.value_maps import lookup_sql
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
UNRESOLVED = "('unresolved', '未解决', 'none')"      # a Resolution cell that means "not resolved"


def sniff(p: Probe) -> bool:
    lower = {h.lower() for h in p.header or []}
    return KEY in lower and ID in lower


def near_miss(p: Probe) -> tuple[str, str] | None:
    """A Jira CSV without its `Issue key` (or `Issue id`) column: named, rather than called an unknown shape."""
    if p.kind != "csv":
        return None
    lower = {h.lower() for h in p.header or []}
    if len(lower & {"summary", "issue type", "status", "project key", "created", "resolution"}) < 2:
        return None
    if ID in lower and KEY not in lower:
        return "jira-csv", "Issue key"
    if KEY in lower and ID not in lower:
        return "jira-csv", "Issue id"
    return None


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


def _csv_source(probe: Probe, needed: list[int], project_sql: str) -> str:
    """The file's records as rows of trimmed text columns c<i> (NULL for empty) plus their project_key.
    Only projections follow read_csv, so rows stay in file order (a join would not keep them so).

    A record may be 32 MB long; the read buffer is set to 64 MB because DuckDB otherwise sizes it from
    max_line_size (measured on the 1M-row bench file: peak memory of the read 1.03 GB -> 0.77 GB, and a
    `LIMIT 4001` read 0.74 GB and 0.36 s -> 0.21 GB and 0.08 s).

    No sniffing (auto_detect = false, every column text): the dialect is known, and DuckDB's sniffer turns a file
    with a header and no rows, or a broken row, into "Error when sniffing file" instead of naming the row."""
    cols = ", ".join(f"nullif(trim(c{i}), '') AS c{i}" for i in needed)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(probe.header))) + "}"
    return f"""(SELECT {project_sql} AS project_key, * FROM (
        SELECT {cols} FROM read_csv($path, header = false, skip = 1, auto_detect = false, columns = {columns},
            delim = $delim, quote = '"', escape = '"', max_line_size = 33554432, buffer_size = 67108864)))"""


def _read(cur, decoded, probe: Probe, sql: str, params: dict) -> None:
    """Run a statement that reads the file; a file DuckDB cannot parse is refused with the row it names."""
    try:
        _execute(cur, sql, {"path": str(decoded.path), "delim": probe.delimiter, **params})
    except duckdb.Error as exc:
        raise csv_read_error(exc, decoded.file_name, decoded.path) from None


def _profile_sql_log(cur) -> None:
    """PULSE_PROFILE_SQL=DIR: DuckDB's own query log to DIR (times the loader's statements for bench/ingest.py)."""
    import os
    log_dir = os.environ.get("PULSE_PROFILE_SQL")
    if log_dir:
        cur.execute("CALL enable_logging('QueryLog', storage = 'file', storage_path = ?)", [log_dir])


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    _profile_sql_log(cur)
    total = ProfileClock()
    staged = _stage(cur, decoded, probe, ctx, ProfileClock())
    # Not in a `finally`: after a failed statement inside a caller's transaction any statement fails, and the
    # refusal must stay the error raised.
    cur.execute("DROP TABLE IF EXISTS _head")
    cur.execute("DROP TABLE IF EXISTS _dates")
    total.mark("stage_total")
    return staged


def _stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx, clock: ProfileClock) -> Staged:
    """Stage the file in one pass: stage_issues is built straight from read_csv (no copy of the raw text),
    with the date format chosen beforehand on the file's first rows and checked on all of them afterwards.
    The rowid of stage_issues is the record's position in the file (what `rownum` was)."""
    header = probe.header
    lower = [h.lower() for h in header]
    key_i = lower.index(KEY)
    id_i = lower.index(ID)
    if lower.count(KEY) > 1:
        # Two "Issue key" columns (a merged or hand-edited export): which one names the issue is unknown.
        at = [i + 1 for i, h in enumerate(lower) if h == KEY]
        raise IngestError("duplicate_key_column", decoded.file_name, column=header[key_i], count=len(at),
                          positions=at)
    single, multi, sp = _columns(header)
    needed = sorted({key_i, id_i, *single.values(), *sp, *(i for v in multi.values() for i in v)})
    warnings: list[dict] = []

    def col(field: str) -> str:
        return f"c{single[field]}" if field in single else "NULL"

    # Project: what the user said, else the file's Project key column, else the issue key's prefix.
    project_sql = (_literal(ctx.project_key) if ctx.project_key else
                   f"coalesce({col('project')}, regexp_extract(c{key_i}, '^(.+)-[0-9]+$', 1), c{key_i})")
    src = _csv_source(probe, needed, project_sql)
    date_fields = [f for f in ("created", "updated", "resolved", "due") if f in single]
    date_cols = [col(f) for f in date_fields]
    created_sql = col("created") if "created" in single else None
    updated_sql = col("updated") if "updated" in single else None

    # Dates: one family for the whole file. The first SAMPLE_ROWS records vote; a file no longer than that
    # votes whole (exactly as before), a longer one is checked below and re-voted in full if need be.
    head_cols = ", ".join(date_cols) if date_cols else "1 AS one"
    _read(cur, decoded, probe, f"CREATE OR REPLACE TEMP TABLE _head AS SELECT {head_cols} FROM {src} "
                               f"LIMIT {dates.SAMPLE_ROWS + 1}", {})
    head_rows = cur.execute("SELECT count(*) FROM _head").fetchone()[0]
    if head_rows == 0:
        raise IngestError("no_rows", decoded.file_name)
    if head_rows <= dates.SAMPLE_ROWS:
        choice = dates.infer_family(cur, "_head", date_cols, created_sql, updated_sql)
    else:
        choice = dates.sample_vote(cur, "_head", date_cols)
        if choice is None:                # the sample cannot tell: every value of the file votes
            choice = _full_date_vote(cur, decoded, probe, src, date_cols, created_sql, updated_sql)
    clock.mark("read_head_date_inference")

    # A time zone DuckDB does not list is staged as UTC for now: reading the file must fail only for reasons
    # of the file (as it did when the rows were read apart from their conversion); see below.
    tz_listed = cur.execute("SELECT count(*) > 0 FROM pg_timezone_names() WHERE name = ?",
                            [ctx.source_tz]).fetchone()[0]

    def build(family: str | None, tz: str, file_errors: bool = True) -> None:
        maps = {kind: lookup_sql(cur, kind, col(field), "project_key") for kind, field in
                (("status", "status"), ("status_category", "status_category"), ("type", "type"),
                 ("resolution", "resolution"))}
        sql = _stage_issues_sql(src, single, multi, sp, key_i, id_i, date_fields, family, maps)
        if file_errors:
            _read(cur, decoded, probe, sql, {"tz": tz})
        else:       # the file was read once already: an error now is not the file's
            _execute(cur, sql, {"tz": tz, "path": str(decoded.path), "delim": probe.delimiter})

    build(choice.family, ctx.source_tz if tz_listed else "UTC")
    rows = cur.execute("SELECT count(*) FROM stage_issues").fetchone()[0]
    clock.mark("read_csv_to_stage_issues")
    missing_key = cur.execute("SELECT min(rowid) - (SELECT min(rowid) FROM stage_issues) FROM stage_issues "
                              "WHERE issue_key IS NULL").fetchone()[0]
    if missing_key is not None:
        raise IngestError("empty_key", decoded.file_name, row=missing_key + 2, column=header[key_i])

    numbers = _bad_numbers(cur, header, single, sp)
    bad = _bad_dates(cur, date_fields)
    if choice.sampled and any(n for n, _, _ in bad.values()):
        # The sample's family does not parse every value: every value votes, as on a small file.
        full = _full_date_vote(cur, decoded, probe, src, date_cols, created_sql, updated_sql)
        if full.family != choice.family:
            build(full.family, ctx.source_tz if tz_listed else "UTC")
            bad = _bad_dates(cur, date_fields)
        choice = full
    if not tz_listed and choice.family is not None:
        # Convert with the zone asked for after all: DuckDB may accept it, else this raises its own error,
        # where staging always did.
        build(choice.family, ctx.source_tz, file_errors=False)
    if choice.ambiguous:
        warnings.append(warning("date_order_ambiguous", assumed=choice.family))
    for field in date_fields:
        count, first_rows, example = bad[field]
        if count:
            warnings.append(warning("unparsable_dates", column=header[single[field]], count=count,
                                    rows=first_rows, example=example))
    warnings += numbers
    clock.mark("date_check")

    # Every record counts here (as they did before duplicates are dropped): names, worklogs, parents by id.
    names = {}
    if "project_name" in single:
        names = dict(cur.execute("SELECT project_key, any_value(project_name_raw) FROM stage_issues "
                                 "GROUP BY 1").fetchall())
    has_worklogs = _stage_worklogs(cur, multi, choice, ctx)
    if "parent_key" not in single and "parent_id" in single:
        cur.execute("""
            UPDATE stage_issues SET parent_key = pk.issue_key
            FROM (SELECT issue_id_raw, any_value(issue_key) AS issue_key FROM stage_issues GROUP BY 1) pk
            WHERE pk.issue_id_raw = stage_issues.parent_id_raw""")
    # Keep the last record of a key repeated in the file.
    if cur.execute("SELECT count(*) > count(DISTINCT (project_key, issue_key)) FROM stage_issues").fetchone()[0]:
        cur.execute("DELETE FROM stage_issues WHERE rowid NOT IN "
                    "(SELECT max(rowid) FROM stage_issues GROUP BY project_key, issue_key)")
    clock.mark("names_worklogs_parents_dedup")
    warnings += _report(cur, rows, header, single)
    clock.mark("report_queries")

    cur.execute("""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT DISTINCT project_key, unnest(sprints) AS name, NULL::VARCHAR AS state,
               NULL::TIMESTAMPTZ AS start_at, NULL::TIMESTAMPTZ AS end_at, NULL::TIMESTAMPTZ AS completed_at
        FROM stage_issues""")
    has_sprints = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0
    clock.mark("staging_sprints")
    return Staged(source_format="jira-csv", rows=rows, warnings=warnings, project_names=names,
                  tracker="jira", has_sprints=has_sprints, has_worklogs=has_worklogs)


def _full_date_vote(cur, decoded, probe: Probe, src: str, date_cols: list[str], created_sql: str | None,
                    updated_sql: str | None) -> dates.DateChoice:
    """Every date of the file votes (a second read of the file, for the date columns only)."""
    _read(cur, decoded, probe, f"CREATE OR REPLACE TEMP TABLE _dates AS SELECT {', '.join(date_cols)} FROM {src}", {})
    return dates.infer_family(cur, "_dates", date_cols, created_sql, updated_sql)


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _stage_issues_sql(src: str, single: dict[str, int], multi: dict[str, list[int]], sp: list[int], key_i: int,
                      id_i: int, date_fields: list[str], family: str | None, maps: dict[str, str]) -> str:
    """stage_issues from every record of `src` (duplicates are removed afterwards), by projections only.
    Each date is parsed once (`p_<field>`, with 'iso' when no family was found, for the unparsable-date
    check); `bad_<field>` marks a value that did not parse and `bad_<field>_raw` keeps its text. Columns
    ending in `_raw` beyond the canonical ones serve the steps after this one."""

    def col(field: str) -> str:
        return f"c{single[field]}" if field in single else "NULL"

    def lst(field: str) -> str:
        idx = multi.get(field) or []
        if not idx:
            return "[]::VARCHAR[]"
        return f"list_filter([{', '.join(f'c{i}' for i in idx)}], lambda x: x IS NOT NULL)"

    def ts(field: str) -> str:
        if field not in single or family is None:
            return "NULL::TIMESTAMPTZ"
        return f"timezone($tz, p_{field})"

    # parse_sql(col, family), computed in steps so that each text is normalised and shaped once.
    normed = "".join(f", {dates.normalized(col(f))} AS n_{f}" for f in date_fields)
    shaped = "".join(f", {dates.shape_sql(f'n_{f}')} AS k_{f}" for f in date_fields)
    parsed = "".join(f", {dates.parse_shaped_sql(f'n_{f}', f'k_{f}', family or 'iso')} AS p_{f}"
                     for f in date_fields)
    bad_flags = "".join(f", {col(f)} IS NOT NULL AND p_{f} IS NULL AS bad_{f}, "
                        f"CASE WHEN p_{f} IS NULL THEN {col(f)} END AS bad_{f}_raw" for f in date_fields)
    # Numbers (story points, time tracking in seconds) that are not numbers: kept to be reported, not guessed.
    bad_flags += "".join(f", CASE WHEN try_cast(c{i} AS DOUBLE) IS NULL THEN c{i} END AS badnum_{i}_raw"
                         for i in _number_columns(single, sp))
    extra = ""
    if "project_name" in single:
        extra += f", {col('project_name')} AS project_name_raw"
    if "parent_key" not in single and "parent_id" in single:
        extra += f", c{id_i} AS issue_id_raw, {col('parent_id')} AS parent_id_raw"
    if multi.get("log_work"):
        extra += f", {lst('log_work')} AS log_work_raw"
    sp_sql = (f"coalesce({', '.join(f'try_cast(c{i} AS DOUBLE)' for i in sp)})" if sp else "NULL::DOUBLE")

    def hours(field: str) -> str:
        return f"try_cast({col(field)} AS DOUBLE) / 3600.0" if field in single else "NULL::DOUBLE"

    unresolved = f"coalesce(lower(trim({col('resolution')})) IN {UNRESOLVED}, false)"
    status_cat = (f"coalesce({maps['status']}, {maps['status_category']}, "
                  f"CASE WHEN {col('resolution')} IS NOT NULL AND NOT {unresolved} THEN 'done' END)")
    parent_sql = col("parent_key") if "parent_key" in single else "NULL::VARCHAR"
    resolution = f"CASE WHEN NOT {unresolved} THEN {col('resolution')} END"
    return f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        WITH normed AS (
            SELECT *{normed} FROM {src}
        ), shaped AS (
            SELECT *{shaped} FROM normed
        ), parsed AS (
            SELECT *{parsed} FROM shaped
        ), mapped AS (
            SELECT *, {status_cat} AS status_category_c,
                   coalesce({maps['type']}, 'other') AS type_c,
                   {resolution} AS resolution_c, {maps['resolution']} AS resolution_class_c,
                   {ts('created')} AS created_ts, {ts('updated')} AS updated_ts, {ts('resolved')} AS resolved_ts,
                   {ts('due')} AS due_ts
            FROM parsed
        )
        SELECT project_key, c{key_i} AS issue_key, {col('title')} AS title,
            type_c AS type, {col('type')} AS type_raw, {col('status')} AS status_raw,
            coalesce(status_category_c, 'todo') AS status_category, status_category_c IS NULL AS status_unmapped,
            resolution_c AS resolution_raw,
            CASE WHEN resolution_c IS NULL THEN NULL ELSE coalesce(resolution_class_c, 'delivered') END AS resolution_class,
            resolution_c IS NOT NULL AND resolution_class_c IS NULL AS resolution_unmapped,
            {col('priority')} AS priority, {col('severity')} AS severity,
            created_ts AS created_at, updated_ts AS updated_at,
            CASE WHEN coalesce(status_category_c, 'todo') = 'done' THEN coalesce(resolved_ts, updated_ts) END AS done_at,
            CASE WHEN coalesce(status_category_c, 'todo') = 'done' THEN coalesce(resolved_ts, updated_ts) END AS first_done_at,
            coalesce(status_category_c, 'todo') = 'done' AND resolved_ts IS NULL AND updated_ts IS NOT NULL AS done_from_updated,
            due_ts AS due_at,
            {sp_sql} AS story_points, {hours('original')} AS original_estimate_h,
            {hours('remaining')} AS remaining_estimate_h, {hours('spent')} AS time_spent_h,
            {col('assignee')} AS assignee, {col('reporter')} AS reporter,
            {lst('components')} AS components, {lst('labels')} AS labels, {lst('sprints')} AS sprints,
            {lst('fix_versions')} AS fix_versions, {parent_sql} AS parent_key, {col('found_phase')} AS found_phase,
            CASE WHEN lower({col('status')}) IN ('reopened', '重新打开', '已重新打开') THEN 1 END AS reopen_count
            {bad_flags}{extra}
        FROM mapped
    """


def _bad_dates(cur, date_fields: list[str]) -> dict[str, tuple[int, list[int], str | None]]:
    """Per date field: how many values did not parse, the first ten of their file rows (header = row 1) and
    the text of the first."""
    if not date_fields:
        return {}
    # Inside a caller's transaction DuckDB numbers a new temp table's rows from 2^55: rebase on the first.
    aggs = ", ".join(f"count(*) FILTER (WHERE bad_{f}), list(rowid - base + 2 ORDER BY rowid) FILTER (WHERE bad_{f})[1:10], "
                     f"arg_min(bad_{f}_raw, rowid) FILTER (WHERE bad_{f})" for f in date_fields)
    row = cur.execute(f"SELECT {aggs} FROM stage_issues, (SELECT min(rowid) AS base FROM stage_issues) "
                      "GROUP BY base").fetchone()
    return {f: (row[3 * k], row[3 * k + 1] or [], row[3 * k + 2]) for k, f in enumerate(date_fields)}


def _number_columns(single: dict[str, int], sp: list[int]) -> list[int]:
    return sorted({*sp, *(single[f] for f in ("original", "remaining", "spent") if f in single)})


def _bad_numbers(cur, header: list[str], single: dict[str, int], sp: list[int]) -> list[dict]:
    """A warning per number column with values that are not numbers: how many, the first ten file rows, the
    first value (they are left empty, as unparsable dates are)."""
    cols = _number_columns(single, sp)
    if not cols:
        return []
    aggs = ", ".join(f"count(badnum_{i}_raw), list(rowid - base + 2 ORDER BY rowid) FILTER (WHERE badnum_{i}_raw "
                     f"IS NOT NULL)[1:10], arg_min(badnum_{i}_raw, rowid)" for i in cols)
    row = cur.execute(f"SELECT {aggs} FROM stage_issues, (SELECT min(rowid) AS base FROM stage_issues) "
                      "GROUP BY base").fetchone()
    return [warning("unparsable_numbers", column=header[i], count=row[3 * k], rows=row[3 * k + 1],
                    example=row[3 * k + 2]) for k, i in enumerate(cols) if row[3 * k]]


def _stage_worklogs(cur, multi, choice, ctx) -> bool:
    """`Log Work` cells are `<comment>;dd/MMM/yy h:mm AM;<author>;<seconds>`: read from the right, since the
    comment may itself contain semicolons."""
    if not multi.get("log_work"):
        return False
    when = f"coalesce({dates.parse_sql('p[-3]', 'jira')}, {dates.parse_sql('p[-3]', choice.family or 'iso')})"
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_worklogs AS
        SELECT project_key, issue_key, timezone($tz, {when}) AS started_at,
               p[-2] AS author, try_cast(p[-1] AS DOUBLE) / 3600.0 AS hours
        FROM (SELECT project_key, issue_key, string_split(cell, ';') AS p
              FROM (SELECT project_key, issue_key, unnest(log_work_raw) AS cell FROM stage_issues))
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
        orphans = cur.execute("SELECT count(*) FROM stage_issues "
                              "WHERE parent_id_raw IS NOT NULL AND parent_key IS NULL").fetchone()[0]
        if orphans:
            out.append(warning("parent_not_in_file", count=orphans))
    return out


def _execute(cur, sql: str, params: dict) -> None:
    # DuckDB refuses named parameters that the statement does not use.
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


register(Format("jira-csv", "csv", "Jira CSV export", "Jira CSV 导出", sniff, stage))
NEAR_MISSES.append(near_miss)
