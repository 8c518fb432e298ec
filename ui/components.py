"""Small pieces the pages share: cached metric calls, KPI cards, warnings, empty states, pickers, the
upload preview and the import of one uploaded file.

Pages read like a script of the screen; anything longer than a few lines, or used twice, lives here.
No SQL here either: reads go through store/projects.py, metrics through the registry.
"""
from __future__ import annotations

import csv
import json
import math
import os
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import streamlit as st

from metrics import REGISTRY, compute
from store import db
from store import projects as proj
from ui import state
from ui.i18n import current_lang, render_error, render_warning, t, translate

PREVIEW_ROWS = 20
IMPORT_PAGE = "pages/import.py"
SETTINGS_PAGE = "pages/settings.py"


# --- The frame ----------------------------------------------------------------------------------------

def ensure_frame() -> None:
    """Make sure app.py (language, project picker, navigation) runs around this page. Call first in a page.

    The pages live in pages/, the folder Streamlit's legacy multipage mode scans: while that mode is on
    (a fresh server's very first request, and every AppTest run), a page is executed directly, without
    app.py. st.navigation turns the mode off for the process; this turns it off and reruns, which runs
    app.py with the same page (each st.Page url_path equals its file name, so the page hash is the same).
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx
    ctx = get_script_run_ctx()
    if ctx is None:
        return
    main = Path(ctx.pages_manager.main_script_path).resolve()
    legacy = any(Path(str(info.get("script_path", ""))).resolve() == main
                 for info in ctx.pages_manager.get_pages().values())
    if legacy and st.session_state.get("_frame_reroutes", 0) < 3:
        st.session_state["_frame_reroutes"] = st.session_state.get("_frame_reroutes", 0) + 1
        PagesManager.uses_pages_directory = False
        st.rerun()


# --- Metrics ------------------------------------------------------------------------------------------

@st.cache_data(show_spinner=False, max_entries=512)
def _cached_compute(db_path: str, version: str, metric_id: str, project_key: str, params: tuple):
    return compute(metric_id, state.cursor(), project_key=project_key, **dict(params))


def metric(metric_id: str, project_key: str, **params):
    """metrics.compute through st.cache_data, keyed on the database file and its data version.

    Settings saves clear the cache (store.db.data_version does not see every setting), so a change shows at once.
    """
    cur = state.cursor()
    key = tuple(sorted((k, v) for k, v in params.items() if v is not None))
    return _cached_compute(str(db.default_db_path()), db.data_version(cur), metric_id, project_key, key)


def metric_name(metric_id: str) -> str:
    return REGISTRY[metric_id].name(current_lang())


def clear_caches() -> None:
    st.cache_data.clear()


# --- Formatting ----------------------------------------------------------------------------------------

def is_missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def fmt_number(value, digits: int = 2, *, trim: bool = False) -> str:
    """'—' for a value that cannot be computed (METRICS.md G8), never 0. Fixed decimals (a ratio keeps its
    precision: 2.00 beside 2.75); trim=True drops them from whole numbers (points, counts: 16, not 16.0)."""
    if is_missing(value):
        return "—"
    value = float(value)
    if trim and value.is_integer():
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def fmt_pct(value, digits: int = 1) -> str:
    return "—" if is_missing(value) else f"{float(value) * 100:.{digits}f}%"


def fmt_delta(value, digits: int = 2, pct: bool = False, *, trim: bool = False) -> str | None:
    """A signed change; no change is written ±0 so the card shows it grey, not as a red rise."""
    if is_missing(value):
        return None
    if round(float(value) * (100 if pct else 1), digits) == 0:
        zero = "±0" if trim or digits == 0 else f"±{0:.{digits}f}"
        return t("common.delta_pp", value=zero) if pct else zero
    if pct:
        return t("common.delta_pp", value=f"{float(value) * 100:+.{digits}f}")
    if trim and float(value).is_integer():
        return f"{int(value):+,}"
    return f"{float(value):+,.{digits}f}"


def local_time(instant, tz: str) -> str:
    if instant is None or (isinstance(instant, float) and math.isnan(instant)):
        return "—"
    if isinstance(instant, pd.Timestamp):
        instant = instant.to_pydatetime()
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def local_day(instant, tz: str) -> str:
    return "—" if instant is None else local_time(instant, tz)[:10]


def previous_month(month: str) -> str:
    y, m = map(int, month.split("-"))
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def last_months(month: str, n: int) -> list[str]:
    out = [month]
    while len(out) < n:
        out.append(previous_month(out[-1]))
    return out[::-1]


# --- Warnings and empty states ------------------------------------------------------------------------

_MD_SPECIAL = str.maketrans({ch: "\\" + ch for ch in "\\`*_[]<>~$|#"})


def md_escape(text: str) -> str:
    """Text from files and trackers (file names, status values...) shown literally inside markdown:
    no italics from my_file_name, no math from a $ amount."""
    return str(text).translate(_MD_SPECIAL)


def warning_text(w: dict) -> str:
    """A warning in the current language; a code with no catalog entry still reads as a sentence."""
    lang = current_lang()
    text = render_warning(w, lang)
    if text == f"warn.{w.get('code')}":
        details = ", ".join(f"{k}={v}" for k, v in w.items() if k != "code")
        return translate("common.untranslated_warning", lang, code=w.get("code"), details=details or "—")
    return text


def show_warnings(warnings: list[dict], *, title_key: str | None = None) -> None:
    """Data-quality notes beside what they affect: one st.warning block, one line each."""
    seen, lines = set(), []
    for w in warnings or []:
        text = md_escape(warning_text(w))
        if text not in seen:
            seen.add(text)
            lines.append(text)
    if not lines:
        return
    head = f"**{t(title_key)}**\n\n" if title_key else ""
    st.warning(head + "\n".join(f"- {line}" for line in lines), icon=":material/info:")


def empty_state(message_key: str, *, link_to_import: bool = True, **params) -> None:
    st.info(t(message_key, **params), icon=":material/inbox:")
    if link_to_import:
        st.page_link(IMPORT_PAGE, label=t("common.go_import"), icon=":material/upload_file:")


def require_project(cur) -> dict:
    """The project chosen in the sidebar, or a friendly empty state and stop."""
    key = state.current_project(cur)
    project = proj.get_project(cur, key) if key else None
    if project is None:
        empty_state("common.no_project")
        st.stop()
    return project


def page_header(title_key: str, project: dict | None = None, caption_key: str | None = None) -> None:
    st.title(t(title_key))
    bits = []
    if project:
        name = project["name"]
        key = md_escape(project["project_key"])
        bits.append(f"**{key}**" + (f" · {md_escape(name)}" if name and name != project["project_key"] else ""))
    if caption_key:
        bits.append(t(caption_key))
    if bits:
        st.caption("  \n".join(bits))


def data_as_of_caption(cur, project: dict) -> str:
    when = proj.data_as_of(cur, project["project_key"])
    return t("common.data_as_of", when=local_time(when, project["timezone"]), tz=project["timezone"])


# --- KPI cards -------------------------------------------------------------------------------------------

@dataclass
class Kpi:
    label: str
    value: str
    delta: str | None = None
    delta_color: str = "normal"
    delta_description: str | None = None
    help: str | None = None
    note: str | None = None      # the translated reason when the value is "—"


def kpi_card(k: Kpi) -> None:
    with st.container(border=True):
        color = "off" if k.delta and k.delta.startswith("±") else k.delta_color
        st.metric(k.label, k.value, delta=k.delta, delta_color=color, help=k.help,
                  delta_description=k.delta_description if k.delta else None)
        if k.note:
            st.caption(md_escape(k.note))


# --- Pickers ---------------------------------------------------------------------------------------------
# Widget format functions are partials of module-level functions with the language bound in: AppTest keeps
# them in session state (runner.enforceSerializableSessionState refuses a lambda there) and calls them
# outside the script run, where the session's language cannot be looked up.

def _prefixed(prefix: str, lang: str, value) -> str:
    return translate(f"{prefix}{value}", lang)


def label_for(prefix: str):
    """format_func giving the text of key prefix + value in the current language."""
    return partial(_prefixed, prefix, current_lang())


def _project_label(names: dict, key: str) -> str:
    name = names.get(key)
    return f"{key} · {name}" if name and name != key else key


def project_label(names: dict):
    return partial(_project_label, dict(names))


def _calendar_label(lang: str, code: str) -> str:
    return translate(f"settings.calendar_{code}", lang) if code in ("CN", "none") else code


def calendar_label():
    return partial(_calendar_label, current_lang())


def format_labeler():
    """format_func for the import format selectbox."""
    return partial(_format_label, current_lang())


def _format_label(lang: str, name: str) -> str:
    return format_label(name, lang)


def statistic_picker(key: str = "statistic") -> str:
    options = ["points", "count", "hours"]
    return st.segmented_control(t("delivery.statistic"), options, key=key, default="points", required=True,
                                format_func=label_for("delivery.statistic_")) or "points"


# --- Upload preview --------------------------------------------------------------------------------------

@dataclass
class Preview:
    frame: pd.DataFrame | None
    total_rows: int | None = None
    detected: str | None = None       # localized label of the format the file would be read as
    error: str | None = None          # the translated reason it would be refused
    header: list[str] | None = None   # a CSV/XLSX file's header row (for the column-mapping form)
    needs_mapping: bool = False       # a CSV/XLSX no importer knows and no saved mapping reads: ask for one
    mapping: dict | None = None       # the saved mapping it would be read through ({name, project_key, fields})


def _dedupe(names: list[str]) -> list[str]:
    """Jira repeats headers (Sprint, Labels...): keep them apart for display as 'Sprint', 'Sprint (2)'."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        n = n or "—"
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def format_label(name: str, lang: str | None = None) -> str:
    from ingest.detect import FORMATS
    lang = lang or current_lang()
    if name == "auto":
        return translate("import.format_auto", lang)
    fmt = FORMATS.get(name)
    if fmt is None:
        return name
    return fmt.label_zh if lang.startswith("zh") else fmt.label_en


def _json_items(doc) -> list:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for key in ("issues", "values", "items", "data", "workItems", "value"):
            if isinstance(doc.get(key), list):
                return doc[key]
        return [doc]
    return []


def _flat(item) -> dict:
    if not isinstance(item, dict):
        return {"value": item}
    out = {}
    for k, v in item.items():
        if isinstance(v, dict) and k == "fields":
            out.update({f"fields.{a}": _short(b) for a, b in v.items()})
        else:
            out[k] = _short(v)
    return out


def _short(v) -> str:
    if isinstance(v, (dict, list)):
        text = json.dumps(v, ensure_ascii=False)
        return text if len(text) <= 80 else text[:77] + "…"
    return "" if v is None else str(v)


def preview_file(path: str | os.PathLike, file_name: str, fmt: str = "auto", *, cur=None,
                 project_key: str | None = None) -> Preview:
    """The first rows of an export as a table, the format it would be imported as, or why it is refused.

    Reads no more than the preview needs; decoding and detection are the importer's own (ingest.decode,
    ingest.detect; with `cur`, the saved column mappings too: ingest.mapping.choose_format), so what the
    preview says is what the import will do.
    """
    from ingest.decode import Decoded, decode_file
    from ingest.detect import detect, is_xlsx, probe
    from ingest.errors import IngestError
    from ingest.jira_xml import read_document
    lang = current_lang()
    suffix = Path(file_name).suffix.lower()
    detected, error = None, None
    facts: dict = {}

    def judge(p) -> None:
        """detected / error of a probe, and whether to ask for a column mapping."""
        nonlocal detected, error
        try:
            if cur is not None:
                from ingest.mapping import choose_format
                found, facts["mapping"] = choose_format(cur, p, file_name, fmt, (project_key or "").strip() or None)
            else:
                found = detect(p, file_name, fmt)
            detected = format_label(found.name, lang)
        except IngestError as err:
            error = render_error(err, lang)
            facts["needs_mapping"] = p.kind in ("csv", "xlsx") and err.code in ("unknown_shape", "mapping_required")

    def done(frame, total, header=None) -> Preview:
        return Preview(frame, total, detected, error, header=header, needs_mapping=facts.get("needs_mapping", False),
                       mapping=facts.get("mapping"))

    try:
        # A workbook is what the importer reads as one (a ZIP); anything else named .xlsx / .xls is decoded as
        # the importer does, which says what it is (encrypted, an old .xls, not a workbook at all).
        if is_xlsx(path):
            try:
                p = probe(Decoded(Path(path), "xlsx", file_name))
                judge(p)
            except IngestError as err:
                error, p = render_error(err, lang), None
                if err.code in ("zip_not_workbook", "bad_xlsx"):    # no sheet for calamine to show either
                    return Preview(None, None, None, error)
            frame = pd.read_excel(path, nrows=PREVIEW_ROWS, engine="calamine", dtype=str)
            frame.columns = _dedupe([str(c) for c in frame.columns])
            return done(frame.fillna(""), None, p.header if p is not None else None)
        decoded = decode_file(path, file_name)
        try:
            try:
                p = probe(decoded)
                judge(p)
            except IngestError as err:
                error = render_error(err, lang)
                p = None
            text_path = decoded.path
            if (p is not None and p.kind == "xml") or (p is None and suffix == ".xml"):
                root = read_document(text_path, file_name)
                items = root.findall(".//item") or list(root)
                rows = [{child.tag: (child.text or "").strip()[:80] for child in item} for item in items[:PREVIEW_ROWS]]
                return done(pd.DataFrame(rows), len(items))
            if p is not None and p.kind == "json":
                items = _json_items(p.document)
                return done(pd.DataFrame([_flat(i) for i in items[:PREVIEW_ROWS]]), len(items))
            delimiter = p.delimiter if p is not None else ","
            with open(text_path, "r", encoding="utf-8-sig", newline="") as fh:
                reader = csv.reader(fh, delimiter=delimiter)
                header = next(reader, [])
                body = []
                for record in reader:
                    if len(body) < PREVIEW_ROWS:
                        body.append(record)
            width = max([len(header), *(len(r) for r in body)] or [0])
            header = _dedupe([h.strip() for h in header] + [""] * (width - len(header)))
            frame = pd.DataFrame([r + [""] * (width - len(r)) for r in body], columns=header)
            return done(frame, None, p.header if p is not None else None)
        finally:
            decoded.cleanup()
    except IngestError as err:
        return Preview(None, None, None, render_error(err, lang))
    except (ET.ParseError, ValueError, csv.Error, OSError) as exc:
        return Preview(None, None, detected, error or t("import.preview_unreadable", detail=str(exc)[:160]))


def _temp_copy(file_name: str, data: bytes) -> str:
    fd, path = tempfile.mkstemp(prefix="pulse-upload-", suffix=Path(file_name).suffix.lower() or ".dat")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return path


def preview_upload(file_name: str, data: bytes, fmt: str = "auto", *, cur=None,
                   project_key: str | None = None) -> Preview:
    path = _temp_copy(file_name, data)
    try:
        return preview_file(path, file_name, fmt, cur=cur, project_key=project_key)
    finally:
        os.unlink(path)


def import_upload(cur, file_name: str, data: bytes, *, fmt: str = "auto", project_key: str | None = None,
                  imported_by: str | None = None, mapping: dict | None = None, max_bytes: int | None = None) -> dict:
    """Import one uploaded file through ingest_file; a plain dict (kept in session state) either way.
    max_bytes: the upload limit, enforced by ingest_file itself ("too_large").

    {"file", "ok": True, "result": ImportResult.as_json()} or {"file", "ok": False, "error": {code, file, row,
    column, params}}. A refused file leaves the database as it was (ingest_file's own transaction).
    """
    from ingest import IngestError, ingest_file
    path = _temp_copy(file_name, data)
    try:
        result = ingest_file(cur, path, project_key=(project_key or "").strip() or None, fmt=fmt,
                             file_name=file_name, imported_by=imported_by, mapping=mapping, max_bytes=max_bytes)
        return {"file": file_name, "ok": True, "result": json.loads(json.dumps(result.as_json(), default=str))}
    except IngestError as err:
        return {"file": file_name, "ok": False,
                "error": {"code": err.code, "file": err.file, "row": err.row, "column": err.column,
                          "params": json.loads(json.dumps(err.params, default=str))}}
    finally:
        os.unlink(path)


def error_text(error: dict) -> str:
    from ingest.errors import IngestError
    err = IngestError(error["code"], error["file"], row=error.get("row"), column=error.get("column"),
                      **(error.get("params") or {}))
    return render_error(err, current_lang())


def current_user() -> str | None:
    try:
        if st.user.get("is_logged_in"):
            return st.user.get("email") or st.user.get("name")
    except Exception:   # no auth configured: anonymous
        pass
    return None


def today_in(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()
