"""The format registry: each adapter registers how to recognise its files and how to stage them.

Detection reads only the head of a file (the header record of a CSV, the top-level shape of a JSON
document), so it is cheap on a 1M-row export. Built-in adapters register here exactly as a new one would.
"""
from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ingest.decode import Decoded
from ingest.errors import IngestError

HEAD_BYTES = 4 * 1024 * 1024


@dataclass
class Probe:
    """What detection looks at: the file's kind and its header (CSV, XLSX) or parsed document (JSON); for XML,
    document = {"root": the root element's name, "head": the text's head from where the XML starts}."""
    kind: str                       # csv | json | xlsx | xml
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
# near_miss(probe) -> (format name, missing column) | None: a file that is clearly a format's but lacks the column
# that identifies its issues is refused naming that column, not as an unknown shape.
NEAR_MISSES: list[Callable[[Probe], tuple[str, str] | None]] = []
JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")


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
    xml_at = xml_start(stripped)
    if xml_at is not None:
        return _probe_xml(decoded, stripped[xml_at:])
    if stripped[:1] in ("{", "[") or (stripped and decoded.file_name.lower().endswith(JSON_SUFFIXES)):
        text = Path(decoded.path).read_text(encoding="utf-8-sig")
        try:
            try:
                return Probe("json", document=json.loads(text))
            except json.JSONDecodeError as exc:
                lines = _json_lines(text, decoded.file_name)
                if lines is None:
                    raise IngestError("bad_json", decoded.file_name, row=exc.lineno, detail=exc.msg) from None
                return Probe("json", document=lines)
        except RecursionError:      # Python's parser recurses per level: 100,000 nested "[" must not crash
            raise IngestError("json_too_deep", decoded.file_name) from None
    if not stripped:
        raise IngestError("empty_file", decoded.file_name)
    first_line = head.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first_line.count)
    if not first_line.count(delimiter) and "|" in first_line:
        raise IngestError("unsupported_delimiter", decoded.file_name, row=1, delimiter="|")
    try:
        header = next(csv.reader(io.StringIO(head), delimiter=delimiter))
    except csv.Error as exc:
        if "field limit" in str(exc):   # a "column name" over 128 KB: one huge line, no header at all
            raise IngestError("header_too_long", decoded.file_name, row=1, limit="128 KB") from None
        raise IngestError("no_header", decoded.file_name, row=1) from None
    except StopIteration:
        raise IngestError("no_header", decoded.file_name, row=1) from None
    return Probe("csv", header=[h.strip() for h in header], delimiter=delimiter)


def _probe_xlsx(decoded: Decoded) -> Probe:
    """The first row of the first sheet as the header (pandas with the calamine engine, cells as text)."""
    import zipfile

    import pandas as pd
    try:
        with zipfile.ZipFile(decoded.path) as archive:
            parts = archive.namelist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise IngestError("bad_xlsx", decoded.file_name, detail=str(exc).splitlines()[0][:200]) from None
    if not any(n.lower().endswith(("workbook.xml", "workbook.bin")) for n in parts):
        raise IngestError("zip_not_workbook", decoded.file_name)     # a ZIP of something else (CSVs, a backup)
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


# Chrome's XML viewer shows this line above the tree; a copy of the page keeps it (a real Jira sample does).
XML_BANNER = "This XML file does not appear to have any style information"


def xml_start(text: str) -> int | None:
    """Where the XML document in `text` starts (after blanks and a browser's banner line), or None when `text`
    is no XML (it must begin with `<?xml`, `<rss`, a comment or a DOCTYPE)."""
    i = len(text) - len(text.lstrip())
    if text.startswith(XML_BANNER, i):
        nl = text.find("\n", i)
        if nl < 0:
            return None
        rest = text[nl + 1:]
        i = nl + 1 + len(rest) - len(rest.lstrip())
    return i if text.startswith(("<?xml", "<rss", "<!--", "<!DOCTYPE", "<!doctype"), i) else None


def xml_prolog(text: str) -> tuple[str | None, bool]:
    """(root element name, whether a DTD comes before it) from the head of an XML text. A DTD may declare
    entities (the "billion laughs" expansion): a document with one is refused, never parsed."""
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if text.startswith("<?", i):
            close = "?>"
        elif text.startswith("<!--", i):
            close = "-->"
        elif text.startswith("<!", i):
            return None, True               # <!DOCTYPE ...> or a stray <!ENTITY ...>
        elif text.startswith("<", i):
            name = re.match(r"<([A-Za-z_][\w.:-]*)", text[i:])
            return (name.group(1) if name else None), False
        else:
            return None, False
        end = text.find(close, i)
        if end < 0:
            return None, False
        i = end + len(close)
    return None, False


def _probe_xml(decoded: Decoded, head: str) -> Probe:
    root, dtd = xml_prolog(head)
    if dtd:
        raise IngestError("xml_dtd_forbidden", decoded.file_name)
    return Probe("xml", document={"root": root, "head": head[:65536]})


def _json_lines(text: str, file_name: str) -> list | None:
    """JSON Lines (one document per line, as API dumps are often saved), or None when it is not that. Once the
    first line has parsed on its own, a line that does not is refused by its number (the file is JSON Lines)."""
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError as exc:
                if not out:
                    return None
                raise IngestError("bad_json", file_name, row=lineno, detail=exc.msg) from None
    return out if len(out) > 1 else None


def _json_sample(doc: Any) -> str:
    try:
        text = json.dumps(doc, ensure_ascii=False)
    except (RecursionError, TypeError, ValueError):
        text = type(doc).__name__
    return text if len(text) <= 60 else text[:60] + "…"


def detect(p: Probe, file_name: str, wanted: str = "auto") -> Format:
    """The registered format for this probe, or the one the user asked for."""
    if wanted and wanted != "auto":
        if wanted not in FORMATS:
            raise IngestError("unknown_format", file_name, format=wanted, known=", ".join(sorted(FORMATS)))
        return FORMATS[wanted]
    for fmt in FORMATS.values():
        if fmt.kind == p.kind and fmt.sniff(p):
            return fmt
    for near_miss in NEAR_MISSES:
        if found := near_miss(p):
            raise IngestError("missing_key_column", file_name, missing=found[1], format=found[0])
    if p.kind == "json":
        doc = p.document[0] if isinstance(p.document, list) and p.document else p.document
        if not isinstance(doc, dict) or not doc:    # null, a number, [1, 2], [[]], {}: no records at all
            raise IngestError("json_not_objects", file_name, sample=_json_sample(p.document))
        raise IngestError("unknown_json_shape", file_name, seen=", ".join(list(doc)[:8]))
    if p.kind == "xml":
        raise IngestError("unknown_xml_shape", file_name, seen=(p.document or {}).get("root") or "?")
    raise IngestError("unknown_shape", file_name, seen=", ".join((p.header or [])[:8]))
