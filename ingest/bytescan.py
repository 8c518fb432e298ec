"""Whole-file byte passes of ingest/decode.py, split in two halves run side by side for large files.

Standard library only, so that the second half runs in a child interpreter started bare
(`python -I -S ingest/bytescan.py ...`, about 20 ms) while the importing process does the first half: CPython's
codecs and regular expressions hold the GIL, so threads would not run them side by side. The halves meet at a
line feed: a LF byte is never inside a UTF-8 or GB18030 character (their trailing bytes are 0x80-0xBF, or
0x30-0x39 and 0x40-0xFE), so each half decodes exactly as it does inside the whole file.

- has_clean_cjk_line: is there a line that is valid UTF-8 and holds a CJK ideograph (U+4E00-U+9FFF)? What
  decode._utf8_lines counts first, found by a regular expression over the bytes, with no decoding.
- gb18030_pass: that question, the file transcoded from GB18030 to UTF-8 (strict: it fails exactly when decoding
  the whole file fails) and its sha256 (a thread: hashlib releases the GIL), in one pass.
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
from dataclasses import dataclass

CHUNK = 1024 * 1024              # 1 MB pieces: less page faulting than 4-16 MB ones (~15% faster)
PARALLEL_FROM = 32 * 1024 * 1024  # below this, one process does the whole file

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


def gb18030_range(path: str, lo: int, hi: int, out: str) -> tuple[bool, bool]:
    """Bytes [lo, hi) (from a line start): whether a line is valid UTF-8 with a CJK ideograph, and whether they
    decode as GB18030, written as UTF-8 to `out` (left incomplete when they do not)."""
    clean_cjk, ok = False, True
    dec = codecs.getincrementaldecoder("gb18030")("strict")
    with open(out, "wb") as dst:
        for piece in _lines(path, lo, hi):
            if not clean_cjk:
                found = _LINE.findall(piece)
                clean_cjk = len(found) != found.count(b"")
            if ok:
                try:
                    dst.write(dec.decode(piece).encode("utf-8"))
                except UnicodeDecodeError:
                    ok = False
        if ok:
            try:
                dst.write(dec.decode(b"", final=True).encode("utf-8"))
            except UnicodeDecodeError:
                ok = False
    return clean_cjk, ok


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
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
    result.append(h.hexdigest())


@dataclass
class GB18030Pass:
    clean_cjk: bool          # some line is valid UTF-8 with a CJK ideograph (decode._utf8_lines counts them)
    out: str | None          # the UTF-8 transcode (a temporary file), None when the file is not GB18030
    sha256: str              # of the source file

    def discard(self) -> None:
        if self.out:
            try:
                os.unlink(self.out)
            except OSError:
                pass
            self.out = None


def gb18030_pass(path) -> GB18030Pass:
    """One pass over the file, both halves at once (see the module's docstring)."""
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
            child = _child("gb18030", path, str(mid), str(size), part)
        if child is None:
            clean_cjk, ok = gb18030_range(path, 0, size, out)
        else:
            try:
                clean_cjk, ok = gb18030_range(path, 0, mid, out)
            except BaseException:
                child.kill()
                child.wait()
                raise
            said, _ = child.communicate()
            if child.returncode == 0 and len(said) == 2:
                clean_cjk, ok = clean_cjk or said[:1] == b"1", ok and said[1:] == b"1"
            else:                                   # the child could not run: its half here
                theirs = gb18030_range(path, mid, size, part)
                clean_cjk, ok = clean_cjk or theirs[0], ok and theirs[1]
            if ok:
                _append(out, part)
        hasher.join()
        result = GB18030Pass(clean_cjk, out, digest[0])
        if not ok:
            result.discard()
        return result
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
    else:
        sys.stdout.write("".join("1" if x else "0" for x in gb18030_range(path, lo, hi, argv[4])))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
