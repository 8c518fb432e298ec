"""Bilingual text: TOML catalogs per language, `t(key, **params)`, language kept in session state.

No gettext.install(): Streamlit sessions are threads of one process, and a process-global `_` would leak one
user's language to everyone (STREAMLIT.md 5). The language-neutral parts (`translate`, `render_error`,
`render_warning`) import no Streamlit, so the CLI and the deck use the same catalogs.
"""
from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

LANGS = {"zh-CN": "中文", "en": "English"}
DEFAULT_LANG = "zh-CN"
_DIR = Path(__file__).with_name("locales")


def catalog_files(lang: str) -> list[Path]:
    """locales/{lang}.toml (messages of ingest and metrics) plus every locales/{lang}/*.toml (screens)."""
    return [_DIR / f"{lang}.toml", *sorted((_DIR / lang).glob("*.toml"))]


@cache
def catalog(lang: str) -> dict[str, str]:
    """The flattened catalog: nested TOML tables become dotted keys (`page.import.title`).

    A key defined in two files of one language is an error, so split catalogs cannot silently shadow.
    """
    flat: dict[str, str] = {}
    for path in catalog_files(lang):
        if path.exists():
            part = _flatten(tomllib.loads(path.read_text(encoding="utf-8")))
            clash = flat.keys() & part.keys()
            if clash:
                raise ValueError(f"{path}: keys defined twice: {sorted(clash)[:5]}")
            flat.update(part)
    return flat


def _flatten(data: dict) -> dict[str, str]:
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(key, v)
            else:
                flat[key] = v
    walk("", data)
    return flat


def normalize_lang(value: str | None) -> str | None:
    """'zh', 'zh-CN', 'zh_Hans_CN' -> 'zh-CN'; 'en-US' -> 'en'; anything else -> None."""
    if not value:
        return None
    v = value.replace("_", "-").lower()
    if v.startswith("zh"):
        return "zh-CN"
    if v.startswith("en"):
        return "en"
    return None


def translate(key: str, lang: str, **params) -> str:
    """The text for `key` in `lang`, falling back to English, then to the key itself (never a crash)."""
    text = catalog(lang).get(key) or catalog("en").get(key) or key
    if params:
        try:
            return text.format(**params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def _fmt_params(params: dict, lang: str) -> dict:
    out = {}
    for k, v in params.items():
        if isinstance(v, (list, tuple)):
            v = ("、" if lang == "zh-CN" else ", ").join(str(x) for x in v)
        out[k] = v
    return out


def render_warning(w: dict, lang: str) -> str:
    """A stored warning {"code": ..., **params} as a sentence in `lang`."""
    params = {k: v for k, v in w.items() if k != "code"}
    return translate(f"warn.{w.get('code')}", lang, **_fmt_params(params, lang))


def render_error(err, lang: str) -> str:
    """An IngestError as one line: file, then row/column where known, then what is wrong."""
    where = translate("error.where_file", lang, file=err.file)
    if err.row is not None and err.column:
        where += translate("error.where_row_col", lang, row=err.row, column=err.column)
    elif err.row is not None:
        where += translate("error.where_row", lang, row=err.row)
    elif err.column:
        where += translate("error.where_col", lang, column=err.column)
    return where + translate(f"error.{err.code}", lang, **_fmt_params(err.params, lang))


# --- Streamlit side -------------------------------------------------------------------------------------

def browser_lang() -> str:
    import streamlit as st
    try:
        return normalize_lang(st.context.locale) or DEFAULT_LANG
    except Exception:   # no browser context (bare mode, tests without context)
        return DEFAULT_LANG


def current_lang() -> str:
    import streamlit as st
    return normalize_lang(st.session_state.get("lang")) or browser_lang()


def t(key: str, **params) -> str:
    """The text for `key` in the current session's language."""
    return translate(key, current_lang(), **params)
