"""History from successive exports (snapshot diff) and deleting an import. All set-based SQL, no row loop.

Snapshot diff (called by store/load.commit_import inside the import's transaction)
    Every import keeps each issue's full canonical row in issue_snapshots. An issue's snapshots are ordered by
    the export's own time, imports.exported_at = the file's max(updated_at) capped at imported_at (imported_at
    when the file has no updated date), ties by import_id: an OLDER export uploaded after a newer one takes its
    place in the history by its date, it never inverts it. Two successive snapshots P -> N of an issue give
    rows in `changes`, author 'snapshot-diff', import_id = N's import, changed_at = N's export time (an
    approximation: the change happened somewhere between the two exports), except where noted:
      status_category  reopen: P done, N not done -> ('done' -> N's category). The first reopen of an issue
                       also records how it entered DONE: ('in_progress' -> 'done') at P's done_at (capped at
                       P's export time), so that readers of the history (burndown, flow) still see the issue
                       done from its done date until the reopen. After a first reopen, every later move into
                       DONE is recorded too: (P's category -> 'done') at N's done_at when that lies between
                       the two exports, else at N's export time. An issue never reopened gets no status rows:
                       its done_at already says when it was done (the readers' no-history rule).
      sprint           membership changed (compared as sets): JSON arrays of names before/after, as jira-json.
      story_points, original_estimate_h, remaining_estimate_h
                       value changed: numeric text before/after ('5', '0.5'; NULL = no estimate).
    Not derived: todo <-> in_progress moves and resolution changes (dated at the export they would mislead the
    flow metrics and burndown's strict mode more than their absence does; the current values stand).
    Only where the tracker gave no history: no row is derived for an (issue, field) that has a tracker row in
    `changes` (author other than 'snapshot-diff'), and tracker rows arriving later replace derived ones.
    A first import of a project costs nothing here (no issue has an earlier snapshot); a later one joins the
    staged rows with the current issue rows once and materializes only the pairs that differ.

    reopen_count (NULL = unknown): an issue with at least two snapshots, in a project whose tracker gave no
    status history, gets the number of derived reopens (0 when none happened); a count known from an export
    (ZenTao 激活次数) is never lowered: the row keeps the greatest of the known counts and the derived one. With
    a single snapshot it stays as the export said. In a project with tracker status history (jira-json
    changelog, GitHub events) the tracker's counts stand: snapshots never set one there (an issue the history
    does not mention stays unknown, as the adapter decided). first_done_at keeps the earliest of all snapshots.

    The issues row is the state of the issue's LATEST snapshot (by export time): an older export imported
    later adds its snapshot and history but leaves the newer row (ImportResult.issues_kept counts them).

Delete an import (delete_import): one transaction that removes exactly what the import added and restores
what it overwrote, so that the database is as if the import had never been made:
    * its issue snapshots; every issue it touched is rebuilt from its remaining snapshots (the latest by export
      time; first_done_at, reopen_count, first_import_id and last_import_id recomputed), or deleted when none
      is left;
    * its tracker history rows and work logs: rows another import also contained (changes.also_import_ids,
      worklogs.also_import_ids) are handed over to the earliest of those instead of being lost;
    * the derived history of every issue it touched is derived again from the remaining snapshots, so the
      diff between its two neighbours (the exports before and after it) now stands in place of the two
      diffs through it;
    * its sprint snapshots; sprints it created or updated are replayed from the remaining imports' sprint
      snapshots in import order (as the loader merged them), or deleted when no import is left; sprints the
      PMO entered by hand (source 'manual') are never touched;
    * the imports row; a project left with nothing (no import, issue, sprint, history or work log, and
      nothing entered by the PMO: size, budget, targets, settings...) is removed;
    * an audit_log row, action 'delete'.
Known limits
    * A reopen and a new completion both between two exports are invisible (done in both): derived counts are
      a lower bound, as exact as the upload cadence.
    * A project that first got derived reopen counts and later tracker status history keeps the higher count on
      import (never lowered); deleting an import rebuilds its issues from the snapshots, where the tracker's
      count stands.
    * Databases made before this module: the exported_at of old imports is backfilled from their snapshots, and
      each old import's sprint names (plus the values of the import that last updated each sprint) become its
      sprint snapshots; sprint dates an old import gave and a later one overwrote cannot come back.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

AUTHOR = "snapshot-diff"
_DIFF_COLS = ("status_category", "done_at", "sprints", "story_points", "original_estimate_h", "remaining_estimate_h")
_SHORT = {"status_category": "status", "done_at": "done_at", "sprints": "sprints", "story_points": "sp",
          "original_estimate_h": "oe", "remaining_estimate_h": "re"}


class ImportNotFound(LookupError):
    """No import with this id; nothing was changed."""

    def __init__(self, import_id):
        self.import_id = import_id
        super().__init__(f"import {import_id} not found")


# --- Export time, and databases made before the history columns existed ------------------------------

def export_time(cur, now: datetime) -> datetime:
    """The staged file's export time: max(updated_at) of stage_issues capped at `now`, else `now`."""
    latest = cur.execute("SELECT max(updated_at) FROM stage_issues").fetchone()[0]
    if latest is None:
        return now
    return min(latest, now)


def backfill(cur) -> None:
    """Fill what older databases lack, once: imports.exported_at, and a sprint snapshot for each sprint row
    whose last import has none (made before sprint_snapshots existed). A no-op on a database made since."""
    if cur.execute("SELECT count(*) FROM imports WHERE exported_at IS NULL").fetchone()[0]:
        # Imports made before these columns: the sprint names their issues carried (what a CSV import staged;
        # dates a JSON import gave survive only where it was the last to update the sprint, below).
        cur.execute("""
            INSERT INTO sprint_snapshots (import_id, project_key, name)
            SELECT DISTINCT s.import_id, s.project_key, n.name
            FROM issue_snapshots s, unnest(s.sprints) AS n(name)
            WHERE n.name IS NOT NULL AND s.import_id IN (SELECT import_id FROM imports WHERE exported_at IS NULL)
              AND NOT EXISTS (SELECT 1 FROM sprint_snapshots x WHERE x.import_id = s.import_id
                              AND x.project_key = s.project_key AND x.name = n.name)""")
        cur.execute("""
            UPDATE imports m SET exported_at = coalesce(
                (SELECT least(max(s.updated_at), m.imported_at) FROM issue_snapshots s WHERE s.import_id = m.import_id),
                m.imported_at)
            WHERE m.exported_at IS NULL""")
    cur.execute("""
        INSERT INTO sprint_snapshots (import_id, project_key, name, state, start_at, end_at, completed_at)
        SELECT t.import_id, t.project_key, t.name, t.state, t.start_at, t.end_at, t.completed_at FROM sprints t
        WHERE t.import_id IS NOT NULL AND coalesce(t.source, '') <> 'manual'
          AND NOT EXISTS (SELECT 1 FROM sprint_snapshots s WHERE s.import_id = t.import_id
                          AND s.project_key = t.project_key AND s.name = t.name)""")


# --- The diff ---------------------------------------------------------------------------------------------

def _num(col: str) -> str:
    """Numeric text as jira-json writes it: '5', '0.5' (integers without '.0')."""
    return (f"CASE WHEN {col} IS NULL THEN NULL WHEN {col} = trunc({col}) AND abs({col}) < 1e15 "
            f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")


def _members(col: str) -> str:
    return f"list_sort(list_distinct(coalesce({col}, []::VARCHAR[])))"


def _names(col: str) -> str:
    return f"CAST(to_json(coalesce(list_filter({col}, lambda x: x IS NOT NULL), []::VARCHAR[])) AS VARCHAR)"


def _differs() -> str:
    """SQL true when a pair's states p_* and n_* differ in something the diff records."""
    return ("(coalesce(p_status = 'done', false) <> coalesce(n_status = 'done', false)"
            f" OR {_members('p_sprints')} IS DISTINCT FROM {_members('n_sprints')}"
            " OR p_sp IS DISTINCT FROM n_sp OR p_oe IS DISTINCT FROM n_oe OR p_re IS DISTINCT FROM n_re)")


def _emit(cur, pairs: str) -> int:
    """Insert the derived rows of every pair in temp table `pairs` (project_key, issue_key, tag, t, p_t, prior,
    p_*/n_* states); returns the number of rows inserted."""
    before = cur.execute("SELECT count(*) FROM changes WHERE author = ?", [AUTHOR]).fetchone()[0]
    reopen = "coalesce(p_status = 'done', false) AND n_status IS DISTINCT FROM 'done'"
    cur.execute(f"""
        INSERT INTO changes (project_key, issue_key, changed_at, field, from_value, to_value, author, import_id)
        SELECT d.project_key, d.issue_key, d.changed_at, d.field, d.from_value, d.to_value, '{AUTHOR}', d.tag
        FROM (
            SELECT project_key, issue_key, tag, t AS changed_at, 'status_category' AS field,
                   'done' AS from_value, n_status AS to_value
            FROM {pairs} WHERE {reopen}
            UNION ALL   -- the first reopen: when the issue had entered DONE, as the earlier export says
            SELECT project_key, issue_key, tag, least(p_done_at, p_t), 'status_category', 'in_progress', 'done'
            FROM {pairs} WHERE {reopen} AND NOT prior
            UNION ALL   -- after a reopen, each move back into DONE
            SELECT project_key, issue_key, tag,
                   CASE WHEN n_done_at > p_t AND n_done_at <= t THEN n_done_at ELSE t END,
                   'status_category', p_status, 'done'
            FROM {pairs} WHERE prior AND p_status IS DISTINCT FROM 'done' AND n_status = 'done'
            UNION ALL
            SELECT project_key, issue_key, tag, t, 'sprint', {_names('p_sprints')}, {_names('n_sprints')}
            FROM {pairs} WHERE {_members('p_sprints')} IS DISTINCT FROM {_members('n_sprints')}
            UNION ALL
            SELECT project_key, issue_key, tag, t, 'story_points', {_num('p_sp')}, {_num('n_sp')}
            FROM {pairs} WHERE p_sp IS DISTINCT FROM n_sp
            UNION ALL
            SELECT project_key, issue_key, tag, t, 'original_estimate_h', {_num('p_oe')}, {_num('n_oe')}
            FROM {pairs} WHERE p_oe IS DISTINCT FROM n_oe
            UNION ALL
            SELECT project_key, issue_key, tag, t, 'remaining_estimate_h', {_num('p_re')}, {_num('n_re')}
            FROM {pairs} WHERE p_re IS DISTINCT FROM n_re
        ) d
        WHERE NOT EXISTS (SELECT 1 FROM changes c WHERE c.project_key = d.project_key
                          AND c.issue_key = d.issue_key AND c.field = d.field
                          AND c.author IS DISTINCT FROM '{AUTHOR}')""")
    return cur.execute("SELECT count(*) FROM changes WHERE author = ?", [AUTHOR]).fetchone()[0] - before


def _state(prefix: str, alias: str) -> str:
    return ", ".join(f"{alias}.{c} AS {prefix}{_SHORT[c]}" for c in _DIFF_COLS)


def derive_in_order(cur, import_id: int, t) -> int:
    """Derived rows between each issue's current row and its staged row, for the issues this export is the
    newest of (temp table _prev, column wins; the issues rows not yet replaced). Returns rows inserted."""
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pairs AS
        SELECT * FROM (
            SELECT p.project_key, p.issue_key, $x::INTEGER AS tag, $t::TIMESTAMPTZ AS t, p.last_t AS p_t,
                   false AS prior, {_state('p_', 'p')}, {_state('n_', 's')}
            FROM stage_issues s JOIN _prev p USING (project_key, issue_key)
            WHERE p.wins)
        WHERE {_differs()}""", {"x": import_id, "t": t})
    if not cur.execute("SELECT count(*) FROM _pairs").fetchone()[0]:
        cur.execute("DROP TABLE IF EXISTS _pairs")
        return 0
    cur.execute(f"""
        UPDATE _pairs SET prior = true WHERE (project_key, issue_key) IN (
            SELECT project_key, issue_key FROM changes
            WHERE author = '{AUTHOR}' AND field = 'status_category' AND from_value = 'done')""")
    n = _emit(cur, "_pairs")
    cur.execute("DROP TABLE IF EXISTS _pairs")
    return n


def rederive(cur, keys: str) -> int:
    """Derive again, from all their snapshots, the history of the issues listed in temp table `keys`
    (project_key, issue_key): their derived rows are deleted and every pair of successive snapshots is diffed.
    Returns the number of rows inserted."""
    cur.execute(f"DELETE FROM changes WHERE author = '{AUTHOR}' AND (project_key, issue_key) IN "
                f"(SELECT project_key, issue_key FROM {keys})")
    lag = ", ".join(f"lag(s.{c}) OVER w AS p_{_SHORT[c]}, s.{c} AS n_{_SHORT[c]}" for c in _DIFF_COLS)
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE _pairs AS
        WITH s AS (
            SELECT sn.project_key, sn.issue_key, sn.import_id, m.exported_at AS t,
                   {", ".join("sn." + c for c in _DIFF_COLS)}
            FROM issue_snapshots sn JOIN imports m ON m.import_id = sn.import_id
            SEMI JOIN {keys} k ON k.project_key = sn.project_key AND k.issue_key = sn.issue_key
        ), o AS (
            SELECT s.project_key, s.issue_key, s.import_id AS tag, s.t, lag(s.t) OVER w AS p_t,
                   row_number() OVER w AS k, {lag}
            FROM s WINDOW w AS (PARTITION BY s.project_key, s.issue_key ORDER BY s.t, s.import_id)
        ), r AS (
            SELECT *, (coalesce(p_status = 'done', false) AND n_status IS DISTINCT FROM 'done')::INT AS is_reopen
            FROM o WHERE k > 1
        )
        SELECT *, coalesce(sum(is_reopen) OVER (PARTITION BY project_key, issue_key ORDER BY t, tag
                                                ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) > 0 AS prior
        FROM r""")
    n = _emit(cur, "_pairs")
    cur.execute("DROP TABLE IF EXISTS _pairs")
    return n


def reopen_table(cur, keys: str) -> None:
    """Temp table _rc (project_key, issue_key, derived) for every issue of temp table `keys`: the number of
    derived reopens (0 when none), or NULL when its project has tracker status history (jira-json changelog,
    GitHub events): there the tracker's count stands and snapshots never set one."""
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE _rc AS
        WITH k AS (SELECT DISTINCT project_key, issue_key FROM {keys}),
        tracked AS (
            SELECT DISTINCT project_key FROM changes
            WHERE field = 'status_category' AND author IS DISTINCT FROM '{AUTHOR}'
              AND project_key IN (SELECT project_key FROM k)),
        n AS (
            SELECT c.project_key, c.issue_key, count(*) AS n
            FROM changes c SEMI JOIN k ON k.project_key = c.project_key AND k.issue_key = c.issue_key
            WHERE c.field = 'status_category' AND c.author = '{AUTHOR}' AND c.from_value = 'done'
            GROUP BY ALL)
        SELECT k.project_key, k.issue_key,
               CASE WHEN t.project_key IS NULL THEN coalesce(n.n, 0) END AS derived
        FROM k LEFT JOIN tracked t ON t.project_key = k.project_key
        LEFT JOIN n ON n.project_key = k.project_key AND n.issue_key = k.issue_key""")


def derived_reopens_sql(rc: str = "r") -> str:
    """The derived reopen count of an issue joined to _rc as `rc` (NULL: not derivable)."""
    return f"{rc}.derived"


def refresh_project(cur, project_key: str) -> int:
    """Derive a project's history again from its snapshots and recompute its reopen counts, after the
    canonical values of its snapshots changed (a status mapping replayed by store/projects.set_value_maps).
    Call inside the caller's transaction. Returns the number of derived rows."""
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE _keys AS
        SELECT project_key, issue_key FROM issue_snapshots WHERE project_key = ?
        GROUP BY ALL HAVING count(*) > 1""", [project_key])
    try:
        if not cur.execute("SELECT count(*) FROM _keys").fetchone()[0]:
            return 0
        n = rederive(cur, "_keys")
        reopen_table(cur, "_keys")
        cur.execute(f"""
            UPDATE issues i SET reopen_count = greatest(a.rc, {derived_reopens_sql()})::INTEGER
            FROM (SELECT project_key, issue_key, max(reopen_count) AS rc FROM issue_snapshots
                  SEMI JOIN _keys USING (project_key, issue_key) GROUP BY ALL) a
            LEFT JOIN _rc r USING (project_key, issue_key)
            WHERE i.project_key = a.project_key AND i.issue_key = a.issue_key""")
        return n
    finally:
        cur.execute("DROP TABLE IF EXISTS _keys")
        cur.execute("DROP TABLE IF EXISTS _rc")


# --- Delete an import -----------------------------------------------------------------------------------

def _issue_columns() -> tuple[str, ...]:
    from store.load import ISSUE_COLUMNS
    return ISSUE_COLUMNS


def _hand_over(cur, table: str, import_id: int) -> int:
    """Rows of `table` (changes / worklogs) that the import brought: those another import also contained go to
    the earliest such import; the others are deleted. Returns the number deleted."""
    before = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    cur.execute(f"""DELETE FROM {table} WHERE import_id = $x
                    AND coalesce(len(list_filter(also_import_ids, lambda i: i <> $x)), 0) = 0""", {"x": import_id})
    deleted = before - cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    cur.execute(f"""
        UPDATE {table} SET import_id = list_min(also_import_ids),
            also_import_ids = CASE WHEN len(list_filter(also_import_ids, lambda i: i <> list_min(also_import_ids))) = 0
                                   THEN NULL
                                   ELSE list_filter(also_import_ids, lambda i: i <> list_min(also_import_ids)) END
        WHERE import_id = $x""", {"x": import_id})
    cur.execute(f"""
        UPDATE {table} SET also_import_ids = CASE WHEN len(list_filter(also_import_ids, lambda i: i <> $x)) = 0
                                                  THEN NULL ELSE list_filter(also_import_ids, lambda i: i <> $x) END
        WHERE list_contains(also_import_ids, $x)""", {"x": import_id})
    return deleted


def _restore_issues(cur, keys: str) -> tuple[int, int]:
    """Rebuild the issues rows listed in `keys` from their remaining snapshots (latest by export time), or
    delete them when none is left. Returns (restored, deleted)."""
    cols = _issue_columns()
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE _snaps AS
        SELECT sn.*, m.exported_at AS t FROM issue_snapshots sn JOIN imports m ON m.import_id = sn.import_id
        SEMI JOIN {keys} k ON k.project_key = sn.project_key AND k.issue_key = sn.issue_key""")
    reopen_table(cur, keys)
    before = cur.execute(f"SELECT count(*) FROM issues SEMI JOIN {keys} USING (project_key, issue_key)").fetchone()[0]
    cur.execute(f"DELETE FROM issues WHERE (project_key, issue_key) IN (SELECT project_key, issue_key FROM {keys})")
    select = ", ".join(
        "a.first_done_at" if c == "first_done_at" else
        f"greatest(a.rc, CASE WHEN a.n > 1 THEN {derived_reopens_sql()} END)::INTEGER" if c == "reopen_count" else
        f"l.{c}" for c in cols)
    cur.execute(f"""
        INSERT INTO issues ({", ".join(cols)}, first_import_id, last_import_id)
        SELECT {select}, a.first_import_id, l.import_id
        FROM (SELECT * FROM _snaps QUALIFY row_number() OVER (PARTITION BY project_key, issue_key
                                                              ORDER BY t DESC, import_id DESC) = 1) l
        JOIN (SELECT project_key, issue_key, min(first_done_at) AS first_done_at, max(reopen_count) AS rc,
                     min(import_id) AS first_import_id, count(*) AS n
              FROM _snaps GROUP BY ALL) a USING (project_key, issue_key)
        LEFT JOIN _rc r USING (project_key, issue_key)""")
    restored = cur.execute("SELECT count(DISTINCT (project_key, issue_key)) FROM _snaps").fetchone()[0]
    cur.execute("DROP TABLE IF EXISTS _snaps")
    cur.execute("DROP TABLE IF EXISTS _rc")
    return restored, before - restored


def _restore_sprints(cur, import_id: int) -> tuple[int, int]:
    """Replay the sprints the import staged or last updated from the remaining imports' sprint snapshots, in
    import order as store/load.py merged them (a value given wins over an empty one, the later import wins);
    manual sprints stay. Returns (restored, deleted)."""
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE _spr AS
        SELECT DISTINCT project_key, name FROM sprint_snapshots WHERE import_id = $x
        UNION SELECT project_key, name FROM sprints WHERE import_id = $x""", {"x": import_id})
    cur.execute("DELETE FROM sprint_snapshots WHERE import_id = ?", [import_id])
    before = cur.execute("SELECT count(*) FROM sprints t SEMI JOIN _spr USING (project_key, name) "
                         "WHERE coalesce(t.source, '') <> 'manual'").fetchone()[0]
    cur.execute("""DELETE FROM sprints WHERE coalesce(source, '') <> 'manual'
                   AND (project_key, name) IN (SELECT project_key, name FROM _spr)""")
    cur.execute("""
        INSERT INTO sprints (project_key, name, state, start_at, end_at, completed_at, source, import_id)
        SELECT project_key, name,
               arg_max(state, import_id) FILTER (WHERE state IS NOT NULL),
               arg_max(start_at, import_id) FILTER (WHERE start_at IS NOT NULL),
               arg_max(end_at, import_id) FILTER (WHERE end_at IS NOT NULL),
               arg_max(completed_at, import_id) FILTER (WHERE completed_at IS NOT NULL),
               CASE WHEN bool_or(start_at IS NOT NULL) THEN 'tracker' ELSE 'names-only' END,
               max(import_id)
        FROM sprint_snapshots s SEMI JOIN _spr USING (project_key, name)
        WHERE NOT EXISTS (SELECT 1 FROM sprints t WHERE t.project_key = s.project_key AND t.name = s.name)
        GROUP BY ALL""")
    restored = cur.execute("SELECT count(*) FROM sprints t SEMI JOIN _spr USING (project_key, name) "
                           "WHERE coalesce(t.source, '') <> 'manual'").fetchone()[0]
    cur.execute("DROP TABLE IF EXISTS _spr")
    return restored, before - restored


# Tables where the PMO enters data about a project: a project with a row in any of them is not "left with
# nothing" after its last import is deleted.
_PMO_TABLES = ("targets", "metric_snapshots", "actions", "milestones", "risks", "decisions", "rag_overrides",
               "review_notes", "value_maps", "column_mappings", "settings")
_DATA_TABLES = ("issues", "sprints", "changes", "worklogs", "issue_snapshots", "sprint_snapshots")


def _remove_if_empty(cur, project_key: str) -> bool:
    used = cur.execute("SELECT count(*) FROM imports WHERE list_contains(string_split(project_key, ','), ?)",
                       [project_key]).fetchone()[0]
    for table in _DATA_TABLES + _PMO_TABLES:
        if used:
            break
        used = cur.execute(f"SELECT count(*) FROM {table} WHERE project_key = ?", [project_key]).fetchone()[0]
    if not used:
        used = cur.execute("SELECT count(*) FROM projects WHERE project_key = ? AND (size_kloc IS NOT NULL "
                           "OR size_fp IS NOT NULL OR bac IS NOT NULL OR hourly_rate IS NOT NULL)",
                           [project_key]).fetchone()[0]
    if used:
        return False
    cur.execute("DELETE FROM projects WHERE project_key = ?", [project_key])
    return True


def get_import(cur, import_id: int) -> dict | None:
    rows = cur.execute("SELECT import_id, project_key, source_format, file_name, rows, imported_at, exported_at "
                       "FROM imports WHERE import_id = ?", [import_id]).fetchall()
    if not rows:
        return None
    return dict(zip(("import_id", "project_key", "source_format", "file_name", "rows", "imported_at",
                     "exported_at"), rows[0]))


def delete_import(cur, import_id: int, *, user: str | None = None, own_transaction: bool = True) -> dict:
    """Delete one import in one transaction (see the module doc); raises ImportNotFound when there is none.

    Returns {import_id, file_name, project_key, issues_restored, issues_deleted, snapshots, changes, worklogs,
    sprints_restored, sprints_deleted, projects_removed}."""
    try:
        import_id = int(import_id)
    except (TypeError, ValueError):
        raise ImportNotFound(import_id) from None
    imp = get_import(cur, import_id)
    if imp is None:
        raise ImportNotFound(import_id)
    keys = [k for k in (imp["project_key"] or "").split(",") if k]
    if own_transaction:
        cur.execute("BEGIN TRANSACTION")
    try:
        backfill(cur)
        cur.execute("""
            CREATE OR REPLACE TEMP TABLE _aff AS
            SELECT DISTINCT project_key, issue_key FROM issue_snapshots WHERE import_id = $x
            UNION SELECT project_key, issue_key FROM issues WHERE last_import_id = $x OR first_import_id = $x
            UNION SELECT DISTINCT project_key, issue_key FROM changes WHERE import_id = $x""", {"x": import_id})
        snapshots = cur.execute("SELECT count(*) FROM issue_snapshots WHERE import_id = ?", [import_id]).fetchone()[0]
        cur.execute("DELETE FROM issue_snapshots WHERE import_id = ?", [import_id])
        derived_before = cur.execute(f"SELECT count(*) FROM changes WHERE author = '{AUTHOR}' AND import_id = ?",
                                     [import_id]).fetchone()[0]
        cur.execute(f"DELETE FROM changes WHERE author = '{AUTHOR}' AND import_id = ?", [import_id])
        changes = _hand_over(cur, "changes", import_id)
        worklogs = _hand_over(cur, "worklogs", import_id)
        rederive(cur, "_aff")
        issues_restored, issues_deleted = _restore_issues(cur, "_aff")
        sprints_restored, sprints_deleted = _restore_sprints(cur, import_id)
        cur.execute("DELETE FROM imports WHERE import_id = ?", [import_id])
        removed = [k for k in keys if _remove_if_empty(cur, k)]
        out = {"import_id": import_id, "file_name": imp["file_name"], "project_key": imp["project_key"],
               "issues_restored": issues_restored, "issues_deleted": issues_deleted, "snapshots": snapshots,
               "changes": changes, "changes_derived": derived_before, "worklogs": worklogs,
               "sprints_restored": sprints_restored, "sprints_deleted": sprints_deleted,
               "projects_removed": removed}
        cur.execute("INSERT INTO audit_log (\"at\", \"user\", role, action, detail) VALUES (?, ?, NULL, 'delete', ?)",
                    [datetime.now(timezone.utc), user, json.dumps(out, ensure_ascii=False, default=str)])
        if own_transaction:
            cur.execute("COMMIT")
    except BaseException:
        if own_transaction:
            cur.execute("ROLLBACK")
        raise
    finally:
        for t in ("_aff", "_pairs", "_rc", "_snaps", "_spr"):
            try:
                cur.execute(f"DROP TABLE IF EXISTS {t}")
            except Exception:   # an aborted caller's transaction: its rollback drops them
                pass
    return out
