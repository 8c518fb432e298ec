"""Turn an uploaded file's bytes into UTF-8 text DuckDB can read, or refuse it clearly.

Accepted: UTF-8 (with or without BOM), UTF-16 with BOM (Excel "Unicode text"), GB18030/GBK (ZenTao,
Redmine-zh). A file that is UTF-8 but for a few stray bytes (a tool cut multi-byte characters, as in a real
Jira export re-saved on Windows) is read with those bytes replaced by U+FFFD and a warning naming the rows.
Anything else is refused: guessing a Western code page would silently corrupt Chinese text. So is a file
that is UTF-8 in part and another encoding elsewhere (a GBK block pasted into a UTF-8 export): read as GB18030
its UTF-8 Chinese turns into other, valid-looking Chinese characters without any error. Files that are no text
at all are refused with what they are: an OLE2 compound file (an Excel 97-2003 .xls, or an .xlsx saved with a
password: Excel encrypts it into one), NUL bytes (binary data, or UTF-16 without its byte-order mark).

Large files are checked and transcoded in chunks, never read whole (DESIGN.md "Choices already made").
"""
from __future__ import annotations

import codecs
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest import bytescan
from ingest.errors import IngestError, warning

CHUNK = 16 * 1024 * 1024
# More stray bytes than this and the file is not "UTF-8 with a few cuts" but another encoding.
MAX_STRAY_BYTES = 16
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
HEAD = 64 * 1024


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
    sha256: str | None = None  # of the original file, when a pass over it computed it anyway (GB18030 transcode)

    def cleanup(self) -> None:
        if self.temporary:
            try:
                os.unlink(self.path)
            except OSError:
                pass


def _is_valid_utf8(path: Path, skip: int, nul_at: list[int] | None = None) -> bool:
    """Whether the file (from byte `skip`) is UTF-8; the offset of its first NUL byte is appended to `nul_at`."""
    dec = codecs.getincrementaldecoder("utf-8")("strict")
    offset = skip
    with open(path, "rb") as fh:
        fh.seek(skip)
        try:
            while chunk := fh.read(CHUNK):
                if nul_at is not None and not nul_at and (at := chunk.find(b"\x00")) >= 0:
                    nul_at.append(offset + at)
                offset += len(chunk)
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
        head = fh.read(HEAD)
    if not head:
        raise IngestError("empty_file", name)
    if head.startswith(OLE2_MAGIC):
        raise IngestError("xlsx_encrypted" if _holds(path, "EncryptedPackage".encode("utf-16-le")) else "xls_legacy",
                          name)
    nul_at: list[int] = []
    if head.startswith(codecs.BOM_UTF8):
        if _is_valid_utf8(path, 3, nul_at):
            _refuse_nul(path, name, head, nul_at)
            # DuckDB's CSV reader skips a UTF-8 BOM itself: no copy needed.
            return Decoded(path, "utf-8-sig", name)
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return Decoded(_transcode(path, "utf-16", 0), "utf-16", name, temporary=True)
        except UnicodeDecodeError:
            raise IngestError("encoding", name, encoding="UTF-16") from None
    elif _is_valid_utf8(path, 0, nul_at):
        _refuse_nul(path, name, head, nul_at)
        return Decoded(path, "utf-8", name)

    if b"\x00" in head:
        _refuse_nul(path, name, head, [head.find(b"\x00")], text=False)

    skip = 3 if head.startswith(codecs.BOM_UTF8) else 0
    # A file that looks GB18030 (the usual case from here on) is checked for UTF-8 Chinese lines, transcoded and
    # hashed in one pass, both halves at once (ingest/bytescan.py): with no such line, what _utf8_lines would
    # find is (0, [], 0), and the decision below is the same as without this pass.
    gb = bytescan.gb18030_pass(path) if _looks_like_gb18030(path) else None
    if gb is not None and not gb.clean_cjk:
        cjk_lines, bad_lines, bad_count = 0, [], 0
    else:
        if gb is not None:
            gb.discard()
            gb = None
        cjk_lines, bad_lines, bad_count = _utf8_lines(path, skip)
    if cjk_lines and cjk_lines * 50 >= bad_count:
        # UTF-8 Chinese text with lines that are not UTF-8: a few cut bytes are repaired below; more is a second
        # encoding inside the file, which must not be read as GB18030 (that garbles the UTF-8 lines silently).
        if not _stray_byte_rows(path):
            raise IngestError("mixed_encoding", name, lines=bad_lines, count=bad_count)
    elif gb is not None:
        if gb.out:
            return Decoded(Path(gb.out), "gb18030", name, temporary=True, sha256=gb.sha256)
    elif _looks_like_gb18030(path):
        try:
            return Decoded(_transcode(path, "gb18030", 0), "gb18030", name, temporary=True)
        except UnicodeDecodeError:
            pass
    stray = _stray_byte_rows(path)
    if stray:
        out = _transcode(path, "utf-8", skip, errors="replace")
        return Decoded(out, "utf-8 (repaired)", name, temporary=True,
                       warnings=[warning("stray_bytes_replaced", rows=stray[:20], count=len(stray))])
    if name.lower().endswith(WORKBOOK_SUFFIXES):
        raise IngestError("not_a_workbook", name)
    raise IngestError("encoding", name, encoding=_guess_encoding(path) or "unknown")


def _holds(path: Path, needle: bytes) -> bool:
    """Whether the bytes `needle` occur in the file (read in chunks; a match across two chunks is found)."""
    tail = b""
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            if needle in tail + chunk[: len(needle)] or needle in chunk:
                return True
            tail = chunk[-(len(needle) - 1):]
    return False


def _utf16_without_bom(head: bytes) -> bool:
    """UTF-16 text without its byte-order mark: NUL bytes on one side of the byte pairs only (the high byte of
    ASCII characters), where binary data has them on both."""
    pairs = len(head) // 2
    even, odd = head[0:2 * pairs:2].count(0), head[1:2 * pairs:2].count(0)
    return pairs >= 2 and max(even, odd) >= 0.2 * pairs and min(even, odd) <= 0.01 * pairs


def _refuse_nul(path: Path, name: str, head: bytes, nul_at: list[int], text: bool = True) -> None:
    """A text export never holds a NUL byte: say what the file is instead (text: it is UTF-8 otherwise)."""
    if not nul_at:
        return
    if _utf16_without_bom(head):
        raise IngestError("utf16_no_bom", name)
    if not text:
        raise IngestError("not_a_workbook" if name.lower().endswith(WORKBOOK_SUFFIXES) else "binary_file", name)
    line, done = 1, 0
    with open(path, "rb") as fh:
        while done < nul_at[0] and (chunk := fh.read(min(CHUNK, nul_at[0] - done))):
            line += chunk.count(b"\n")
            done += len(chunk)
    raise IngestError("nul_bytes", name, line=line)


# A line (between newlines) with no byte that is invalid UTF-8 (decoded to a lone surrogate by surrogateescape)
# and at least one CJK ideograph; the first class stops at the first ideograph, so matching stays linear.
_CJK_LINE = re.compile("^[^\n\udc80-\udcff\u4e00-\u9fff]*[\u4e00-\u9fff][^\n\udc80-\udcff]*$", re.M)
_BAD_LINE = re.compile("^[^\n\udc80-\udcff]*[\udc80-\udcff]", re.M)


def _utf8_texts(path: Path, skip: int):
    """The file as text in chunks of whole lines, bytes that are not UTF-8 decoded to lone surrogates."""
    dec = codecs.getincrementaldecoder("utf-8")("surrogateescape")
    carry = ""
    with open(path, "rb") as fh:
        fh.seek(skip)
        while True:
            chunk = fh.read(CHUNK)
            text = carry + dec.decode(chunk, final=not chunk)
            carry = ""
            if chunk:
                cut = text.rfind("\n") + 1
                text, carry = text[:cut], text[cut:]
            yield text
            if not chunk:
                return


def _utf8_lines(path: Path, skip: int) -> tuple[int, list[int], int]:
    """Lines that are valid UTF-8 with Chinese in them; the first ten lines (1-based) that are not UTF-8, and how
    many are not. A GBK file has almost no line of the first kind (a run of GBK bytes rarely decodes as UTF-8),
    a UTF-8 file with a GBK block has many. Regular expressions over chunks: no Python loop per line; the
    second pass only runs when the first found such a line (about 0.25 s for a 40 MB GBK file).

    Whether there is any such line is asked first of bytescan.has_clean_cjk_line (the same lines, found in the
    bytes without decoding them, both halves of a large file at once: 0.4 s instead of 6.5 s for a 474 MB GBK
    file; a file that looks GB18030 has the answer from bytescan.gb18030_pass); without one the answer is
    (0, [], 0), as the passes below would find."""
    if not bytescan.has_clean_cjk_line(path, skip):
        return 0, [], 0
    cjk = sum(len(_CJK_LINE.findall(text)) for text in _utf8_texts(path, skip))
    if not cjk:
        return 0, [], 0
    bad, first, lines = 0, [], 0
    for text in _utf8_texts(path, skip):
        found = _BAD_LINE.findall(text)
        bad += len(found)
        if found and len(first) < 10:
            for m in _BAD_LINE.finditer(text):
                first.append(lines + text.count("\n", 0, m.start()) + 1)
                if len(first) == 10:
                    break
        lines += text.count("\n")
    return cjk, first, bad


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
