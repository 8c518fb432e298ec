"""Ingest: decode an export, detect its format, stage it in DuckDB SQL, commit it atomically.

`ingest_file` is the one entry point the Import page and `cli.py ingest` share.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingest.decode import Decoded, decode_file
from ingest.detect import FORMATS, detect, is_xlsx, probe
from ingest.errors import IngestError
from store.load import ImportResult, commit_import, drop_stage


@dataclass
class ImportContext:
    """What the user told us about the file: project key override, time zone of naive timestamps."""
    file_name: str
    project_key: str | None = None
    source_tz: str = "Asia/Shanghai"
    mapping: dict | None = None       # format `mapping`: {"name", "project_key", "fields"} (ingest/mapping.py)


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def ingest_file(cur, path: str | os.PathLike, *, project_key: str | None = None, fmt: str = "auto",
                file_name: str | None = None, imported_by: str | None = None,
                source_tz: str | None = None, own_transaction: bool = True,
                mapping: dict | None = None, max_bytes: int | None = None) -> ImportResult:
    """Import one export file. Raises IngestError (database unchanged) when the file is refused.

    max_bytes: refuse a larger file ("too_large"; the Import page passes the `max_upload_mb` setting, so the
    limit holds whatever the uploader widget let through).

    mapping: canonical field -> header name, to read a CSV/XLSX of any other shape (ingest/mapping.py); without
    it, a saved mapping may still be chosen (ingest.mapping.choose_format has the precedence)."""
    path = Path(path)
    name = file_name or path.name
    if not path.exists():
        raise IngestError("not_found", name)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise IngestError("too_large", name, limit=f"{max_bytes / (1024 * 1024):g}")
    if project_key is not None and not project_key.strip():
        project_key = None
    # An XLSX workbook is binary: it skips text decoding and goes to probe() as it is.
    decoded = Decoded(path, "xlsx", name) if is_xlsx(path) else decode_file(path, name)
    try:
        p = probe(decoded)
        format_, chosen = choose_format(cur, p, name, fmt, project_key.strip() if project_key else None, mapping)
        project_key = project_key or (chosen or {}).get("project_key")
        tz = source_tz or _project_tz(cur, project_key)
        ctx = ImportContext(file_name=name, project_key=project_key.strip() if project_key else None,
                            source_tz=tz, mapping=chosen)
        try:
            try:
                staged = format_.stage(cur, decoded, p, ctx)
            except (TypeError, AttributeError, KeyError, IndexError) as exc:
                # JSON adapters walk the parsed document in Python: a value of another type than the tracker
                # writes (`"labels": 5`) is a refusal of the file, never a traceback for the user.
                if p.kind != "json":
                    raise
                raise IngestError("json_unexpected_value", name,
                                  detail=f"{type(exc).__name__}: {exc}") from exc
            staged.warnings = decoded.warnings + staged.warnings + _done_without_resolution(cur)
            return commit_import(cur, staged, file_name=name, file_sha256=decoded.sha256 or sha256_of(path),
                                 imported_by=imported_by, own_transaction=own_transaction)
        finally:
            try:
                drop_stage(cur)
            except duckdb.Error:
                # A refusal inside a caller's transaction aborts it: every statement fails until its rollback
                # (which drops these temp tables anyway), and the refusal must stay the error raised.
                pass
    finally:
        decoded.cleanup()


def ingest_files(cur, paths, **kwargs) -> list[ImportResult]:
    """Import several files all or nothing: the first refused file rolls every one of them back."""
    cur.execute("BEGIN TRANSACTION")
    try:
        results = [ingest_file(cur, p, own_transaction=False, **kwargs) for p in paths]
        cur.execute("COMMIT")
    except BaseException:
        cur.execute("ROLLBACK")
        raise
    return results


def _done_without_resolution(cur) -> list[dict]:
    """Done issues whose export names no resolution (a GitLab close, a ZenTao task marked 已完成, a Jira workflow
    without a resolution screen) are delivered: the tracker's own done column says so (METRICS.md G3/G5, our
    rule). Said in the report, with the count, never silently."""
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE status_category = 'done' "
                    "AND resolution_class IS NULL").fetchone()[0]
    if not n:
        return []
    cur.execute("UPDATE stage_issues SET resolution_class = 'delivered' "
                "WHERE status_category = 'done' AND resolution_class IS NULL")
    return [{"code": "resolution_assumed_delivered", "count": n}]


def _project_tz(cur, project_key: str | None) -> str:
    if project_key:
        # fetchall, not fetchone: DuckDB 2.0 keeps a half-read result open and refuses the next register().
        rows = cur.execute("SELECT timezone FROM projects WHERE project_key = ?", [project_key]).fetchall()
        if rows and rows[0][0]:
            return rows[0][0]
    return "Asia/Shanghai"


# Built-in adapters register themselves on import.
from ingest import jira_csv  # noqa: E402,F401
from ingest import jira_json  # noqa: E402,F401
from ingest import gitlab, github, azure_devops, redmine  # noqa: E402,F401
from ingest import zentao  # noqa: E402,F401
from ingest import jira_xml  # noqa: E402,F401
from ingest.mapping import choose_format  # noqa: E402  (registers `mapping`; it never sniffs)

__all__ = ["ingest_file", "ingest_files", "IngestError", "ImportResult", "FORMATS"]
