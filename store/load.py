"""One import = one transaction: the imports row, the issues upsert, snapshots, changes, sprints, worklogs.

An adapter stages its rows in temporary tables named below (stage_issues is required, the others optional)
with the canonical column names; `commit_import` moves them into the model atomically. Keys are kept unique
here with delete-then-insert inside the transaction rather than with an index (DESIGN.md: 3x faster, 5x
less memory on 1M rows). Re-importing a file already imported for the same project changes nothing.

History: each import stores every staged issue as a snapshot; a later (or earlier) export of the same issues adds
history rows derived from the difference (store/history.py, which also deletes an import). The issues row follows
the newest export by export time (imports.exported_at), so an older file imported late never rolls it back.
The import report adds, after the load: parents named by no issue of the project, and dates in the future.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import duckdb

from store import history

ISSUE_COLUMNS = (
    "project_key", "issue_key", "title", "type", "type_raw", "status_raw", "status_category",
    "resolution_raw", "resolution_class", "priority", "severity", "created_at", "updated_at", "done_at",
    "first_done_at", "due_at", "story_points", "original_estimate_h", "remaining_estimate_h", "time_spent_h",
    "assignee", "reporter", "components", "labels", "sprints", "fix_versions", "parent_key", "found_phase",
    "reopen_count",
)
CHANGE_COLUMNS = ("project_key", "issue_key", "changed_at", "field", "from_value", "to_value", "author")
SPRINT_COLUMNS = ("project_key", "name", "state", "start_at", "end_at", "completed_at")
WORKLOG_COLUMNS = ("project_key", "issue_key", "started_at", "author", "hours")


@dataclass
class Staged:
    """What an adapter hands to the loader, besides its temporary stage_* tables."""
    source_format: str
    rows: int                                   # records read from the file
    warnings: list[dict] = field(default_factory=list)
    project_names: dict[str, str] = field(default_factory=dict)   # project_key -> display name
    tracker: str = ""
    has_changes: bool = False
    has_sprints: bool = False
    has_worklogs: bool = False


@dataclass
class ImportResult:
    import_id: int
    project_key: str
    source_format: str
    rows: int
    issues: int
    changes: int
    warnings: list[dict]
    duplicate: bool = False
    file_name: str = ""
    issues_new: int = 0             # issues the project did not have
    issues_updated: int = 0         # issues it had, now replaced by this (newer) export's state
    issues_kept: int = 0            # issues it had from a NEWER export: their state was kept (history still added)
    changes_derived: int = 0        # history rows derived from the previous snapshots (store/history.py)
    exported_at: datetime | None = None     # the export's own time: max(updated_at) of the file, else imported_at

    def as_json(self) -> dict:
        return {"import_id": self.import_id, "project_key": self.project_key,
                "source_format": self.source_format, "rows": self.rows, "issues": self.issues,
                "changes": self.changes, "warnings": self.warnings, "duplicate": self.duplicate,
                "file_name": self.file_name, "issues_new": self.issues_new, "issues_updated": self.issues_updated,
                "issues_kept": self.issues_kept, "changes_derived": self.changes_derived,
                "exported_at": self.exported_at.isoformat() if self.exported_at else None}


def _cols(names) -> str:
    return ", ".join(names)


def commit_import(cur: duckdb.DuckDBPyConnection, staged: Staged, *, file_name: str, file_sha256: str,
                  imported_by: str | None = None, own_transaction: bool = True) -> ImportResult:
    """Move the stage_* tables into the model in one transaction; roll back everything on any error.

    own_transaction=False: the caller holds a transaction around several files (all or nothing).
    """
    keys = [r[0] for r in cur.execute(
        "SELECT DISTINCT project_key FROM stage_issues ORDER BY 1").fetchall()]
    if not keys and staged.has_sprints:     # a sprints-only file (jira-sprints-json) still names its project
        keys = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM stage_sprints ORDER BY 1").fetchall()]
    project_label = ",".join(keys)
    dup = cur.execute("SELECT import_id, rows, warnings FROM imports WHERE file_sha256 = ? AND project_key = ?",
                      [file_sha256, project_label]).fetchone()
    if dup:
        return ImportResult(dup[0], project_label, staged.source_format, dup[1], 0, 0,
                            json.loads(dup[2]) if dup[2] else [], duplicate=True, file_name=file_name)

    now = datetime.now(timezone.utc)
    if own_transaction:
        cur.execute("BEGIN TRANSACTION")
    try:
        history.backfill(cur)
        import_id = cur.execute("SELECT nextval('import_seq')").fetchone()[0]
        exported_at = history.export_time(cur, now)
        for key in keys:
            cur.execute(
                "INSERT INTO projects (project_key, name, tracker) SELECT ?, ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM projects WHERE project_key = ?)",
                [key, staged.project_names.get(key) or key, staged.tracker or staged.source_format, key])
            if staged.project_names.get(key):
                # A sprints-only import created the project under its key; the first real name wins.
                cur.execute("UPDATE projects SET name = ? WHERE project_key = ? AND coalesce(name, project_key) = project_key",
                            [staged.project_names[key], key])

        cur.execute("INSERT INTO imports (import_id, project_key, source_format, file_name, file_sha256, rows, "
                    "imported_at, imported_by, warnings, exported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [import_id, project_label, staged.source_format, file_name, file_sha256, staged.rows, now,
                     imported_by, json.dumps(staged.warnings, ensure_ascii=False, default=str), exported_at])

        # Issues already known, as their current row says, and whether this export is newer than that row's
        # (wins: it replaces the row; else the row stays and this export only adds its snapshot and history).
        cur.execute("""
            CREATE OR REPLACE TEMP TABLE _prev AS
            SELECT i.project_key, i.issue_key, i.first_import_id, i.first_done_at, i.reopen_count, i.last_import_id,
                   i.status_category, i.done_at, i.sprints, i.story_points, i.original_estimate_h,
                   i.remaining_estimate_h, m.exported_at AS last_t, coalesce(m.exported_at <= $t, true) AS wins
            FROM issues i SEMI JOIN stage_issues s USING (project_key, issue_key)
            LEFT JOIN imports m ON m.import_id = i.last_import_id""", {"t": exported_at})
        issues, known, kept = cur.execute(
            "SELECT (SELECT count(*) FROM stage_issues), count(*), count(*) FILTER (WHERE NOT wins) FROM _prev"
        ).fetchone()

        changes = 0
        if staged.has_changes:
            # Tracker history replaces what snapshots implied for the same issue and field.
            cur.execute(f"""DELETE FROM changes WHERE author = '{history.AUTHOR}' AND (project_key, issue_key, field)
                            IN (SELECT DISTINCT project_key, issue_key, field FROM stage_changes)""")
            # The same history arrives again with every newer export: keep each change once, and note that this
            # import holds it too (deleting the import that first brought it then hands it over).
            same = ("c.project_key = s.project_key AND c.issue_key = s.issue_key AND c.changed_at = s.changed_at "
                    "AND c.field = s.field AND c.from_value IS NOT DISTINCT FROM s.from_value "
                    f"AND c.to_value IS NOT DISTINCT FROM s.to_value AND c.author IS DISTINCT FROM '{history.AUTHOR}'")
            cur.execute(f"""
                UPDATE changes c SET also_import_ids = list_append(coalesce(c.also_import_ids, []::INTEGER[]), $1)
                FROM (SELECT DISTINCT project_key, issue_key, changed_at, field, from_value, to_value
                      FROM stage_changes) s
                WHERE {same}""", [import_id])
            before = cur.execute("SELECT count(*) FROM changes").fetchone()[0]
            cur.execute(f"""
                INSERT INTO changes ({_cols(CHANGE_COLUMNS)}, import_id)
                SELECT DISTINCT {_cols('s.' + c for c in CHANGE_COLUMNS)}, $1 FROM stage_changes s
                WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE {same})""", [import_id])
            changes = cur.execute("SELECT count(*) FROM changes").fetchone()[0] - before

        # History derived from the previous snapshots (nothing to do on a project's first import).
        derived = 0
        if known:
            derived_before = cur.execute(f"SELECT count(*) FROM changes WHERE author = '{history.AUTHOR}'"
                                         ).fetchone()[0]
            if known > kept:
                history.derive_in_order(cur, import_id, exported_at)
            history.reopen_table(cur, "_prev")

        # Issues: keep first_import_id and the earliest first_done_at of the row being replaced.
        cur.execute("DELETE FROM issues WHERE (project_key, issue_key) IN "
                    "(SELECT project_key, issue_key FROM _prev WHERE wins)")
        if known:
            select = ", ".join(
                "least(p.first_done_at, s.first_done_at) AS first_done_at" if c == "first_done_at" else
                "CASE WHEN p.issue_key IS NULL THEN s.reopen_count ELSE greatest(p.reopen_count, s.reopen_count, "
                f"{history.derived_reopens_sql('r')})::INTEGER END" if c == "reopen_count" else
                f"s.{c}" for c in ISSUE_COLUMNS)
            cur.execute(f"""
                INSERT INTO issues ({_cols(ISSUE_COLUMNS)}, first_import_id, last_import_id)
                SELECT {select}, coalesce(p.first_import_id, $1), $1
                FROM stage_issues s LEFT JOIN _prev p USING (project_key, issue_key)
                LEFT JOIN _rc r ON r.project_key = s.project_key AND r.issue_key = s.issue_key
                WHERE p.issue_key IS NULL OR p.wins""", [import_id])
        else:
            cur.execute(f"""
                INSERT INTO issues ({_cols(ISSUE_COLUMNS)}, first_import_id, last_import_id)
                SELECT {_cols('s.' + c for c in ISSUE_COLUMNS)}, $1, $1 FROM stage_issues s""", [import_id])
        cur.execute(f"INSERT INTO issue_snapshots (import_id, {_cols(ISSUE_COLUMNS)}) "
                    f"SELECT $1, {_cols(ISSUE_COLUMNS)} FROM stage_issues", [import_id])

        if kept:
            # An older export than the one the rows come from: its snapshot takes its place in each issue's
            # history by its date, so those issues' history is derived again from all their snapshots.
            cur.execute("CREATE OR REPLACE TEMP TABLE _lo AS SELECT project_key, issue_key FROM _prev WHERE NOT wins")
            history.rederive(cur, "_lo")
            history.reopen_table(cur, "_lo")
            cur.execute(f"""
                UPDATE issues i SET first_done_at = least(i.first_done_at, x.first_done_at),
                    reopen_count = greatest(i.reopen_count, x.reopen_count, x.derived)::INTEGER
                FROM (SELECT s.project_key, s.issue_key, s.first_done_at, s.reopen_count,
                             {history.derived_reopens_sql('r')} AS derived
                      FROM stage_issues s SEMI JOIN _lo USING (project_key, issue_key)
                      LEFT JOIN _rc r ON r.project_key = s.project_key AND r.issue_key = s.issue_key) x
                WHERE i.project_key = x.project_key AND i.issue_key = x.issue_key""")
        if known:
            derived = cur.execute(f"SELECT count(*) FROM changes WHERE author = '{history.AUTHOR}'"
                                  ).fetchone()[0] - derived_before

        if staged.has_sprints:
            cur.execute(f"""
                INSERT INTO sprint_snapshots (import_id, {_cols(SPRINT_COLUMNS)})
                SELECT $1, {_cols(SPRINT_COLUMNS)} FROM stage_sprints""", [import_id])
            # A CSV knows sprint names only: never let it blank the dates a JSON export or the PMO gave.
            cur.execute("""
                UPDATE sprints t SET state = coalesce(s.state, t.state), start_at = coalesce(s.start_at, t.start_at),
                  end_at = coalesce(s.end_at, t.end_at), completed_at = coalesce(s.completed_at, t.completed_at),
                  source = CASE WHEN s.start_at IS NOT NULL THEN 'tracker' ELSE t.source END, import_id = $1
                FROM stage_sprints s
                WHERE t.project_key = s.project_key AND t.name = s.name AND coalesce(t.source, '') <> 'manual'
                """, [import_id])
            cur.execute(f"""
                INSERT INTO sprints ({_cols(SPRINT_COLUMNS)}, source, import_id)
                SELECT {_cols('s.' + c for c in SPRINT_COLUMNS)},
                  CASE WHEN s.start_at IS NULL THEN 'names-only' ELSE 'tracker' END, $1
                FROM stage_sprints s
                WHERE NOT EXISTS (SELECT 1 FROM sprints t WHERE t.project_key = s.project_key AND t.name = s.name)
                """, [import_id])

        if staged.has_worklogs:
            same = ("w.project_key = s.project_key AND w.issue_key = s.issue_key "
                    "AND w.started_at IS NOT DISTINCT FROM s.started_at AND w.author IS NOT DISTINCT FROM s.author "
                    "AND w.hours IS NOT DISTINCT FROM s.hours")
            if cur.execute("SELECT count(*) FROM worklogs WHERE list_contains(?, project_key)", [keys]).fetchone()[0]:
                cur.execute(f"""
                    UPDATE worklogs w SET also_import_ids = list_append(coalesce(w.also_import_ids, []::INTEGER[]), $1)
                    FROM (SELECT DISTINCT {_cols(WORKLOG_COLUMNS)} FROM stage_worklogs) s
                    WHERE {same}""", [import_id])
            cur.execute(f"""
                INSERT INTO worklogs ({_cols(WORKLOG_COLUMNS)}, import_id)
                SELECT DISTINCT {_cols('s.' + c for c in WORKLOG_COLUMNS)}, $1 FROM stage_worklogs s
                WHERE NOT EXISTS (SELECT 1 FROM worklogs w WHERE {same})""", [import_id])

        extra = _after_load_warnings(cur, now)
        warnings = staged.warnings + extra
        if extra:
            cur.execute("UPDATE imports SET warnings = ? WHERE import_id = ?",
                        [json.dumps(warnings, ensure_ascii=False, default=str), import_id])
        cur.execute("INSERT INTO audit_log (\"at\", \"user\", role, action, detail) VALUES (?, ?, ?, 'import', ?)",
                    [now, imported_by, None, json.dumps({"import_id": import_id, "file_name": file_name,
                                                         "project_key": project_label}, ensure_ascii=False)])
        if own_transaction:
            cur.execute("COMMIT")
    except BaseException:
        if own_transaction:
            cur.execute("ROLLBACK")
        raise
    finally:
        for name in ("_prev", "_rc", "_lo"):
            try:
                cur.execute(f"DROP TABLE IF EXISTS {name}")
            except duckdb.Error:    # a caller's aborted transaction: its rollback drops them
                pass
    return ImportResult(import_id, project_label, staged.source_format, staged.rows, issues, changes,
                        warnings, file_name=file_name, issues_new=issues - known, issues_updated=known - kept,
                        issues_kept=kept, changes_derived=derived, exported_at=exported_at)


FUTURE_SLACK = timedelta(days=1)


def _after_load_warnings(cur: duckdb.DuckDBPyConnection, now: datetime) -> list[dict]:
    """What only the loaded project can tell: dates after the import time (+1 day of clock and time-zone
    slack), and parents that no issue of the project has (checked after the load, so a parent imported by an
    earlier file counts)."""
    out = []
    limit = now + FUTURE_SLACK
    row = cur.execute("""
        SELECT count(*) FILTER (WHERE created_at > $l), min(issue_key, 5) FILTER (WHERE created_at > $l),
               count(*) FILTER (WHERE updated_at > $l), min(issue_key, 5) FILTER (WHERE updated_at > $l),
               count(*) FILTER (WHERE done_at > $l), min(issue_key, 5) FILTER (WHERE done_at > $l)
        FROM stage_issues WHERE created_at > $l OR updated_at > $l OR done_at > $l""", {"l": limit}).fetchone()
    for i, column in enumerate(("created", "updated", "done")):
        if row[2 * i]:
            out.append({"code": f"future_{column}", "count": row[2 * i], "keys": row[2 * i + 1],
                        "limit": limit.date().isoformat()})
    count, parents = cur.execute("""
        SELECT count(*), min(DISTINCT parent_key, 5) FROM stage_issues s
        WHERE parent_key IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM issues i WHERE i.project_key = s.project_key AND i.issue_key = s.parent_key)""").fetchone()
    if count:
        out.append({"code": "parent_not_in_project", "count": count, "parents": parents})
    return out


def drop_stage(cur: duckdb.DuckDBPyConnection) -> None:
    for name in ("stage_issues", "stage_changes", "stage_sprints", "stage_worklogs", "raw"):
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"DROP VIEW IF EXISTS {name}")
