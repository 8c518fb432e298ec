"""The format registry: each adapter registers how to recognise its files and how to stage them.

Detection reads only the head of a file (the header record of a CSV, the top-level shape of a JSON
document), so it is cheap on a 1M-row export. Built-in adapters register here exactly as a new one would.
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ingest.decode import Decoded
from ingest.errors import IngestError

HEAD_BYTES = 4 * 1024 * 1024


@dataclass
class Probe:
    """What detection looks at: the file's kind and its header (CSV, XLSX) or parsed document (JSON)."""
    kind: str                       # csv | json | xlsx
    header: list[str] | None = None
    delimiter: str = ","
    document: Any = None


@dataclass(frozen=True)
class Format:
    name: str                       # the --format value, e.g. jira-csv
    kind: str
    label_en: str
    label_zh: str
    sniff: Callable[[Probe], bool]
    stage: Callable[..., Any]       # stage(cur, decoded, probe, ctx) -> store.load.Staged


FORMATS: dict[str, Format] = {}


def register(fmt: Format) -> Format:
    if fmt.name in FORMATS:
        raise ValueError(f"format {fmt.name!r} registered twice")
    FORMATS[fmt.name] = fmt
    return fmt


XLSX_MAGIC = b"PK\x03\x04"       # an XLSX workbook is a ZIP archive


def is_xlsx(path) -> bool:
    """The file starts with the ZIP magic: a workbook, to be read as binary (never text-decoded)."""
    with open(path, "rb") as fh:
        return fh.read(4) == XLSX_MAGIC


def probe(decoded: Decoded) -> Probe:
    """Read the head of a decoded file: a JSON document or a CSV header record (an XLSX: its first row)."""
    if is_xlsx(decoded.path):
        return _probe_xlsx(decoded)
    with open(decoded.path, "r", encoding="utf-8-sig", newline="") as fh:
        head = fh.read(HEAD_BYTES)
    stripped = head.lstrip()
    if stripped[:1] in ("{", "["):
        text = Path(decoded.path).read_text(encoding="utf-8-sig")
        try:
            return Probe("json", document=json.loads(text))
        except json.JSONDecodeError as exc:
            lines = _json_lines(text)
            if lines is None:
                raise IngestError("bad_json", decoded.file_name, row=exc.lineno, detail=exc.msg) from None
            return Probe("json", document=lines)
    if not stripped:
        raise IngestError("empty_file", decoded.file_name)
    first_line = head.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter))
    except (csv.Error, StopIteration):
        raise IngestError("no_header", decoded.file_name, row=1) from None
    return Probe("csv", header=[h.strip() for h in header], delimiter=delimiter)


def _probe_xlsx(decoded: Decoded) -> Probe:
    """The first row of the first sheet as the header (pandas with the calamine engine, cells as text)."""
    import pandas as pd
    try:
        frame = pd.read_excel(decoded.path, engine="calamine", dtype=str, header=None, nrows=1)
    except Exception as exc:    # calamine, zipfile and pandas each raise their own types
        raise IngestError("bad_xlsx", decoded.file_name, detail=str(exc).splitlines()[0][:200]) from None
    if frame.empty:
        raise IngestError("empty_file", decoded.file_name)
    header = ["" if pd.isna(v) else str(v).strip() for v in frame.iloc[0]]
    while header and not header[-1]:
        header.pop()
    if not header:
        raise IngestError("no_header", decoded.file_name, row=1)
    return Probe("xlsx", header=header)


def _json_lines(text: str) -> list | None:
    """JSON Lines (one document per line, as API dumps are often saved), or None when it is not that."""
    out = []
    for line in text.splitlines():
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                return None
    return out if len(out) > 1 else None


def detect(p: Probe, file_name: str, wanted: str = "auto") -> Format:
    """The registered format for this probe, or the one the user asked for."""
    if wanted and wanted != "auto":
        if wanted not in FORMATS:
            raise IngestError("unknown_format", file_name, format=wanted, known=", ".join(sorted(FORMATS)))
        return FORMATS[wanted]
    for fmt in FORMATS.values():
        if fmt.kind == p.kind and fmt.sniff(p):
            return fmt
    if p.kind == "json":
        doc = p.document[0] if isinstance(p.document, list) and p.document else p.document
        keys = ", ".join(list(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
        raise IngestError("unknown_json_shape", file_name, seen=keys)
    raise IngestError("unknown_shape", file_name, seen=", ".join((p.header or [])[:8]))
