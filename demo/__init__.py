"""The demo a newcomer sees first: tracker export files written by `demo.generate`, imported through the
same `ingest.ingest_file` path a user's files take, then the PMO's project settings applied.

`cli.py demo` and the app's first start on an empty database call `load_demo`.
"""
from __future__ import annotations

import json
import logging
from datetime import date, datetime, timezone
from pathlib import Path

from demo.generate import TZ, DemoFile, write_demo_exports

log = logging.getLogger(__name__)

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "data" / "demo"
# The projects columns a DemoFile may set (never anything else: the names go into SQL).
PROJECT_COLUMNS = ("name", "timezone", "calendar", "size_kloc", "size_fp", "bac", "hourly_rate", "currency")
MILESTONE_COLUMNS = ("name", "baseline_date", "forecast_date", "actual_date", "acceptance_status", "source")

__all__ = ["load_demo", "write_demo_exports", "DemoFile", "DEFAULT_DIR"]


def load_demo(cur, today: date | None = None, out_dir: Path | None = None) -> list:
    """Write the demo exports (default: data/demo/) and import each one; returns the ImportResults.

    A file whose format has no registered adapter yet is skipped with a log line, not an error, so the demo
    works with whatever importers this build has. Settings are applied to the projects that were imported.
    The files come in import order, PAY last: the app opens on the project of the latest import.
    """
    from ingest import FORMATS, ingest_file

    today = today or datetime.now(TZ).date()
    files = write_demo_exports(Path(out_dir) if out_dir is not None else DEFAULT_DIR, today)
    results = []
    imported: dict[str, dict] = {}
    for f in files:
        if f.fmt not in FORMATS:
            log.warning("demo: skipping %s: no importer registered for format %r yet", f.path.name, f.fmt)
            continue
        tz = f.settings.get("project", {}).get("timezone")
        results.append(ingest_file(cur, f.path, project_key=f.project_key, fmt=f.fmt, source_tz=tz,
                                   imported_by="demo"))
        imported.setdefault(f.project_key, f.settings)
    for key, settings in imported.items():
        apply_settings(cur, key, settings)
    return results


def apply_settings(cur, project_key: str, settings: dict) -> None:
    """UPDATE the project's row, upsert its named settings and its milestones, in one transaction, with an
    audit entry."""
    project = {k: v for k, v in settings.get("project", {}).items() if k in PROJECT_COLUMNS}
    named = settings.get("settings", {})
    milestones = settings.get("milestones", [])
    cur.execute("BEGIN TRANSACTION")
    try:
        if project:
            cols = ", ".join(f"{k} = ?" for k in project)
            cur.execute(f"UPDATE projects SET {cols} WHERE project_key = ?", [*project.values(), project_key])
        for name, value in named.items():
            if not isinstance(value, str):
                value = json.dumps(value, ensure_ascii=False)
            cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, ?)", [project_key, name, value])
        for m in milestones:
            cur.execute(f"INSERT OR REPLACE INTO milestones (project_key, {', '.join(MILESTONE_COLUMNS)}) "
                        f"VALUES (?{', ?' * len(MILESTONE_COLUMNS)})",
                        [project_key, *(m.get(c) for c in MILESTONE_COLUMNS)])
        cur.execute("INSERT INTO audit_log (\"at\", \"user\", role, action, detail) VALUES (?, ?, ?, 'settings', ?)",
                    [datetime.now(timezone.utc), "demo", None,
                     json.dumps({"project_key": project_key, "project": project, "settings": sorted(named),
                                 "milestones": [m["name"] for m in milestones]}, ensure_ascii=False)])
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
