"""Errors and warnings raised while reading an export, carried as codes so the UI can translate them."""
from __future__ import annotations

import re

# What an error may quote from the file (a header, a value, a parser's detail) is shown on one line: control
# characters (a newline inside a quoted header, terminal escapes, NUL) are written as escapes, and a quote is
# cut to MAX_QUOTE characters (a 10 MB single-line "header" must not become a 10 MB message).
MAX_QUOTE = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def one_line(value):
    """`value` made safe to quote in a one-line message (other types and lists of them pass through)."""
    if isinstance(value, (list, tuple)):
        return [one_line(v) for v in value]
    if not isinstance(value, str):
        return value
    if len(value) > MAX_QUOTE:      # cut to MAX_QUOTE characters in all, so quoting twice changes nothing
        value = value[:MAX_QUOTE - 1] + "…"
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), value)


class IngestError(Exception):
    """An input that is refused as a whole. The database is left exactly as it was.

    code: a key under `error.` in ui/locales/*.toml; params fill its placeholders. file/row/column say where,
    when known (row = record number in the file, the header being row 1).
    """

    def __init__(self, code: str, file: str, *, row: int | None = None, column: str | None = None, **params):
        params = {k: one_line(v) for k, v in params.items()}
        self.code, self.file, self.row, self.column, self.params = code, one_line(file), row, one_line(column), params
        super().__init__(self.render("en"))

    def render(self, lang: str = "en") -> str:
        from ui.i18n import render_error
        return render_error(self, lang)


def warning(code: str, **params) -> dict:
    """A data-quality note stored with the import and shown beside what it affects."""
    return {"code": code, **params}


def csv_read_error(exc: Exception, file_name: str, path=None) -> IngestError:
    """A DuckDB read_csv failure as the refusal the user reads: the row DuckDB names (its "Line", the header
    being line 1) and, for the usual damage (a quote never closed, a row with more or fewer cells than the
    header), a translated sentence instead of the parser's English; never the temporary file's path."""
    msg = str(exc)
    if path is not None:
        msg = msg.replace(str(path), file_name)
    line = re.search(r"[Ll]ine:? (\d+)", msg)
    row = int(line.group(1)) if line else None
    cells = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", msg)
    if "unterminated quote" in msg:
        return IngestError("unterminated_quote", file_name, row=row)
    if cells:
        expected, found = int(cells.group(1)), int(cells.group(2))
        return IngestError("too_many_cells" if found > expected else "too_few_cells", file_name, row=row,
                           expected=expected)
    return IngestError("bad_csv", file_name, row=row, detail=msg.splitlines()[0][:200])
