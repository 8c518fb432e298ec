"""Import: upload tracker exports, preview them, import each in its own transaction, read the report.

A refused file leaves the database unchanged and the other files still import. The report stays on screen
(session state) until the next import; below it, every past import, each with a confirmed delete button
(store/history.delete_import: removes what the import added, restores what it overwrote).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from ingest.detect import FORMATS
from store import history as store_history
from store import projects as proj
from store import settings as named_settings
from ui import state
from ui import components as c
from ui import mapping_form
from ui.i18n import t

c.ensure_frame()
cur = state.cursor()
c.page_header("import.title", None, "import.caption")

max_mb = int(named_settings.get(cur, "max_upload_mb") or 200)
files = st.file_uploader(t("import.uploader"), type=["csv", "json", "xlsx", "xml"], accept_multiple_files=True,
                         key="import_files", max_upload_size=max_mb, help=t("import.uploader_help", mb=max_mb))
left, right = st.columns(2)
with left:
    fmt = st.selectbox(t("import.format"), ["auto", *FORMATS], key="import_format", format_func=c.format_labeler(),
                       help=t("import.format_help"))
with right:
    project_override = st.text_input(t("import.project_override"), key="import_project",
                                      placeholder=t("import.project_override_placeholder"),
                                      help=t("import.project_override_help"))

if files:
    st.subheader(t("import.preview_title", n=len(files)))
    for f in files:
        preview = c.preview_upload(f.name, f.getvalue(), fmt, cur=cur, project_key=project_override)
        size_kb = f"{len(f.getvalue()) / 1024:,.1f} KB"
        verdict = preview.detected if not preview.error else t("import.preview_refused")
        icon = ":material/block:" if preview.error else ":material/description:"
        with st.expander(f"{f.name} · {size_kb} · {verdict or '—'}", expanded=len(files) == 1 or preview.needs_mapping,
                         icon=icon):
            if preview.detected:
                st.caption(t("import.detected", format=preview.detected))
            if preview.error:
                st.error(c.md_escape(preview.error), icon=":material/block:")
            if preview.frame is not None:
                st.dataframe(preview.frame, hide_index=True, width="stretch", height=260)
                st.caption(t("import.preview_rows", n=min(len(preview.frame), c.PREVIEW_ROWS)))
            # a saved column mapping in use, or the form asking for one (ui/mapping_form.py)
            mapping_form.render(cur, f.name, f.getvalue(), preview, fmt=fmt, project_key=project_override)

    if st.button(t("import.run", n=len(files)), type="primary", key="import_run", icon=":material/upload:"):
        before = {k for k, _ in state.projects(cur)}
        reports = []
        progress = st.progress(0.0, text=t("import.progress", done=0, total=len(files)))
        for i, f in enumerate(files, start=1):
            with st.status(t("import.running", file=f.name), expanded=False) as box:
                report = c.import_upload(cur, f.name, f.getvalue(), fmt=fmt, project_key=project_override,
                                         imported_by=c.current_user(), max_bytes=max_mb * 1024 * 1024)
                reports.append(report)
                box.update(label=t("import.done_ok" if report["ok"] else "import.done_error", file=f.name),
                           state="complete" if report["ok"] else "error")
            progress.progress(i / len(files), text=t("import.progress", done=i, total=len(files)))
        st.session_state["import_reports"] = reports
        c.clear_caches()
        new_keys = [r["result"]["project_key"].split(",")[0] for r in reports if r["ok"]]
        if new_keys and new_keys[0] not in before:
            st.session_state["_project_next"] = new_keys[0]  # app.py selects it before drawing the picker
        st.rerun()    # the sidebar (projects, data-as-of) is drawn before this page: redraw it

def _report_history(res: dict) -> None:
    """New / updated issues, the history found by comparing with the previous export, the export's time."""
    tz = (proj.get_project(cur, res["project_key"].split(",")[0]) or {}).get("timezone") or "Asia/Shanghai"
    more = st.columns(3)
    more[0].metric(t("import.issues_new"), f"{res.get('issues_new', 0):,}")
    more[1].metric(t("import.issues_updated"), f"{res.get('issues_updated', 0):,}")
    more[2].metric(t("import.changes_derived"), f"{res.get('changes_derived', 0):,}",
                   help=t("import.changes_derived_help"))
    if res.get("exported_at"):
        st.caption(t("import.exported_at", when=c.local_time(pd.Timestamp(res["exported_at"]), tz), tz=tz))
    if res.get("issues_kept"):
        st.info(t("import.older_export", n=res["issues_kept"]), icon=":material/history:")


def _map_unmapped(i: int, res: dict) -> None:
    """A selectbox per raw status / type / resolution no rule knows; Apply saves them as the project's value
    maps (store/projects.set_value_maps), which replays them onto the issues and their history at once."""
    todo = [(w["code"].removeprefix("unmapped_"), v) for w in res.get("warnings") or []
            if w.get("code") in ("unmapped_status", "unmapped_type", "unmapped_resolution") for v in w.get("values") or []]
    if not todo:
        return
    with st.expander(t("import.map_title"), icon=":material/rule:"):
        st.caption(t("import.map_caption"))
        chosen = {}
        for kind, value in todo:
            options = list(proj.VALUE_KINDS[kind][2])
            chosen[(kind, value)] = st.selectbox(
                c.md_escape(t("import.map_value", value=value, kind=t(f"settings.kind_{kind}"))), options,
                format_func=c.label_for(f"canonical.{kind}."), key=f"import_map_{i}_{kind}_{value}")
        if st.button(t("import.map_apply"), key=f"import_map_apply_{i}", icon=":material/check:"):
            changed = 0
            try:
                for key in res["project_key"].split(","):
                    for kind in ("status", "type", "resolution"):
                        mapping = {v: canon for (k, v), canon in chosen.items() if k == kind}
                        if mapping:
                            changed += proj.set_value_maps(cur, key, kind, mapping, user=c.current_user())
            except proj.ProjectSettingsError as err:
                st.error(t(f"settings.error.{err.code}", **err.params), icon=":material/block:")
            else:
                c.clear_caches()
                st.success(t("import.map_saved", issues=changed), icon=":material/check_circle:")
        st.page_link(c.SETTINGS_PAGE, label=t("import.map_settings_link"), icon=":material/settings:")


reports = st.session_state.get("import_reports") or []
if reports:
    st.subheader(t("import.report_title"))
    for i, r in enumerate(reports):
        if not r["ok"]:
            st.error(c.md_escape(t("import.report_refused", text=c.error_text(r["error"]))), icon=":material/block:")
            continue
        res = r["result"]
        if res.get("duplicate"):
            st.info(c.md_escape(t("import.report_duplicate", file=r["file"], project=res["project_key"])),
                    icon=":material/content_copy:")
            continue
        with st.container(border=True):
            st.success(c.md_escape(t("import.report_ok", file=r["file"], project=res["project_key"],
                                     format=c.format_label(res["source_format"]))), icon=":material/check_circle:")
            cols = st.columns(3)
            cols[0].metric(t("import.rows"), f"{res['rows']:,}")
            cols[1].metric(t("import.issues"), f"{res['issues']:,}")
            cols[2].metric(t("import.changes"), f"{res['changes']:,}")
            _report_history(res)
            c.show_warnings(res.get("warnings") or [], title_key="import.warnings_title")
            _map_unmapped(i, res)

st.subheader(t("import.history_title"))
deleted = st.session_state.pop("import_deleted", None)
if deleted and deleted.get("missing"):
    st.warning(t("import.delete_failed", id=deleted["import_id"]), icon=":material/warning:")
elif deleted:
    st.success(c.md_escape(t("import.deleted", id=deleted["import_id"], file=deleted["file_name"],
                             restored=deleted["issues_restored"], removed=deleted["issues_deleted"])),
               icon=":material/delete:")
history = proj.list_imports(cur)
if not len(history):
    st.caption(t("import.history_empty"))
else:
    project = proj.get_project(cur, state.current_project(cur) or "") or {"timezone": "Asia/Shanghai"}
    history["imported_at"] = [c.local_time(x, project["timezone"]) for x in history["imported_at"]]
    history["exported_at"] = [None if pd.isna(x) else c.local_time(x, project["timezone"])
                              for x in history["exported_at"]]
    history["source_format"] = [c.format_label(x) for x in history["source_format"]]
    st.dataframe(history[["imported_at", "exported_at", "file_name", "project_key", "source_format", "rows",
                          "warnings", "imported_by"]], hide_index=True, width="stretch", placeholder="—", column_config={
        "imported_at": st.column_config.TextColumn(t("import.col_time", tz=project["timezone"])),
        "exported_at": st.column_config.TextColumn(t("import.col_exported"), help=t("import.col_exported_help")),
        "file_name": st.column_config.TextColumn(t("import.col_file")),
        "project_key": st.column_config.TextColumn(t("import.col_project")),
        "source_format": st.column_config.TextColumn(t("import.col_format")),
        "rows": st.column_config.NumberColumn(t("import.col_rows"), format="%d"),
        "warnings": st.column_config.NumberColumn(t("import.col_warnings"), format="%d"),
        "imported_by": st.column_config.TextColumn(t("import.col_by")),
    })
    # Delete an import: one button per past import, confirmed in its popover (store/history.delete_import).
    with st.expander(t("import.delete_title"), icon=":material/delete:"):
        st.caption(t("import.delete_caption"))
        for row in history.itertuples(index=False):
            text, button = st.columns([5, 1], vertical_alignment="center")
            text.markdown(c.md_escape(t("import.delete_row", id=row.import_id, time=row.imported_at,
                                        file=row.file_name, project=row.project_key, rows=row.rows)))
            with button.popover(t("import.delete_button"), icon=":material/delete:",
                                key=f"import_delete_{row.import_id}"):
                st.warning(c.md_escape(t("import.delete_confirm_text", id=row.import_id, file=row.file_name,
                                         project=row.project_key)), icon=":material/warning:")
                if st.button(t("import.delete_confirm"), type="primary", key=f"import_delete_confirm_{row.import_id}"):
                    try:
                        done = store_history.delete_import(cur, int(row.import_id), user=c.current_user())
                    except store_history.ImportNotFound:
                        done = {"import_id": int(row.import_id), "missing": True}
                    st.session_state["import_deleted"] = done
                    st.session_state.pop("import_reports", None)    # the report may describe what was deleted
                    c.clear_caches()
                    st.rerun()    # the sidebar (projects, data-as-of) is drawn before this page
