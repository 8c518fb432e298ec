"""`mapping`: any other CSV or XLSX, read through a column mapping the user chose, onto the canonical model.

A mapping is a JSON dict canonical field -> header name (never a column index: exports reorder their columns),
e.g. `{"key": "编号", "title": "标题", "status": "状态", "created": "创建日期"}`; `key` is required, every other
field optional (FIELDS). It is saved per project in `column_mappings` under a name (default: the fingerprint
of the file's sorted header, `header_fingerprint`) by store/projects.save_mapping, and found again for the
next upload by store/projects.find_mapping.

Which format a file is read as (`choose_format`, called by ingest_file):
1. `--format X` other than auto/mapping: X, as always.
2. An explicit mapping passed to ingest_file (`mapping={...}`), with format auto or mapping: that mapping.
3. Format `mapping` without one: the saved mapping find_mapping gives (else refused: mapping_required).
4. auto, with a project named: a saved mapping of THAT project whose columns are all in the header wins (the
   PMO chose to read this layout through a mapping for this project, even if a built-in adapter knows it).
5. auto: the built-in adapters' sniffers (ingest/detect.py).
6. auto, a CSV/XLSX no adapter recognises: a saved mapping (any project) saved from exactly this header (same
   fingerprint, every mapped column present); its project unless one was named. Several projects' mappings
   for one header and no project named: refused as unknown_shape (we cannot tell which project).
7. Otherwise unknown_shape, as before (the Import page then offers the mapping form).

Staging is DuckDB SQL like the other adapters: the file is read positionally (columns c0..cN, names never
pasted into SQL; a header name only selects an index), dates through ingest/dates.py (one family voted for the
whole file; values with an explicit offset kept as written), hours through gitlab.hours_sql (`1.5`, `8h`,
`1h 30m`), status/type/resolution through the value maps with unmapped values reported
(gitlab.finish_issues / report). `sprint`, `labels` and `components` take every column of that name, each
cell split on `,` `;` `|` `，` `；` `、`. A key written by a spreadsheet as `12.0` is read as `12`.
"""
from __future__ import annotations

import hashlib
import re

import duckdb
import pyarrow as pa

from ingest import dates
from ingest.detect import FORMATS, Format, Probe, detect, register
from ingest.errors import IngestError, warning
from ingest.gitlab import (BASE_COLUMNS, bad_values, execute, finish_issues, hours_sql, infer_dates,
                           names_only_sprints, number_sql, report)
from ingest.value_maps import UNRESOLVED, create_map_table
from store.load import Staged

FORMAT = "mapping"

# Canonical fields, in the order the mapping form shows them. `key` is required.
FIELDS = ("key", "title", "type", "status", "resolution", "created", "resolved", "updated", "story_points",
          "estimate_hours", "spent_hours", "assignee", "sprint", "labels", "components", "priority",
          "severity", "parent")
REQUIRED = ("key",)
MULTI = ("sprint", "labels", "components")          # every column of the name; cells split on separators
DATE_FIELDS = ("created", "resolved", "updated")
LIST_SEPARATORS = r"\s*[,;|，；、]\s*"
MAPPED_KINDS = ("csv", "xlsx")

# English names of the fields, for messages that name a field rather than a column of the file.
FIELD_LABELS_EN = {"key": "Key", "title": "Title", "type": "Type", "status": "Status", "resolution": "Resolution",
                   "created": "Created", "resolved": "Resolved / done date", "updated": "Updated",
                   "story_points": "Story points", "estimate_hours": "Estimate (hours)",
                   "spent_hours": "Time spent (hours)", "assignee": "Assignee", "sprint": "Sprint",
                   "labels": "Labels", "components": "Components", "priority": "Priority", "severity": "Severity",
                   "parent": "Parent"}

# A value carrying its own UTC offset after a time (`2025-03-04T09:30:00+08:00`, `... 09:30 +0800`, `...Z`):
# read as written. A time is required before it, so that `04-03-2025` is not read as an offset of -20:25.
_OFFSET = r"[0-9]:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?\s*(Z|[+-][0-9]{2}:?[0-9]{2})$"


# --- Mapping values -------------------------------------------------------------------------------------

def header_fingerprint(header: list[str]) -> str:
    """The default name of a mapping saved from this header: a digest of its sorted distinct column names, so
    the same columns in another order give the same name."""
    names = sorted({str(h).strip() for h in header or [] if str(h).strip()})
    return "cols-" + hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:12]


def clean_mapping(mapping: dict) -> dict[str, str]:
    """Canonical field -> trimmed header name, without unmapped fields; ValueError naming what is wrong."""
    if not isinstance(mapping, dict):
        raise ValueError("mapping_not_a_dict")
    out: dict[str, str] = {}
    for field, column in mapping.items():
        if field not in FIELDS:
            raise ValueError(f"mapping_unknown_field:{field}")
        if column is None or (isinstance(column, str) and not column.strip()):
            continue
        if not isinstance(column, str):
            raise ValueError(f"mapping_not_a_name:{field}")   # an index is refused: exports reorder columns
        out[field] = column.strip()
    for field in REQUIRED:
        if field not in out:
            raise ValueError(f"mapping_key_required:{field}")
    return {f: out[f] for f in FIELDS if f in out}


def missing_columns(mapping: dict[str, str], header: list[str]) -> list[str]:
    present = {str(h).strip() for h in header or []}
    return [c for c in dict.fromkeys(mapping.values()) if c not in present]


def columns_of(mapping: dict[str, str], header: list[str]) -> dict[str, list[int]]:
    """field -> column positions: the first column of that name, or every one for the MULTI fields."""
    names = [str(h).strip() for h in header]
    out = {}
    for field, column in mapping.items():
        hits = [i for i, n in enumerate(names) if n == column]
        if hits:
            out[field] = hits if field in MULTI else hits[:1]
    return out


# --- Choosing the format ------------------------------------------------------------------------------------

def choose_format(cur, p: Probe, file_name: str, wanted: str = "auto", project_key: str | None = None,
                  mapping: dict | None = None) -> tuple[Format, dict | None]:
    """The format to read the file as, and the mapping when it is `mapping` ({"name", "project_key", "fields"});
    precedence in the module docstring."""
    wanted = wanted or "auto"
    if mapping is not None and wanted in ("auto", FORMAT):
        if p.kind not in MAPPED_KINDS:
            raise IngestError("mapping_not_tabular", file_name)
        try:
            fields = clean_mapping(mapping)
        except ValueError as exc:
            raise IngestError("mapping_invalid", file_name, detail=str(exc)) from None
        return FORMATS[FORMAT], {"name": None, "project_key": project_key, "fields": fields}
    if wanted == FORMAT:
        if p.kind not in MAPPED_KINDS:
            raise IngestError("mapping_not_tabular", file_name)
        found = _saved(cur, p.header, project_key)
        if found is None:
            raise IngestError("mapping_required", file_name, seen=", ".join((p.header or [])[:8]))
        return FORMATS[FORMAT], found
    if wanted != "auto":
        return detect(p, file_name, wanted), None
    if project_key and p.kind in MAPPED_KINDS:
        found = _saved(cur, p.header, project_key, exact_elsewhere=False)
        if found is not None:
            return FORMATS[FORMAT], found
    try:
        return detect(p, file_name, "auto"), None
    except IngestError as err:
        if err.code != "unknown_shape" or p.kind not in MAPPED_KINDS:
            raise
        found = _saved(cur, p.header, project_key)
        if found is None:
            raise
        return FORMATS[FORMAT], found


def _saved(cur, header, project_key: str | None, exact_elsewhere: bool = True) -> dict | None:
    from store.projects import find_mapping     # store.projects imports this module: import when called
    found = find_mapping(cur, header or [], project_key, exact_elsewhere=exact_elsewhere)
    if found is None:
        return None
    return {"name": found["name"], "project_key": project_key or found["project_key"], "fields": found["mapping"]}


# --- Staging --------------------------------------------------------------------------------------------------

def sniff(p: Probe) -> bool:
    """Never by itself: a file is read through a mapping only as choose_format decides."""
    return False


WORK = ("mp_csv", "mp_raw", "mp_base")


def _read_csv(cur, decoded, probe: Probe) -> None:
    """mp_csv(c0..cN) from the CSV, every cell as text; short rows padded with nulls, surplus cells dropped."""
    n = len(probe.header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    try:
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE mp_csv AS
            SELECT * FROM read_csv($path, header = false, skip = 1, auto_detect = false, columns = {columns},
                delim = $delim, quote = '"', escape = '"', null_padding = true, parallel = false,
                max_line_size = 33554432)""", {"path": str(decoded.path), "delim": probe.delimiter})
    except duckdb.Error as exc:
        msg = str(exc)
        line = re.search(r"[Ll]ine:? (\d+)", msg)
        raise IngestError("bad_csv", decoded.file_name, row=int(line.group(1)) if line else None,
                          detail=msg.splitlines()[0][:200]) from None


def _read_xlsx(cur, decoded, width: int) -> None:
    """mp_csv(c0..cN) from the first sheet below its header row, every cell as text (pandas + calamine)."""
    import pandas as pd
    try:
        frame = pd.read_excel(decoded.path, engine="calamine", dtype=str, header=None)
    except Exception as exc:   # calamine, zipfile and pandas each raise their own types
        raise IngestError("bad_xlsx", decoded.file_name, detail=str(exc).splitlines()[0][:200]) from None
    body = frame.iloc[1:]
    columns = {}
    for i in range(width):
        values = body.iloc[:, i].tolist() if i < body.shape[1] else [None] * len(body)
        columns[f"c{i}"] = pa.array([None if v is None or pd.isna(v) else str(v) for v in values], pa.string())
    table = pa.table(columns) if columns else pa.table({"c0": pa.array([], pa.string())})
    cur.complete()
    cur.register("mp_xlsx_arrow", table)
    try:
        cur.execute("CREATE OR REPLACE TEMP TABLE mp_csv AS SELECT * FROM mp_xlsx_arrow")
    finally:
        cur.unregister("mp_xlsx_arrow")


def _raw(cur, decoded, header: list[str], cols: dict[str, list[int]]) -> int:
    """mp_raw(rownum, c<i>...): the mapped columns trimmed ('' -> NULL); rows with nothing mapped dropped; every
    key present. rownum + 2 is the row in the file (the header being row 1)."""
    needed = sorted({i for idx in cols.values() for i in idx})
    cells = ", ".join(f"nullif(trim(c{i}, ' ' || chr(9) || chr(10) || chr(13)), '') AS c{i}" for i in needed)
    # rowid counts from a large base inside a transaction (ingest_files holds one): rebase it to 0.
    cur.execute(f"CREATE OR REPLACE TEMP TABLE mp_raw AS SELECT rowid - (SELECT min(rowid) FROM mp_csv) AS rownum, "
                f"{cells} FROM mp_csv")
    cur.execute("DROP TABLE IF EXISTS mp_csv")
    cur.execute(f"DELETE FROM mp_raw WHERE {' AND '.join(f'c{i} IS NULL' for i in needed)}")
    rows = cur.execute("SELECT count(*) FROM mp_raw").fetchone()[0]
    if rows == 0:
        raise IngestError("no_rows", decoded.file_name)
    key = cols["key"][0]
    missing = cur.execute(f"SELECT min(rownum) FROM mp_raw WHERE c{key} IS NULL").fetchone()[0]
    if missing is not None:
        raise IngestError("empty_key", decoded.file_name, row=missing + 2, column=header[key])
    return rows


def _ts_sql(expr: str, family: str | None, tz: bool = True) -> str:
    """Date text -> TIMESTAMPTZ: with an offset as written, else with the file's family in the source zone
    ($tz). tz=False gives the naive parse (for the unparsable-value check, which binds no parameter)."""
    naive = dates.parse_sql(expr, family) if family else "NULL::TIMESTAMP"
    local = f"timezone($tz, {naive})" if tz else naive
    offset = f"try_cast({expr} AS TIMESTAMPTZ)" if tz else f"try_cast({expr} AS TIMESTAMPTZ)::TIMESTAMP"
    return f"CASE WHEN regexp_matches({expr}, '{_OFFSET}') THEN {offset} ELSE {local} END"


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    chosen = getattr(ctx, "mapping", None)
    if not chosen:
        raise IngestError("mapping_required", decoded.file_name, seen=", ".join((probe.header or [])[:8]))
    if probe.kind not in MAPPED_KINDS:
        raise IngestError("mapping_not_tabular", decoded.file_name)
    project = ctx.project_key or chosen.get("project_key")
    if not project:
        raise IngestError("mapping_project_required", decoded.file_name)
    header = probe.header or []
    fields = chosen["fields"]
    missing = missing_columns(fields, header)
    if missing:
        raise IngestError("missing_column", decoded.file_name, column=missing[0])
    cols = columns_of(fields, header)

    if probe.kind == "xlsx":
        _read_xlsx(cur, decoded, len(header))
    else:
        _read_csv(cur, decoded, probe)
    rows = _raw(cur, decoded, header, cols)
    warnings: list[dict] = []
    if chosen.get("name"):
        warnings.append(warning("mapping_used", name=chosen["name"]))

    def col(field: str) -> str:
        return f"c{cols[field][0]}" if field in cols else "NULL"

    def name_of(field: str) -> str:
        return header[cols[field][0]]

    date_cols = {f: col(f) for f in DATE_FIELDS if f in cols}
    family, w = infer_dates(cur, "mp_raw", date_cols, col("created") if "created" in cols else None,
                            col("updated") if "updated" in cols else None)
    warnings += w
    for field in date_cols:
        warnings += bad_values(cur, "mp_raw", col(field), _ts_sql(col(field), family, tz=False), name_of(field))
    decimal_comma = probe.delimiter == ";"
    for field in ("story_points", "estimate_hours", "spent_hours"):
        if field in cols:
            parsed = (number_sql(col(field), decimal_comma) if field == "story_points"
                      else hours_sql(col(field), unit="hours", decimal_comma=decimal_comma))
            warnings += bad_values(cur, "mp_raw", col(field), parsed, name_of(field), "unparsable_numbers")

    def ts(field: str) -> str:
        return _ts_sql(col(field), family) if field in cols else "NULL::TIMESTAMPTZ"

    def lst(field: str) -> str:
        if field not in cols:
            return "[]::VARCHAR[]"
        parts = " || ".join(f"coalesce(regexp_split_to_array(c{i}, '{LIST_SEPARATORS}'), []::VARCHAR[])"
                            for i in cols[field])
        return f"list_filter(list_transform({parts}, lambda x: trim(x)), lambda x: x <> '')"

    def key_sql(expr: str) -> str:
        return f"regexp_replace({expr}, '^([0-9]+)\\.0+$', '\\1')"

    unresolved = "(" + ", ".join(f"'{v}'" for v in UNRESOLVED) + ")"
    resolution = (f"CASE WHEN lower({col('resolution')}) IN {unresolved} THEN NULL ELSE {col('resolution')} END"
                  if "resolution" in cols else "NULL::VARCHAR")
    number = (lambda f: number_sql(col(f), decimal_comma) if f in cols else "NULL::DOUBLE")
    hours = (lambda f: hours_sql(col(f), unit="hours", decimal_comma=decimal_comma) if f in cols else "NULL::DOUBLE")
    select = {
        "rownum": "rownum", "project_key": "$project", "issue_key": key_sql(col("key")), "title": col("title"),
        "type_raw": col("type"), "status_raw": col("status"), "status_alt": "NULL::VARCHAR",
        "resolution_raw": resolution, "priority": col("priority"), "severity": col("severity"),
        "created_at": ts("created"), "updated_at": ts("updated"), "done_candidate": ts("resolved"),
        "first_done_candidate": "NULL::TIMESTAMPTZ", "due_at": "NULL::TIMESTAMPTZ",
        "story_points": number("story_points"), "original_estimate_h": hours("estimate_hours"),
        "remaining_estimate_h": "NULL::DOUBLE", "time_spent_h": hours("spent_hours"), "assignee": col("assignee"),
        "reporter": "NULL::VARCHAR", "components": lst("components"), "labels": lst("labels"),
        "sprints": lst("sprint"), "fix_versions": "[]::VARCHAR[]",
        "parent_key": key_sql(col("parent")) if "parent" in cols else "NULL::VARCHAR",
        "found_phase": "NULL::VARCHAR", "reopen_count": "NULL::INTEGER",
    }
    # finish_issues reads BASE_COLUMNS; one this adapter has nothing for stays NULL
    execute(cur, "CREATE OR REPLACE TEMP TABLE mp_base AS SELECT "
                 + ", ".join(f"{select.get(name, 'NULL')} AS {name}" for name in BASE_COLUMNS) + " FROM mp_raw",
            {"project": project, "tz": ctx.source_tz})
    create_map_table(cur, [project])
    finish_issues(cur, "mp_base")
    if "created" not in cols:
        warnings.append(warning("missing_column", column=FIELD_LABELS_EN["created"]))
    warnings += report(cur, rows, coverage="story_points" in cols)
    has_sprints = names_only_sprints(cur)
    for table in WORK:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return Staged(source_format=FORMAT, rows=rows, warnings=warnings, tracker="mapping", has_sprints=has_sprints)


register(Format(FORMAT, "csv", "Column mapping (any CSV / XLSX)", "列映射（任意 CSV / XLSX）", sniff, stage))
