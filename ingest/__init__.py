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


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            h.update(chunk)
    return h.hexdigest()


def ingest_file(cur, path: str | os.PathLike, *, project_key: str | None = None, fmt: str = "auto",
                file_name: str | None = None, imported_by: str | None = None,
                source_tz: str | None = None, own_transaction: bool = True) -> ImportResult:
    """Import one export file. Raises IngestError (database unchanged) when the file is refused."""
    path = Path(path)
    name = file_name or path.name
    if not path.exists():
        raise IngestError("not_found", name)
    if project_key is not None and not project_key.strip():
        project_key = None
    # An XLSX workbook is binary: it skips text decoding and goes to probe() as it is.
    decoded = Decoded(path, "xlsx", name) if is_xlsx(path) else decode_file(path, name)
    try:
        p = probe(decoded)
        format_ = detect(p, name, fmt)
        tz = source_tz or _project_tz(cur, project_key)
        ctx = ImportContext(file_name=name, project_key=project_key.strip() if project_key else None,
                            source_tz=tz)
        try:
            staged = format_.stage(cur, decoded, p, ctx)
            staged.warnings = decoded.warnings + staged.warnings
            return commit_import(cur, staged, file_name=name, file_sha256=sha256_of(path),
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

__all__ = ["ingest_file", "ingest_files", "IngestError", "ImportResult", "FORMATS"]
