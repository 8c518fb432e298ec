"""Settings: what the exports cannot know. Project size and calendar, module sizes, sprint dates, and how
the tracker's raw statuses, types and resolutions map onto the canonical ones.

Every save goes through store/projects.py and takes effect at once (the metric cache is cleared).
"""
from __future__ import annotations

from zoneinfo import available_timezones

import pandas as pd
import streamlit as st

from metrics.burndown import sprint_windows
from store import projects as proj
from ui import state
from ui import components as c
from ui.i18n import t

c.ensure_frame()
cur = state.cursor()
project = c.require_project(cur)
pk, tz = project["project_key"], project["timezone"]
c.page_header("settings.title", project, "settings.caption")

flash = st.session_state.pop("settings_flash", None)
if flash:
    st.success(t(flash["key"], **flash.get("params", {})), icon=":material/check_circle:")
rev = st.session_state.get("settings_rev", 0)


def saved(key: str, **params) -> None:
    """After a save: fresh metrics, fresh editors, and the confirmation shown once."""
    c.clear_caches()
    st.session_state["settings_flash"] = {"key": key, "params": params}
    st.session_state["settings_rev"] = rev + 1
    st.rerun()


def refused(err: proj.ProjectSettingsError) -> None:
    st.error(t(f"settings.error.{err.code}", **err.params), icon=":material/error:")


# --- Project ----------------------------------------------------------------------------------------
st.subheader(t("settings.project_title"))
CALENDARS = ["CN", "none", "HK", "TW", "SG", "JP", "KR", "US", "GB", "DE", "FR", "IN"]
calendars = CALENDARS if project["calendar"] in CALENDARS else [project["calendar"], *CALENDARS]
zones = sorted(available_timezones())
with st.form(f"project_form_{pk}_{rev}", border=True):
    a, b = st.columns(2)
    kloc = a.number_input(t("settings.size_kloc"), min_value=0.0, value=project["size_kloc"], step=0.5,
                          format="%.2f", placeholder=t("settings.unknown"), help=t("settings.size_kloc_help"))
    fp = b.number_input(t("settings.size_fp"), min_value=0.0, value=project["size_fp"], step=10.0, format="%.0f",
                        placeholder=t("settings.unknown"), help=t("settings.size_fp_help"))
    a, b = st.columns(2)
    calendar = a.selectbox(t("settings.calendar"), calendars, index=calendars.index(project["calendar"]),
                           accept_new_options=True, help=t("settings.calendar_help"),
                           format_func=c.calendar_label())
    zone = b.selectbox(t("settings.timezone"), zones, index=zones.index(tz) if tz in zones else 0,
                       help=t("settings.timezone_help"))
    if st.form_submit_button(t("settings.save"), type="primary"):
        try:
            proj.update_project(cur, pk, size_kloc=kloc, size_fp=fp, calendar=calendar, timezone_name=zone,
                                user=c.current_user())
        except proj.ProjectSettingsError as err:
            refused(err)
        else:
            saved("settings.saved_project")

# --- Module sizes -----------------------------------------------------------------------------------
st.subheader(t("settings.modules_title"))
st.caption(t("settings.modules_caption"))
sizes = proj.module_sizes(cur, pk)
names = sorted(set(proj.modules_seen(cur, pk)) | set(sizes))
modules = pd.DataFrame({"module": names, "size_kloc": [sizes.get(n) for n in names]}).astype(
    {"module": "object", "size_kloc": "float64"})
edited_modules = st.data_editor(modules, key=f"modules_{pk}_{rev}", num_rows="dynamic", hide_index=True,
                                width="stretch", placeholder=t("settings.unknown"), column_config={
    "module": st.column_config.TextColumn(t("settings.col_module"), required=True),
    "size_kloc": st.column_config.NumberColumn(t("settings.col_module_kloc"), min_value=0.0, format="%.2f"),
})
if st.button(t("settings.save_modules"), key=f"save_modules_{rev}"):
    try:
        clean = proj.set_module_sizes(cur, pk, dict(zip(edited_modules["module"], edited_modules["size_kloc"])),
                                      user=c.current_user())
    except proj.ProjectSettingsError as err:
        refused(err)
    else:
        saved("settings.saved_modules", n=len(clean))

# --- Sprints ----------------------------------------------------------------------------------------
st.subheader(t("settings.sprints_title"))
st.caption(t("settings.sprints_caption"))
windows = sprint_windows(cur, pk, tz)
if not windows:
    st.caption(t("delivery.no_sprints"))
else:
    stored = proj.sprint_rows(cur, pk)
    sources = dict(zip(stored["name"], stored["source"]))

    def day(instant):
        return None if instant is None else pd.Timestamp(instant).tz_convert(tz).date()

    sprints = pd.DataFrame({
        "name": [w["name"] for w in windows],
        "state": [w["state"] for w in windows],
        "start": [day(w["start_at"]) for w in windows],
        "end": [day(w["end_at"]) for w in windows],
        "completed": [day(w["completed_at"]) for w in windows],
        "source": [t("settings.source_inferred") if w["inferred"]
                   else t("settings.source_" + (sources.get(w["name"]) or "tracker").replace("-", "_"))
                   for w in windows],
    })
    edited_sprints = st.data_editor(sprints, key=f"sprints_{pk}_{rev}", hide_index=True, width="stretch",
                                    disabled=["name", "source"], placeholder="—", column_config={
        "name": st.column_config.TextColumn(t("settings.col_sprint")),
        "state": st.column_config.SelectboxColumn(t("settings.col_state"), options=list(proj.SPRINT_STATES),
                                                  format_func=c.label_for("settings.state_")),
        "start": st.column_config.DateColumn(t("settings.col_start"), format="YYYY-MM-DD"),
        "end": st.column_config.DateColumn(t("settings.col_end"), format="YYYY-MM-DD"),
        "completed": st.column_config.DateColumn(t("settings.col_completed"), format="YYYY-MM-DD"),
        "source": st.column_config.TextColumn(t("settings.col_source")),
    })
    if st.button(t("settings.save_sprints"), key=f"save_sprints_{rev}"):
        cols = ["state", "start", "end", "completed"]
        changed = [r for r, o in zip(edited_sprints.to_dict("records"), sprints.to_dict("records"))
                   if any(str(r[k]) != str(o[k]) for k in cols)]
        try:
            n = proj.set_sprint_dates(cur, pk, changed, user=c.current_user())
        except proj.ProjectSettingsError as err:
            refused(err)
        else:
            saved("settings.saved_sprints", n=n)

# --- Value maps ---------------------------------------------------------------------------------------
st.subheader(t("settings.maps_title"))
st.caption(t("settings.maps_caption"))
for tab, kind in zip(st.tabs([t(f"settings.kind_{k}") for k in proj.VALUE_KINDS]), proj.VALUE_KINDS):
    with tab:
        seen = proj.raw_values(cur, pk, kind)
        if not len(seen):
            st.caption(t("settings.maps_none"))
            continue
        allowed = list(proj.VALUE_KINDS[kind][2])
        frame = seen[["raw_value", "canonical", "issues", "mapped_here"]].copy()
        edited = st.data_editor(frame, key=f"maps_{kind}_{pk}_{rev}", hide_index=True, width="stretch",
                                disabled=["raw_value", "issues", "mapped_here"], column_config={
            "raw_value": st.column_config.TextColumn(t("settings.col_raw")),
            "canonical": st.column_config.SelectboxColumn(
                t("settings.col_canonical"), options=allowed, required=True,
                format_func=c.label_for(f"canonical.{kind}.")),
            "issues": st.column_config.NumberColumn(t("settings.col_issues"), format="%d"),
            "mapped_here": st.column_config.CheckboxColumn(t("settings.col_mapped_here")),
        })
        if st.button(t("settings.save_maps"), key=f"save_maps_{kind}_{rev}"):
            mapping = {r["raw_value"]: r["canonical"] for r, o in zip(edited.to_dict("records"),
                                                                      frame.to_dict("records"))
                       if r["canonical"] != o["canonical"]}
            try:
                n = proj.set_value_maps(cur, pk, kind, mapping, user=c.current_user())
            except proj.ProjectSettingsError as err:
                refused(err)
            else:
                saved("settings.saved_maps", n=len(mapping), issues=n)
