"""PMO Pulse: the Streamlit frame. Page config, language switch, project picker, navigation over pages/.

Run with `streamlit run app.py`. The database is $PULSE_DB or data/pulse.duckdb; an empty one gets the demo.
"""
from __future__ import annotations

import streamlit as st

from store import projects as proj
from ui import charts  # noqa: F401  (registers the one Altair theme every chart and export uses)
from ui import state
from ui.components import local_time, project_label
from ui.i18n import LANGS, browser_lang, normalize_lang, t

st.set_page_config(page_title="PMO Pulse", page_icon=":material/monitor_heart:", layout="wide")
st.session_state["_frame_reroutes"] = 0       # see ui.components.ensure_frame
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.5rem;padding-bottom:3rem}"
        "[data-testid='stMetricValue']{font-variant-numeric:tabular-nums}</style>")

# Language: ?lang= (a shared link), else the session's choice, else the browser's. The switch shows each
# language in its own name; the URL carries the code (zh-CN / en), the same for every reader. Not bound
# with bind="query-params": a bound widget puts its *formatted label* in the URL (STREAMLIT.md 1.6).
url_lang = normalize_lang(st.query_params.get("lang"))
if url_lang and url_lang != st.session_state.get("_lang_from_url"):
    st.session_state["lang"] = url_lang
st.session_state["_lang_from_url"] = url_lang or st.session_state.get("_lang_from_url")
if normalize_lang(st.session_state.get("lang")) is None:
    st.session_state["lang"] = browser_lang()
st.sidebar.segmented_control("Language / 语言", list(LANGS), key="lang", format_func=LANGS.get, required=True)
if st.query_params.get("lang") != st.session_state["lang"]:
    st.query_params["lang"] = st.session_state["lang"]
    st.session_state["_lang_from_url"] = st.session_state["lang"]

cur = state.cursor()
projects = state.projects(cur)
if projects:
    names = dict(projects)
    keys = list(names)
    # The project follows the same rules as the language: ?project= (a shared link) when it changes, else the
    # session's choice; the key, never the display name, goes into the URL.
    url_project = st.query_params.get("project")
    if url_project in keys and url_project != st.session_state.get("_project_from_url"):
        st.session_state["project"] = url_project
    st.session_state["_project_from_url"] = url_project
    if st.session_state.get("_project_next") in keys:   # a page asked for it (the Import page, after an import)
        st.session_state["project"] = st.session_state.pop("_project_next")
    if st.session_state.get("project") not in keys:
        st.session_state["project"] = state.current_project(cur)
    st.sidebar.selectbox(t("app.project"), keys, key="project", format_func=project_label(names))
    if st.query_params.get("project") != st.session_state["project"]:
        st.query_params["project"] = st.session_state["project"]
        st.session_state["_project_from_url"] = st.session_state["project"]
    project = proj.get_project(cur, st.session_state["project"])
    when = proj.data_as_of(cur, project["project_key"])
    if when is not None:
        st.sidebar.caption(t("common.data_as_of", when=local_time(when, project["timezone"]),
                             tz=project["timezone"]))

pages = {
    t("nav.section_review"): [
        st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", url_path="overview",
                default=True),
        st.Page("pages/delivery.py", title=t("nav.delivery"), icon=":material/trending_down:",
                url_path="delivery"),
        st.Page("pages/quality.py", title=t("nav.quality"), icon=":material/bug_report:", url_path="quality"),
    ],
    t("nav.section_data"): [
        st.Page("pages/import.py", title=t("nav.import"), icon=":material/upload_file:", url_path="import"),
        st.Page("pages/settings.py", title=t("nav.settings"), icon=":material/settings:", url_path="settings"),
    ],
}
st.sidebar.caption(t("app.tagline"))
st.navigation(pages).run()
