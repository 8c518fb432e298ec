"""Turn an uploaded file's bytes into UTF-8 text DuckDB can read, or refuse it clearly.

Accepted: UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode text"), GB18030/GBK (ZenTao,
Redmine-zh). A file that is UTF-8 but for a few stray bytes (a tool cut multi-byte characters, as in a real
Jira export re-saved on Windows) is read with those bytes replaced by U+FFFD and a warning naming the rows.
Anything else is refused: guessing a Western code page would silently corrupt Chinese text.

Large files are checked and transcoded in chunks, never read whole (DESIGN.md "Choices already made").
"""
from __future__ import annotations

import codecs
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import IngestError, warning

CHUNK = 16 * 1024 * 1024
# More stray bytes than this and the file is not "UTF-8 with a few cuts" but another encoding.
MAX_STRAY_BYTES = 16


def profiling() -> bool:
    return os.environ.get("PULSE_PROFILE", "") not in ("", "0")


def _status_mb(field: str) -> int:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) // 1024
    except OSError:
        pass
    return -1


class ProfileClock:
    """PULSE_PROFILE=1: `mark(step)` logs `pulse-profile step=NAME seconds=S end=EPOCH` to stderr, S being the
    time since the previous mark (bench/ingest.py reads these lines). A no-op otherwise."""

    def __init__(self) -> None:
        self.on = profiling()
        self.t = time.perf_counter()

    def mark(self, step: str) -> None:
        if self.on:
            now = time.perf_counter()
            print(f"pulse-profile step={step} seconds={now - self.t:.4f} end={time.time():.4f} "
                  f"rss_mb={_status_mb('VmRSS')} peak_mb={_status_mb('VmHWM')}", file=sys.stderr, flush=True)
            self.t = now


@dataclass
class Decoded:
    path: Path                 # a UTF-8 file (the original when it already was one, BOM and all)
    encoding: str
    file_name: str
    warnings: list[dict] = field(default_factory=list)
    temporary: bool = False

    def cleanup(self) -> None:
        if self.temporary:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _is_valid_utf8(path: Path, skip: int) -> bool:
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    with open(path, "rb") as fh:
        fh.seek(skip)
        try:
            while chunk := fh.read(CHUNK):
                # An ASCII chunk with no multi-byte sequence left open by the previous one is valid and leaves
                # nothing to carry over: skip decoding it (isascii is ~20x faster than a decode).
                if chunk.isascii() and not dec.getstate()[0]:
                    continue
                dec.decode(chunk)
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return False
    return True


def _transcode(path: Path, encoding: str, skip: int, errors: str = "strict") -> Path:
    dec = codecs.getincrementaldecoder(encoding)(errors)
    fd, out = tempfile.mkstemp(suffix=".csv", prefix="pulse-")
    with os.fdopen(fd, "wb") as dst, open(path, "rb") as src:
        src.seek(skip)
        while chunk := src.read(CHUNK):
            dst.write(dec.decode(chunk).encode("utf-8"))
        dst.write(dec.decode(b"", final=True).encode("utf-8"))
    return Path(out)


def _stray_byte_rows(path: Path) -> list[int]:
    """Line numbers (1-based) holding bytes that are not valid UTF-8; empty when there are too many."""
    rows: list[int] = []
    count = 0
    with open(path, "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                text = line.decode("utf-8", errors="replace")
                count += text.count("\ufffd")
                rows.append(lineno)
                if count > MAX_STRAY_BYTES:
                    return []
    return rows


def _sample_at_line_end(path: Path, size: int = 64 * 1024) -> bytes:
    # Cut at a line end: a sample cut inside a GBK character defeats charset detection (DESIGN.md).
    with open(path, "rb") as fh:
        data = fh.read(size)
    cut = data.rfind(b"\n")
    return data[: cut + 1] if cut > 0 else data


def decode_file(path: str | os.PathLike, file_name: str | None = None) -> Decoded:
    """Check or convert `path` to UTF-8; raise IngestError('encoding') when it cannot be read."""
    clock = ProfileClock()
    try:
        return _decode_file(path, file_name)
    finally:
        clock.mark("decode_check")


def _decode_file(path: str | os.PathLike, file_name: str | None = None) -> Decoded:
    path = Path(path)
    name = file_name or path.name
    with open(path, "rb") as fh:
        head = fh.read(4)
    if not head:
        raise IngestError("empty_file", name)
    if head.startswith(codecs.BOM_UTF8):
        if _is_valid_utf8(path, 3):
            # DuckDB's CSV reader skips a UTF-8 BOM itself: no copy needed.
            return Decoded(path, "utf-8-sig", name)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return Decoded(_transcode(path, "utf-16", 0), "utf-16", name, temporary=True)
        except UnicodeDecodeError:
            raise IngestError("encoding", name, encoding="UTF-16") from None
    elif _is_valid_utf8(path, 0):
        return Decoded(path, "utf-8", name)

    if b"\x00" in _sample_at_line_end(path):
        raise IngestError("binary_file", name)

    if _looks_like_gb18030(path):
        try:
            return Decoded(_transcode(path, "gb18030", 0), "gb18030", name, temporary=True)
        except UnicodeDecodeError:
            pass
    stray = _stray_byte_rows(path)
    if stray:
        skip = 3 if head.startswith(codecs.BOM_UTF8) else 0
        out = _transcode(path, "utf-8", skip, errors="replace")
        return Decoded(out, "utf-8 (repaired)", name, temporary=True,
                       warnings=[warning("stray_bytes_replaced", rows=stray[:20], count=len(stray))])
    raise IngestError("encoding", name, encoding=_guess_encoding(path) or "unknown")


def _looks_like_gb18030(path: Path) -> bool:
    """The head decodes as GB18030 and its non-ASCII characters are Chinese text, not the mojibake a
    Western code page turns into when read as GB18030."""
    try:
        text = _sample_at_line_end(path, 1024 * 1024).decode("gb18030")
    except UnicodeDecodeError:
        return False
    wide = [c for c in text if ord(c) > 127]
    cjk = sum(1 for c in wide if "\u4e00" <= c <= "\u9fff" or "\u3000" <= c <= "\u303f" or "\uff00" <= c <= "\uffef")
    return bool(wide) and cjk >= 0.9 * len(wide)


def _guess_encoding(path: Path) -> str | None:
    from charset_normalizer import from_bytes
    best = from_bytes(_sample_at_line_end(path)).best()
    return best.encoding.lower() if best else None
