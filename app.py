"""PMO Pulse: the Streamlit frame. Page config, language switch, project picker, navigation over pages/.

Run with `streamlit run app.py`. The database is $PULSE_DB or data/pulse.duckdb; an empty one gets the demo.
"""
from __future__ import annotations

import streamlit as st

from ui import charts  # noqa: F401  (registers the one Altair theme every chart and export uses)
from ui import state
from ui.i18n import LANGS, browser_lang, t

st.set_page_config(page_title="PMO Pulse", page_icon=":material/monitor_heart:", layout="wide")

# The language switch lives in the frame so it sticks across pages; the labels are each language's own
# name (never translated), so a shared ?lang= link means the same thing to every reader.
st.sidebar.segmented_control(
    "Language / 语言", list(LANGS), key="lang", default=browser_lang(), format_func=LANGS.get,
    bind="query-params", selection_mode="single")

cur = state.cursor()
projects = state.projects(cur)
if projects:
    names = dict(projects)
    st.sidebar.selectbox(t("app.project"), list(names), key="project",
                         index=list(names).index(state.current_project(cur)),
                         format_func=lambda k: f"{k} · {names[k]}" if names[k] != k else k)

pages = [
    st.Page("pages/overview.py", title=t("nav.overview"), icon=":material/dashboard:", url_path="overview",
            default=True),
    st.Page("pages/delivery.py", title=t("nav.delivery"), icon=":material/trending_down:", url_path="delivery"),
    st.Page("pages/quality.py", title=t("nav.quality"), icon=":material/bug_report:", url_path="quality"),
    st.Page("pages/import.py", title=t("nav.import"), icon=":material/upload_file:", url_path="import"),
    st.Page("pages/settings.py", title=t("nav.settings"), icon=":material/settings:", url_path="settings"),
]
st.sidebar.caption(t("app.tagline"))
st.navigation(pages).run()
