"""Errors and warnings raised while reading an export, carried as codes so the UI can translate them."""
from __future__ import annotations


class IngestError(Exception):
    """An input that is refused as a whole. The database is left exactly as it was.

    code: a key under `error.` in ui/locales/*.toml; params fill its placeholders. file/row/column say where,
    when known (row = record number in the file, the header being row 1).
    """

    def __init__(self, code: str, file: str, *, row: int | None = None, column: str | None = None, **params):
        self.code, self.file, self.row, self.column, self.params = code, file, row, column, params
        super().__init__(self.render("en"))

    def render(self, lang: str = "en") -> str:
        from ui.i18n import render_error
        return render_error(self, lang)


def warning(code: str, **params) -> dict:
    """A data-quality note stored with the import and shown beside what it affects."""
    return {"code": code, **params}
