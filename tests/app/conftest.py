"""AppTest fixtures: a database pre-filled from our invented Jira exports, one fresh copy per test.

tests/data/app/acme_jira_all_fields.csv is an invented Jira "Export CSV (all fields)" (FORMATS.md 1.2-1.4:
dd/MMM/yy h:mm AM dates, estimates in seconds, repeated Sprint/Labels/Components columns). The configured
database also holds what a PMO enters in Settings (size, module sizes, sprint dates), written through
store/projects.py as the Settings page does.
"""
from __future__ import annotations

import shutil
import sys
import types
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.testing.v1 import app_test as app_test_module

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ingest import ingest_file  # noqa: E402
from store import db, projects  # noqa: E402
from tests.app.helpers import ACME_CSV  # noqa: E402

SPRINTS = [
    {"name": "ACME Sprint 1", "start": date(2026, 9, 28), "end": date(2026, 10, 16),
     "completed": date(2026, 10, 16), "state": "closed"},
    {"name": "ACME Sprint 2", "start": date(2026, 11, 2), "end": date(2026, 11, 13),
     "completed": date(2026, 11, 13), "state": "closed"},
    {"name": "ACME Sprint 3", "start": date(2026, 11, 16), "end": date(2026, 11, 27), "state": "active"},
]


def build(path: Path, *, configured: bool) -> None:
    con = db.connect(path)
    cur = db.cursor(con)
    ingest_file(cur, ACME_CSV)
    if configured:
        projects.update_project(cur, "ACME", size_kloc=4.0, size_fp=50, calendar="CN",
                                timezone_name="Asia/Shanghai")
        projects.set_module_sizes(cur, "ACME", {"Web": 2.5, "API": 1.5})
        projects.set_sprint_dates(cur, "ACME", SPRINTS)
    cur.close()
    con.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "legacy_pages_mode: run AppTest as Streamlit does it (legacy pages/ "
                                       "mode on every run), to test ui.components.ensure_frame")


@pytest.fixture(scope="session")
def _templates(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("templates")
    out = {}
    for name, configured in (("configured", True), ("raw", False)):
        out[name] = base / f"{name}.duckdb"
        build(out[name], configured=configured)
    return out


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def _no_demo(monkeypatch):
    """The app loads the demo into an empty database; tests want exactly their own data."""
    stub = types.ModuleType("demo")
    stub.load_demo = lambda cur: []
    monkeypatch.setitem(sys.modules, "demo", stub)


class _ServerPagesManager(PagesManager):
    """AppTest resets Streamlit's process-wide "legacy pages/ folder" flag before every run, so each run
    executes a switched-to page on its own, without app.py. A server resets it once, at start, and the first
    st.navigation call turns it off for good (ui.components.ensure_frame covers that first request; tested
    in test_frame.py). Here every run sees what the server sees from its second request on."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        PagesManager.uses_pages_directory = False


@pytest.fixture(autouse=True)
def _server_pages_mode(request, monkeypatch):
    if "legacy_pages_mode" not in request.keywords:
        monkeypatch.setattr(app_test_module, "PagesManager", _ServerPagesManager)
    yield
    PagesManager.uses_pages_directory = None


def _use(path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("PULSE_DB", str(path))
    return path


@pytest.fixture
def pulse_db(_templates, tmp_path, monkeypatch) -> Path:
    """ACME imported and configured (4 KLOC, 50 FP, module sizes, sprint dates)."""
    path = tmp_path / "pulse.duckdb"
    shutil.copy(_templates["configured"], path)
    return _use(path, monkeypatch)


@pytest.fixture
def raw_db(_templates, tmp_path, monkeypatch) -> Path:
    """ACME imported, nothing configured (no size, sprint dates inferred)."""
    path = tmp_path / "pulse.duckdb"
    shutil.copy(_templates["raw"], path)
    return _use(path, monkeypatch)


@pytest.fixture
def empty_db(tmp_path, monkeypatch) -> Path:
    return _use(tmp_path / "pulse.duckdb", monkeypatch)


@pytest.fixture
def cursor():
    """A cursor on the database the app uses ($PULSE_DB), for computing expected values."""
    def _open():
        return db.cursor(db.connect(db.default_db_path()))
    return _open


