"""Whole-file byte passes of ingest/decode.py, split in two halves run side by side for large files.

Standard library only, so that the second half runs in a child interpreter started bare
(`python -I -S ingest/bytescan.py ...`, about 20 ms) while the importing process does the first half: CPython's
codecs and regular expressions hold the GIL, so threads would not run them side by side. The halves meet at a
line feed: a LF byte is never inside a UTF-8 or GB18030 character (their trailing bytes are 0x30-0x39 and
0x40-0xFE, or 0x80-0xBF), so each half decodes exactly as it does inside the whole file.

- has_clean_cjk_line: is there a line that is valid UTF-8 and holds a CJK ideograph (U+4E00-U+9FFF)? What
  decode._utf8_lines counts first, by a regular expression over the bytes, with no decoding.
- transcode: bytes [lo, hi) from `encoding` to UTF-8 into a file (strict: UnicodeDecodeError as a whole-file
  decode would raise it), with the sha256 of the whole source file computed alongside (hashlib releases the GIL).
"""
from __future__ import annotations

import codecs
import hashlib
import os
import re
import subprocess
import sys
import tempfile
import threading

CHUNK = 4 * 1024 * 1024          # decoding in 4 MB pieces is ~15% faster than in 16 MB ones (CPU caches)
PARALLEL_FROM = 32 * 1024 * 1024  # below this, one process does the whole file
TRANSCODE_FAILED = 3              # exit code of a child whose half does not decode

# One UTF-8 character as Python's strict decoder accepts it (no overlong forms, no surrogates, <= U+10FFFF),
# split into CJK ideographs U+4E00-U+9FFF and the rest; ASCII other than LF in runs.
_CONT = rb"[\x80-\xbf]"
_OTHER = (rb"(?:[\x00-\x09\x0b-\x7f]++|[\xc2-\xdf]" + _CONT + rb"|\xe0[\xa0-\xbf]" + _CONT
          + rb"|[\xe1-\xe3\xea-\xec\xee\xef]" + _CONT + _CONT + rb"|\xe4[\x80-\xb7]" + _CONT
          + rb"|\xed[\x80-\x9f]" + _CONT + rb"|\xf0[\x90-\xbf]" + _CONT + _CONT
          + rb"|[\xf1-\xf3]" + _CONT + _CONT + _CONT + rb"|\xf4[\x80-\x8f]" + _CONT + _CONT + rb")")
_CJK = rb"(?:\xe4[\xb8-\xbf]" + _CONT + rb"|[\xe5-\xe9]" + _CONT + _CONT + rb")"
# Every line is matched once (no retry at each byte): group 1 is the line when it is valid UTF-8 with a CJK
# character, else empty. Possessive loops: a line fails at its first invalid byte and the rest is skipped.
_LINE = re.compile(rb"(?m)^(?:(" + _OTHER + rb"*+" + _CJK + rb"(?:" + _OTHER + rb"|" + _CJK + rb")*+)(?=\n|\Z)"
                   rb"|[^\n]*+)\n?")


def _lines(path: str, lo: int, hi: int):
    """Bytes [lo, hi) of the file in pieces of whole lines (the last piece may end without a LF)."""
    carry = b""
    with open(path, "rb") as fh:
        fh.seek(lo)
        left = hi - lo
        while left > 0:
            chunk = fh.read(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            data = carry + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            carry = data[cut:]
            yield data[:cut]
    if carry:
        yield carry


def has_clean_cjk_line_range(path: str, lo: int, hi: int) -> bool:
    for piece in _lines(path, lo, hi):
        found = _LINE.findall(piece)
        if len(found) != found.count(b""):
            return True
    return False


def transcode_range(path: str, lo: int, hi: int, out: str, encoding: str = "gb18030") -> None:
    dec = codecs.getincrementaldecoder(encoding)("strict")
    with open(out, "wb") as dst, open(path, "rb") as src:
        src.seek(lo)
        left = hi - lo
        while left > 0 and (chunk := src.read(min(CHUNK, left))):
            left -= len(chunk)
            dst.write(dec.decode(chunk).encode("utf-8"))
        dst.write(dec.decode(b"", final=True).encode("utf-8"))


def _middle(path: str, lo: int, size: int) -> int | None:
    """A position just after a LF near the middle of [lo, size), or None (no LF there: one process)."""
    mid = lo + (size - lo) // 2
    with open(path, "rb") as fh:
        fh.seek(mid)
        probe = fh.read(8 * 1024 * 1024)
    at = probe.find(b"\n")
    return mid + at + 1 if at >= 0 and mid + at + 1 < size else None


def _child(*args: str) -> subprocess.Popen | None:
    try:
        return subprocess.Popen([sys.executable, "-I", "-S", os.path.abspath(__file__), *args],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    except OSError:
        return None


def has_clean_cjk_line(path, skip: int = 0) -> bool:
    """Whether any line of the file (from byte `skip`) is valid UTF-8 and holds a CJK ideograph."""
    path, size = str(path), os.path.getsize(path)
    mid = _middle(path, skip, size) if size - skip >= PARALLEL_FROM else None
    child = _child("cjk", path, str(mid), str(size)) if mid else None
    if child is None:
        return has_clean_cjk_line_range(path, skip, size)
    try:
        mine = has_clean_cjk_line_range(path, skip, mid)
    except BaseException:
        child.kill()
        child.wait()
        raise
    out, _ = child.communicate()
    if child.returncode != 0:                       # the child could not run: do its half here
        return mine or has_clean_cjk_line_range(path, mid, size)
    return mine or out.strip() == b"1"


def _sha256(path: str, result: list) -> None:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(8 * 1024 * 1024):
            h.update(chunk)
    result.append(h.hexdigest())


def transcode(path, encoding: str = "gb18030") -> tuple[str, str]:
    """The whole file from `encoding` to UTF-8 in a new temporary file; returns (its path, sha256 of the source).
    Raises UnicodeDecodeError (and leaves no file) when the file does not decode."""
    path, size = str(path), os.path.getsize(path)
    digest: list[str] = []
    hasher = threading.Thread(target=_sha256, args=(path, digest), daemon=True)
    hasher.start()
    fd, out = tempfile.mkstemp(suffix=".csv", prefix="pulse-")
    os.close(fd)
    part = None
    try:
        mid = _middle(path, 0, size) if size >= PARALLEL_FROM else None
        child = None
        if mid:
            fd, part = tempfile.mkstemp(suffix=".part", prefix="pulse-")
            os.close(fd)
            child = _child("transcode", path, str(mid), str(size), part, encoding)
        if child is None:
            transcode_range(path, 0, size, out, encoding)
        else:
            try:
                transcode_range(path, 0, mid, out, encoding)
            except BaseException:
                child.kill()
                child.wait()
                raise
            child.communicate()
            if child.returncode == TRANSCODE_FAILED:
                # Raised as decoding that half here would raise it (only whether it raises matters to callers).
                raise UnicodeDecodeError(encoding, b"", 0, 1, f"invalid {encoding} after byte {mid}")
            if child.returncode != 0:               # the child could not run: do its half here
                transcode_range(path, mid, size, part, encoding)
            _append(out, part)
        hasher.join()
        return out, digest[0]
    except BaseException:
        hasher.join()
        os.unlink(out)
        raise
    finally:
        if part:
            try:
                os.unlink(part)
            except OSError:
                pass


def _append(out: str, part: str) -> None:
    """Append file `part` to file `out` (in the kernel where it can: os.copy_file_range)."""
    with open(out, "r+b") as dst, open(part, "rb") as src:
        dst.seek(0, os.SEEK_END)
        if hasattr(os, "copy_file_range"):
            left = os.fstat(src.fileno()).st_size
            try:
                while left > 0 and (n := os.copy_file_range(src.fileno(), dst.fileno(), left)) > 0:
                    left -= n
            except OSError:
                pass                    # not supported here: the copy below carries on where it stopped
            src.seek(os.fstat(src.fileno()).st_size - left)
            dst.seek(0, os.SEEK_END)
        while chunk := src.read(CHUNK):
            dst.write(chunk)


def _main(argv: list[str]) -> int:
    mode, path, lo, hi = argv[0], argv[1], int(argv[2]), int(argv[3])
    if mode == "cjk":
        sys.stdout.write("1" if has_clean_cjk_line_range(path, lo, hi) else "0")
        return 0
    try:
        transcode_range(path, lo, hi, argv[4], argv[5])
    except UnicodeDecodeError:
        return TRANSCODE_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
