"""Import: upload tracker exports, preview them, import each in its own transaction, read the report.

A refused file leaves the database unchanged and the other files still import. The report stays on screen
(session state) until the next import; below it, every past import.
"""
from __future__ import annotations

import streamlit as st

from ingest.detect import FORMATS
from store import projects as proj
from store import settings as named_settings
from ui import state
from ui import components as c
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
        preview = c.preview_upload(f.name, f.getvalue(), fmt)
        size_kb = f"{len(f.getvalue()) / 1024:,.1f} KB"
        verdict = preview.detected if not preview.error else t("import.preview_refused")
        icon = ":material/block:" if preview.error else ":material/description:"
        with st.expander(f"{f.name} · {size_kb} · {verdict or '—'}", expanded=len(files) == 1, icon=icon):
            if preview.detected:
                st.caption(t("import.detected", format=preview.detected))
            if preview.error:
                st.error(c.md_escape(preview.error), icon=":material/block:")
            if preview.frame is not None:
                st.dataframe(preview.frame, hide_index=True, width="stretch", height=260)
                st.caption(t("import.preview_rows", n=min(len(preview.frame), c.PREVIEW_ROWS)))

    if st.button(t("import.run", n=len(files)), type="primary", key="import_run", icon=":material/upload:"):
        before = {k for k, _ in state.projects(cur)}
        reports = []
        progress = st.progress(0.0, text=t("import.progress", done=0, total=len(files)))
        for i, f in enumerate(files, start=1):
            with st.status(t("import.running", file=f.name), expanded=False) as box:
                report = c.import_upload(cur, f.name, f.getvalue(), fmt=fmt, project_key=project_override,
                                         imported_by=c.current_user())
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

reports = st.session_state.get("import_reports") or []
if reports:
    st.subheader(t("import.report_title"))
    for r in reports:
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
            c.show_warnings(res.get("warnings") or [], title_key="import.warnings_title")

st.subheader(t("import.history_title"))
history = proj.list_imports(cur)
if not len(history):
    st.caption(t("import.history_empty"))
else:
    project = proj.get_project(cur, state.current_project(cur) or "") or {"timezone": "Asia/Shanghai"}
    history["imported_at"] = [c.local_time(x, project["timezone"]) for x in history["imported_at"]]
    history["source_format"] = [c.format_label(x) for x in history["source_format"]]
    st.dataframe(history[["imported_at", "file_name", "project_key", "source_format", "rows", "warnings",
                          "imported_by"]], hide_index=True, width="stretch", placeholder="—", column_config={
        "imported_at": st.column_config.TextColumn(t("import.col_time", tz=project["timezone"])),
        "file_name": st.column_config.TextColumn(t("import.col_file")),
        "project_key": st.column_config.TextColumn(t("import.col_project")),
        "source_format": st.column_config.TextColumn(t("import.col_format")),
        "rows": st.column_config.NumberColumn(t("import.col_rows"), format="%d"),
        "warnings": st.column_config.NumberColumn(t("import.col_warnings"), format="%d"),
        "imported_by": st.column_config.TextColumn(t("import.col_by")),
    })
