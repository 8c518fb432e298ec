"""Process-wide and per-session state for the pages: the database, the cursor, the chosen project.

One DuckDB connection per process (st.cache_resource) and a fresh cursor per script run: a connection shared
by Streamlit's threads refuses calls or returns empty results (STREAMLIT.md 1.3).
"""
from __future__ import annotations

import logging

import streamlit as st

from store import db

log = logging.getLogger("pulse")


@st.cache_resource
def get_connection():
    """Open the database; on the very first start (no imports yet) load the demo so a newcomer sees charts."""
    con = db.connect()
    cur = db.cursor(con)
    empty = cur.execute("SELECT (SELECT count(*) FROM imports) + (SELECT count(*) FROM projects)").fetchone()[0] == 0
    if empty:
        try:
            from demo import load_demo
            load_demo(cur)
        except Exception:   # a broken demo must never stop the app from opening
            log.exception("demo data could not be loaded")
    return con


def cursor():
    """A cursor for this script run."""
    return db.cursor(get_connection())


def projects(cur) -> list[tuple[str, str]]:
    return cur.execute("SELECT project_key, coalesce(name, project_key) FROM projects ORDER BY project_key").fetchall()


def current_project(cur) -> str | None:
    """The project chosen in the sidebar (kept in session state across pages); before any choice, the
    project of the latest import: what the user just uploaded, or the demo's showcase project."""
    keys = [k for k, _ in projects(cur)]
    if not keys:
        return None
    chosen = st.session_state.get("project")
    if chosen in keys:
        return chosen
    latest = cur.execute("SELECT project_key FROM imports ORDER BY import_id DESC LIMIT 1").fetchall()
    latest = latest[0][0].split(",")[0] if latest else None
    return latest if latest in keys else keys[0]
