"""What the pages read about a project, and every write the Settings page makes.

Pages never write SQL (DESIGN.md): the Settings page saves through the functions below, each one a single
transaction plus an audit_log row, taking effect at once (metrics read these tables on every call).

Writes
    update_project      size (KLOC, FP), calendar (CN / none / country code), time zone
    set_module_sizes    module -> KLOC, kept in the `module_size_kloc` setting that metrics/quality reads
    set_sprint_dates    sprint start / planned end / completed (and state), marked source = 'manual' so a
                        later import never overwrites them (store/load.py)
    set_value_maps      raw tracker value -> canonical (status category, type, resolution class), stored in
                        value_maps for the next imports and replayed at once onto the issues and snapshots
                        already imported (DESIGN.md: raw values are kept so a mapping can be replayed); a status
                        mapping also re-derives the history found by comparing snapshots (store/history.py)

A refused input raises ProjectSettingsError(code, **params); the page translates `settings.error.<code>`.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, available_timezones

import pandas as pd

from store import settings as named_settings

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_CALENDAR = "CN"

# kind -> (raw column, canonical column, allowed canonical values); METRICS.md G3, G5 and the issue types.
VALUE_KINDS = {
    "status": ("status_raw", "status_category", ("todo", "in_progress", "done")),
    "type": ("type_raw", "type", ("story", "task", "bug", "subtask", "epic", "requirement", "change", "other")),
    "resolution": ("resolution_raw", "resolution_class", ("delivered", "valid_not_fixed", "invalid")),
}
SPRINT_STATES = ("future", "active", "closed")
_CALENDAR_CODE = re.compile(r"^[A-Z]{2,3}$")


class ProjectSettingsError(ValueError):
    """A settings value that is refused; nothing was written."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(f"{code}: {params}")


# --- Reads ------------------------------------------------------------------------------------------

def list_projects(cur) -> list[dict]:
    rows = cur.execute(
        "SELECT project_key, coalesce(name, project_key), tracker, timezone, calendar, size_kloc, size_fp "
        "FROM projects ORDER BY project_key").fetchall()
    return [dict(zip(("project_key", "name", "tracker", "timezone", "calendar", "size_kloc", "size_fp"), r))
            for r in rows]


def get_project(cur, project_key: str) -> dict | None:
    """The project's row with defaults filled in (time zone, calendar), or None."""
    for p in list_projects(cur):
        if p["project_key"] == project_key:
            p["timezone"] = p["timezone"] or DEFAULT_TZ
            p["calendar"] = p["calendar"] or DEFAULT_CALENDAR
            return p
    return None


# An imports row names every project of its file, comma-separated (store/load.py).
_IMPORT_OF = "list_contains(string_split(project_key, ','), ?)"


def data_as_of(cur, project_key: str | None = None) -> datetime | None:
    """When the latest export of the project (or of any project) was imported, UTC."""
    if project_key is None:
        return cur.execute("SELECT max(imported_at) FROM imports").fetchone()[0]
    return cur.execute(f"SELECT max(imported_at) FROM imports WHERE {_IMPORT_OF}", [project_key]).fetchone()[0]


def import_count(cur) -> int:
    return cur.execute("SELECT count(*) FROM imports").fetchone()[0]


def list_imports(cur, limit: int = 200) -> pd.DataFrame:
    """Past imports, newest first: import_id, imported_at (UTC), file_name, project_key, source_format, rows,
    imported_by, warnings (count), exported_at (UTC: the export's own time, store/history.py)."""
    rows = cur.execute(
        "SELECT import_id, imported_at, file_name, project_key, source_format, rows, imported_by, "
        "coalesce(json_array_length(warnings), 0), exported_at FROM imports "
        "ORDER BY imported_at DESC, import_id DESC LIMIT ?", [limit]).fetchall()
    return pd.DataFrame(rows, columns=["import_id", "imported_at", "file_name", "project_key", "source_format",
                                       "rows", "imported_by", "warnings", "exported_at"])


def open_valid_bugs(cur, project_key: str, at: datetime | None = None) -> int:
    """Valid bugs (type bug, not resolved as invalid) open at instant `at` (default: now).

    Open at `at` = created before it and not done by then, judged on the final done_at (G4): a bug reopened
    after `at` counts as closed at `at` only if its last done_at precedes `at`.
    """
    if at is None:
        return cur.execute(
            "SELECT count(*) FROM issues WHERE project_key = ? AND type = 'bug' "
            "AND resolution_class IS DISTINCT FROM 'invalid' AND coalesce(status_category, 'todo') <> 'done'",
            [project_key]).fetchone()[0]
    return cur.execute(
        "SELECT count(*) FROM issues WHERE project_key = ? AND type = 'bug' "
        "AND resolution_class IS DISTINCT FROM 'invalid' AND (created_at IS NULL OR created_at < ?) "
        "AND (done_at IS NULL OR done_at >= ?)", [project_key, at, at]).fetchone()[0]


def project_months(cur, project_key: str, tz: str = DEFAULT_TZ) -> list[str]:
    """'YYYY-MM' from the month of the first created issue to the month of the latest activity, newest first."""
    lo, hi = cur.execute(
        "SELECT strftime(timezone($tz, min(created_at)), '%Y-%m'), "
        "strftime(timezone($tz, max(greatest(created_at, updated_at, done_at))), '%Y-%m') "
        "FROM issues WHERE project_key = $pk", {"tz": tz, "pk": project_key}).fetchone()
    if not hi:
        return []
    lo = lo or hi
    out, (y, m) = [], map(int, hi.split("-"))
    while f"{y:04d}-{m:02d}" >= lo and len(out) < 240:
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def sprint_rows(cur, project_key: str) -> pd.DataFrame:
    """The sprints table of a project: name, state, start_at, end_at, completed_at, source."""
    rows = cur.execute("SELECT name, state, start_at, end_at, completed_at, source FROM sprints "
                       "WHERE project_key = ? ORDER BY name", [project_key]).fetchall()
    return pd.DataFrame(rows, columns=["name", "state", "start_at", "end_at", "completed_at", "source"])


def modules_seen(cur, project_key: str) -> list[str]:
    """Every component named by the project's issues, sorted."""
    rows = cur.execute("SELECT DISTINCT m FROM (SELECT unnest(components) AS m FROM issues WHERE project_key = ?) "
                       "WHERE m IS NOT NULL AND trim(m) <> '' ORDER BY 1", [project_key]).fetchall()
    return [r[0] for r in rows]


def raw_values(cur, project_key: str, kind: str) -> pd.DataFrame:
    """Every raw value of `kind` seen in the project's issues: raw_value, canonical (as now applied), issues,
    mapped_here (True when the project has its own value_maps row for it)."""
    raw_col, canon_col, _ = VALUE_KINDS[kind]
    rows = cur.execute(f"""
        SELECT i.{raw_col}, mode(i.{canon_col}), count(*),
               bool_or(v.raw_value IS NOT NULL)
        FROM issues i
        LEFT JOIN value_maps v ON v.project_key = i.project_key AND v.kind = ?
             AND lower(trim(v.raw_value)) = lower(trim(i.{raw_col}))
        WHERE i.project_key = ? AND i.{raw_col} IS NOT NULL AND trim(i.{raw_col}) <> ''
        GROUP BY 1 ORDER BY 3 DESC, 1""", [kind, project_key]).fetchall()
    return pd.DataFrame(rows, columns=["raw_value", "canonical", "issues", "mapped_here"])


# --- Writes -----------------------------------------------------------------------------------------

def _audit(cur, action_detail: dict, user: str | None) -> None:
    cur.execute("INSERT INTO audit_log (\"at\", \"user\", role, action, detail) VALUES (?, ?, NULL, 'settings', ?)",
                [datetime.now(timezone.utc), user, json.dumps(action_detail, ensure_ascii=False, default=str)])


def _in_transaction(cur, work) -> None:
    cur.execute("BEGIN TRANSACTION")
    try:
        work()
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise


def _require_project(cur, project_key: str) -> dict:
    project = get_project(cur, project_key)
    if project is None:
        raise ProjectSettingsError("unknown_project", project=project_key)
    return project


def _size(value, field: str) -> float | None:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ProjectSettingsError("not_a_number", field=field, value=value) from None
    if number < 0 or number != number or number == float("inf"):
        raise ProjectSettingsError("negative_size", field=field, value=value)
    return number or None   # 0 means "not known": densities over 0 are refused anyway (G8)


def normalize_calendar(value: str | None) -> str:
    """'cn' -> 'CN', 'None'/'' -> 'none'... or ProjectSettingsError for something that is no country code."""
    code = (value or "").strip()
    if not code or code.lower() == "none":
        return "none" if code else DEFAULT_CALENDAR
    code = code.upper()
    if not _CALENDAR_CODE.match(code):
        raise ProjectSettingsError("bad_calendar", value=value)
    return code


def update_project(cur, project_key: str, *, size_kloc=None, size_fp=None, calendar: str | None = None,
                   timezone_name: str | None = None, user: str | None = None) -> dict:
    """Save size (KLOC, FP; empty or 0 = unknown), calendar and time zone; returns the saved row."""
    _require_project(cur, project_key)
    kloc, fp = _size(size_kloc, "size_kloc"), _size(size_fp, "size_fp")
    cal = normalize_calendar(calendar)
    tz = (timezone_name or DEFAULT_TZ).strip()
    if tz not in available_timezones():
        raise ProjectSettingsError("bad_timezone", value=timezone_name)

    def work():
        cur.execute("UPDATE projects SET size_kloc = ?, size_fp = ?, calendar = ?, timezone = ? "
                    "WHERE project_key = ?", [kloc, fp, cal, tz, project_key])
        _audit(cur, {"project_key": project_key, "what": "project", "size_kloc": kloc, "size_fp": fp,
                     "calendar": cal, "timezone": tz}, user)
    _in_transaction(cur, work)
    return get_project(cur, project_key)


def module_sizes(cur, project_key: str) -> dict[str, float]:
    """module -> KLOC as stored for the project (its own row of `module_size_kloc`, else the global one)."""
    raw = named_settings.get_json(cur, "module_size_kloc", project_key)
    return {str(k): v for k, v in raw.items()} if isinstance(raw, dict) else {}


def set_module_sizes(cur, project_key: str, sizes: dict, user: str | None = None) -> dict[str, float]:
    """Replace the project's module sizes; blank names are dropped, blank sizes mean unknown (dropped)."""
    _require_project(cur, project_key)
    clean: dict[str, float] = {}
    for name, size in sizes.items():
        name = "" if name is None or (isinstance(name, float) and pd.isna(name)) else str(name).strip()
        if not name:
            continue
        if name in clean:
            raise ProjectSettingsError("duplicate_module", module=name)
        value = _size(size, name)
        if value is not None:
            clean[name] = value

    def work():
        named_settings.put(cur, "module_size_kloc", clean, project_key)
        _audit(cur, {"project_key": project_key, "what": "module_size_kloc", "sizes": clean}, user)
    _in_transaction(cur, work)
    return clean


def _as_date(value) -> date | None:
    if value is None or value == "" or (not isinstance(value, (date, datetime)) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def set_sprint_dates(cur, project_key: str, rows: list[dict], user: str | None = None) -> int:
    """Save sprint dates as the PMO knows them; each row {name, start, end, completed?, state?}.

    Days are the project's local days: start = 00:00 local on `start`, planned end and completion = the last
    instant (23:59:59.999 local) of their day, as metrics/common.end_of_day describes a day. Saved rows
    become source = 'manual'. Returns the number of sprints saved.
    """
    project = _require_project(cur, project_key)
    tz = ZoneInfo(project["timezone"])

    def start_of(d: date) -> datetime:
        return datetime.combine(d, time(0), tz).astimezone(timezone.utc)

    def end_of(d: date) -> datetime:
        return start_of(d + timedelta(days=1)) - timedelta(milliseconds=1)

    prepared = []
    for row in rows:
        name = str(row.get("name") or "").strip()
        if not name:
            raise ProjectSettingsError("sprint_without_name")
        start, end, done = _as_date(row.get("start")), _as_date(row.get("end")), _as_date(row.get("completed"))
        if start is None or end is None:
            raise ProjectSettingsError("sprint_dates_missing", sprint=name)
        if end < start:
            raise ProjectSettingsError("sprint_end_before_start", sprint=name)
        if done is not None and done < start:
            raise ProjectSettingsError("sprint_completed_before_start", sprint=name)
        state = row.get("state")
        state = None if state is None or (isinstance(state, float) and pd.isna(state)) or state == "" else state
        if state is not None and state not in SPRINT_STATES:
            raise ProjectSettingsError("bad_sprint_state", sprint=name, value=state)
        prepared.append((name, state, start_of(start), end_of(end), end_of(done) if done else None))

    def work():
        for name, state, s, e, c in prepared:
            cur.execute("DELETE FROM sprints WHERE project_key = ? AND name = ?", [project_key, name])
            cur.execute("INSERT INTO sprints (project_key, name, state, start_at, end_at, completed_at, source) "
                        "VALUES (?, ?, ?, ?, ?, ?, 'manual')", [project_key, name, state, s, e, c])
        _audit(cur, {"project_key": project_key, "what": "sprints", "sprints": [p[0] for p in prepared]}, user)
    if prepared:
        _in_transaction(cur, work)
    return len(prepared)


def set_value_maps(cur, project_key: str, kind: str, mapping: dict[str, str], user: str | None = None) -> int:
    """Map raw values of `kind` to canonical ones for the project, and replay them onto imported issues.

    The issues and snapshots keep their raw values, so the canonical columns are recomputed in place:
    status -> status_category (done_at is kept for DONE and cleared otherwise, G4: done_at only while DONE;
    a status newly mapped to DONE takes its first_done_at, else its updated_at), type -> type,
    resolution -> resolution_class. Returns the number of issues whose canonical value changed.
    """
    _require_project(cur, project_key)
    if kind not in VALUE_KINDS:
        raise ProjectSettingsError("bad_kind", kind=kind)
    raw_col, canon_col, allowed = VALUE_KINDS[kind]
    clean = {}
    for raw, canonical in mapping.items():
        raw = str(raw or "").strip()
        if not raw:
            continue
        if canonical not in allowed:
            raise ProjectSettingsError("bad_canonical", value=canonical, raw=raw)
        clean[raw.lower()] = (raw, canonical)
    if not clean:
        return 0
    changed = 0

    def work():
        nonlocal changed
        cur.execute("CREATE OR REPLACE TEMP TABLE _vm (raw VARCHAR, canonical VARCHAR)")
        cur.executemany("INSERT INTO _vm VALUES (?, ?)", [[k, c] for k, (_, c) in clean.items()])
        for raw_lower, (raw, canonical) in clean.items():
            cur.execute("DELETE FROM value_maps WHERE project_key = ? AND kind = ? AND lower(trim(raw_value)) = ?",
                        [project_key, kind, raw_lower])
            cur.execute("INSERT INTO value_maps VALUES (?, ?, ?, ?)", [project_key, kind, raw, canonical])
        changed = cur.execute(
            f"SELECT count(*) FROM issues i JOIN _vm ON _vm.raw = lower(trim(i.{raw_col})) "
            f"WHERE i.project_key = ? AND i.{canon_col} IS DISTINCT FROM _vm.canonical", [project_key]).fetchone()[0]
        for table in ("issues", "issue_snapshots"):
            if kind == "status":
                cur.execute(f"""
                    UPDATE {table} t SET status_category = _vm.canonical,
                        done_at = CASE WHEN _vm.canonical = 'done'
                                       THEN coalesce(t.done_at, t.first_done_at, t.updated_at) END,
                        first_done_at = CASE WHEN _vm.canonical = 'done'
                                             THEN coalesce(t.first_done_at, t.done_at, t.updated_at)
                                             ELSE t.first_done_at END
                    FROM _vm WHERE t.project_key = ? AND _vm.raw = lower(trim(t.status_raw))""", [project_key])
            else:
                cur.execute(f"UPDATE {table} t SET {canon_col} = _vm.canonical FROM _vm "
                            f"WHERE t.project_key = ? AND _vm.raw = lower(trim(t.{raw_col}))", [project_key])
        if kind == "status":
            # Reopens derived from successive snapshots follow the new categories (store/history.py).
            from store import history
            history.refresh_project(cur, project_key)
        _audit(cur, {"project_key": project_key, "what": "value_maps", "kind": kind,
                     "mapping": {r: c for r, c in clean.values()}, "issues_changed": changed}, user)
    try:
        _in_transaction(cur, work)
    finally:
        cur.execute("DROP TABLE IF EXISTS _vm")
    return changed


# --- Column mappings (ingest/mapping.py) -------------------------------------------------------------------
# A saved mapping is a JSON dict canonical field -> header name, per project and name; the name defaults to the
# fingerprint of the header it was made for, so the next file with the same columns finds it (find_mapping).

def _mapping_module():
    from ingest import mapping      # ingest.mapping imports this module when it looks a mapping up
    return mapping


def save_mapping(cur, project_key: str, mapping: dict, *, name: str | None = None, header: list[str] | None = None,
                 user: str | None = None) -> str:
    """Save (or replace) a project's column mapping; returns its name (default: the fingerprint of `header`,
    else of the mapped column names). `header`, when given, must hold every mapped column."""
    m = _mapping_module()
    project_key = (project_key or "").strip()
    if not project_key:
        raise ProjectSettingsError("mapping_project_required")
    try:
        clean = m.clean_mapping(mapping)
    except ValueError as exc:
        code, _, field = str(exc).partition(":")
        raise ProjectSettingsError(code if code in ("mapping_key_required", "mapping_unknown_field",
                                                    "mapping_not_a_name") else "mapping_not_a_dict",
                                   field=field) from None
    if header is not None:
        missing = m.missing_columns(clean, header)
        if missing:
            raise ProjectSettingsError("mapping_column_missing", column=missing[0])
    name = (name or "").strip() or m.header_fingerprint(header if header is not None else list(clean.values()))

    def work():
        cur.execute("DELETE FROM column_mappings WHERE project_key = ? AND name = ?", [project_key, name])
        cur.execute("INSERT INTO column_mappings VALUES (?, ?, ?)",
                    [project_key, name, json.dumps(clean, ensure_ascii=False)])
        _audit(cur, {"project_key": project_key, "what": "column_mapping", "name": name, "mapping": clean}, user)
    _in_transaction(cur, work)
    return name


def list_mappings(cur, project_key: str | None = None) -> list[dict]:
    """Saved column mappings ({project_key, name, mapping}), of one project or of all, by project and name."""
    sql = "SELECT project_key, name, mapping FROM column_mappings"
    params: list = []
    if project_key is not None:
        sql += " WHERE project_key = ?"
        params.append(project_key)
    rows = cur.execute(sql + " ORDER BY project_key, name", params).fetchall()
    out = []
    for pk, name, raw in rows:
        try:
            mapping = json.loads(raw) if isinstance(raw, str) else raw
        except (TypeError, ValueError):
            continue
        if isinstance(mapping, dict) and mapping.get("key"):
            out.append({"project_key": pk, "name": name, "mapping": mapping})
    return out


def delete_mapping(cur, project_key: str, name: str, user: str | None = None) -> bool:
    """Forget a saved mapping; False when there was none."""
    found = cur.execute("SELECT count(*) FROM column_mappings WHERE project_key = ? AND name = ?",
                        [project_key, name]).fetchone()[0]
    if not found:
        return False

    def work():
        cur.execute("DELETE FROM column_mappings WHERE project_key = ? AND name = ?", [project_key, name])
        _audit(cur, {"project_key": project_key, "what": "column_mapping_deleted", "name": name}, user)
    _in_transaction(cur, work)
    return True


def find_mapping(cur, header: list[str], project_key: str | None = None, *,
                 exact_elsewhere: bool = True) -> dict | None:
    """The saved mapping to read a file with this header by, or None.

    With a project: that project's mapping whose columns are all in the header (the one saved from exactly this
    header first, then the one mapping the most fields). Then (exact_elsewhere) a mapping of any project saved
    from exactly this header (same fingerprint, every column present): without a project only when a single
    project has one, since the file's project would otherwise be a guess.
    """
    m = _mapping_module()
    fingerprint = m.header_fingerprint(header)
    usable = [x for x in list_mappings(cur) if not m.missing_columns(x["mapping"], header)]
    if project_key:
        own = [x for x in usable if x["project_key"] == project_key]
        if own:
            return min(own, key=lambda x: (x["name"] != fingerprint, -len(x["mapping"]), x["name"]))
    if not exact_elsewhere:
        return None
    exact = [x for x in usable if x["name"] == fingerprint]
    if not exact:
        return None
    if project_key or len({x["project_key"] for x in exact}) == 1:
        return exact[0]
    return None
