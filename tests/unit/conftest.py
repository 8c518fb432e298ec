"""Shared fixtures for the unit tests: a fresh in-memory database per test, and row loaders."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "metrics"
if str(ROOT) not in sys.path:  # so `pytest tests/unit` works from any directory
    sys.path.insert(0, str(ROOT))

from store import db  # noqa: E402


@pytest.fixture
def cur():
    """A cursor on a fresh in-memory database with the canonical schema."""
    con = db.connect(":memory:")
    cursor = db.cursor(con)
    yield cursor
    cursor.close()
    con.close()


def insert_rows(cur, table: str, rows: list[dict], defaults: dict | None = None) -> None:
    """Insert dict rows (column names from the dicts; values always bound as parameters)."""
    for row in rows:
        row = {**(defaults or {}), **row}
        cols = list(row)
        cur.execute(
            f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' for _ in cols)})",
            [row[c] for c in cols],
        )


@pytest.fixture
def insert(cur):
    def _insert(table: str, rows: list[dict], **defaults) -> None:
        insert_rows(cur, table, rows, defaults)
    return _insert


@pytest.fixture
def load_json(cur):
    """Load tests/data/metrics/<name>: {"project_key": ..., "<table>": [rows], ...}."""
    def _load(name: str) -> dict:
        spec = json.loads((DATA / name).read_text(encoding="utf-8"))
        pk = spec["project_key"]
        for table, rows in spec.items():
            if table in ("project_key", "comment"):
                continue
            defaults = {} if table == "calendar" else {"project_key": pk}
            insert_rows(cur, table, rows, defaults)
        return spec
    return _load
