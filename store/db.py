"""Open the DuckDB file, create or migrate the canonical schema, hand out cursors.

One connection per process; each thread (Streamlit script run, CLI command) takes its own `.cursor()`:
a connection shared across threads refuses or silently returns empty results (STREAMLIT.md 1.3).
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = Path(__file__).with_name("schema.sql")
SCHEMA_VERSION = 1
DEFAULT_DB = ROOT / "data" / "pulse.duckdb"

# Every table of the canonical model, in the order backups and table-by-table comparisons walk them.
TABLES = (
    "projects", "imports", "issues", "issue_snapshots", "changes", "sprints", "worklogs", "calendar",
    "targets", "metric_snapshots", "actions", "milestones", "risks", "decisions", "rag_overrides",
    "review_notes", "value_maps", "column_mappings", "audit_log", "settings", "sprint_snapshots",
)


def default_db_path() -> Path:
    """`$PULSE_DB`, else data/pulse.duckdb (DESIGN.md command-line contract)."""
    return Path(os.environ.get("PULSE_DB") or DEFAULT_DB)


def connect(path: str | os.PathLike | None = None) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the database and bring its schema up to date."""
    path = Path(path) if path is not None else default_db_path()
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    # Extensions cannot be downloaded here: fail at once rather than hang on the network.
    con = duckdb.connect(str(path), config={"autoinstall_known_extensions": False,
                                            "autoload_known_extensions": False})
    con.execute("SET TimeZone = 'UTC'")
    migrate(con)
    return con


def cursor(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A thread-local cursor with the session settings every query relies on."""
    cur = con.cursor()
    cur.execute("SET TimeZone = 'UTC'")
    return cur


def migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Create every table that is missing; record the schema version once."""
    con.execute(SCHEMA.read_text(encoding="utf-8"))
    done = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    if done is None or done < SCHEMA_VERSION:
        con.execute("INSERT INTO schema_version VALUES (?, ?)",
                    [SCHEMA_VERSION, datetime.now(timezone.utc)])


def data_version(cur: duckdb.DuckDBPyConnection) -> str:
    """A cheap string that changes whenever imported data or settings change: the key for st.cache_data."""
    row = cur.execute(
        "SELECT (SELECT coalesce(max(import_id), 0) FROM imports), (SELECT count(*) FROM imports),"
        " (SELECT count(*) FROM settings), (SELECT count(*) FROM calendar),"
        " (SELECT coalesce(sum(hash(project_key, size_kloc, size_fp, timezone, calendar)), 0) FROM projects),"
        " (SELECT coalesce(sum(hash(name, start_at, end_at, completed_at)), 0) FROM sprints)"
    ).fetchone()
    return "-".join(str(x) for x in row)
