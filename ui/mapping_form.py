"""The Import page's column-mapping screen: for a CSV/XLSX no importer knows (or when "Column mapping" is the
chosen format), one selectbox per canonical field over the file's headers, a guess preselected from the header
names (English and Chinese), a required project key, and "Save mapping and import".

The file is imported through the mapping first (ingest_file(..., fmt="mapping", mapping=...)); only when it is
accepted is the mapping saved for the project (store/projects.save_mapping, named by the header's fingerprint),
so a refused file leaves nothing behind. The next file with the same columns is then read through the saved
mapping without asking (ingest/mapping.py has the precedence).
"""
from __future__ import annotations

import hashlib
import re
from functools import partial

import streamlit as st

from ingest.mapping import FIELDS
from store import projects as proj
from ui import components as c
from ui.i18n import current_lang, t, translate

# Header words that suggest a field, English and Chinese, strongest first. A header equal to a word (ignoring
# case, spaces and punctuation) scores above one merely containing it; short Latin words (id, key, sp...) count
# only when equal, so "Assignee Id" is no key and "Sprint" is no "sp".
SYNONYMS: dict[str, list[str]] = {
    "key": ["编号", "issue key", "key", "id", "issue id", "问题编号", "工单号", "单号", "#", "编码", "序号"],
    "title": ["标题", "summary", "title", "主题", "subject", "名称", "任务名称", "需求名称", "name", "概要"],
    "type": ["类型", "issue type", "type", "work item type", "tracker", "跟踪", "问题类型"],
    "status": ["状态", "status", "state", "当前状态"],
    "resolution": ["解决方案", "resolution", "关闭原因"],
    "created": ["创建日期", "创建时间", "created", "created at", "created date", "创建", "提交日期", "opened"],
    "resolved": ["解决日期", "解决时间", "完成日期", "完成时间", "resolved", "resolved at", "done date", "closed",
                 "closed at", "完成", "解决", "关闭日期", "关闭时间", "finished"],
    "updated": ["更新日期", "更新时间", "最后修改", "修改日期", "updated", "updated at", "last updated", "modified",
                "更新"],
    "story_points": ["故事点", "story points", "story point estimate", "points", "sp", "估算点数", "点数"],
    "estimate_hours": ["预计工时", "最初预计", "预计", "original estimate", "estimate", "estimated hours",
                       "estimate hours", "预估工时", "计划工时"],
    "spent_hours": ["消耗工时", "总计消耗", "消耗", "time spent", "spent", "spent hours", "logged", "实际工时",
                    "已用工时"],
    "assignee": ["指派给", "指派", "assignee", "assigned to", "负责人", "处理人", "owner", "经办人"],
    "sprint": ["迭代", "sprint", "iteration", "冲刺", "所属迭代", "所属执行", "iteration path"],
    "labels": ["标签", "labels", "label", "tags", "tag", "关键词"],
    "components": ["模块", "components", "component", "组件", "所属模块", "module", "area path"],
    "priority": ["优先级", "priority", "pri"],
    "severity": ["严重程度", "严重级别", "severity", "严重"],
    "parent": ["父编号", "父任务", "父需求", "parent", "parent key", "parent id", "上级", "父"],
}
# A date field never takes a person's column (由谁创建 "created by" holds a name, not a date), an estimate
# never the remaining one.
EXCLUDE: dict[str, list[str]] = {
    "created": ["由谁", "by", "人"], "resolved": ["由谁", "by", "人", "方案", "版本", "resolution"],
    "updated": ["由谁", "by", "人"], "estimate_hours": ["剩余", "remaining", "left"],
    "assignee": ["日期", "时间", "date"], "title": ["项目", "project", "产品", "product"],
    "status": ["category", "分类"], "key": ["父", "parent", "project", "项目"],
}
_LATIN = re.compile(r"^[a-z0-9 #]+$")


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-:：()（）/]+", " ", str(text).strip().lower()).strip()


def _score(field: str, header: str) -> int:
    h = _norm(header)
    if not h or any(x in h for x in EXCLUDE.get(field, [])):
        return 0
    best = 0
    for rank, word in enumerate(SYNONYMS[field]):
        w = _norm(word)
        if h == w:
            best = max(best, 1000 - rank)
        elif not _LATIN.match(w) and w in h:            # Chinese words count inside a longer header
            best = max(best, 500 - rank - len(h))
        elif _LATIN.match(w) and len(w) > 3 and re.search(rf"\b{re.escape(w)}\b", h):
            best = max(best, 400 - rank - len(h))
    return best


def guess_mapping(header: list[str]) -> dict[str, str]:
    """A first guess: canonical field -> header name, each header used once, best-scoring pairs first."""
    names = [h for h in dict.fromkeys(str(x).strip() for x in header) if h]
    pairs = sorted(((_score(f, h), FIELDS.index(f), i, f, h) for f in FIELDS for i, h in enumerate(names)),
                   key=lambda x: (-x[0], x[1], x[2]))
    out: dict[str, str] = {}
    used: set[str] = set()
    for score, _, _, field, name in pairs:
        if score <= 0 or field in out or name in used:
            continue
        out[field] = name
        used.add(name)
    return {f: out[f] for f in FIELDS if f in out}


def _option_label(none_label: str, value: str) -> str:
    return value if value else none_label


def _form_key(file_name: str, data: bytes) -> str:
    return hashlib.sha256(file_name.encode("utf-8") + b"\0" + data).hexdigest()[:12]


def render(cur, file_name: str, data: bytes, preview, *, fmt: str = "auto", project_key: str | None = None) -> None:
    """What the column mapping means for one uploaded file, inside its preview expander: the saved mapping it
    will be read through (or was just saved from it), or the form when it needs one."""
    if preview.mapping:
        saved = st.session_state.get("mapping_saved") or {}
        m = preview.mapping
        if saved.get("key") == _form_key(file_name, data):
            st.success(c.md_escape(t("mapping.saved", name=saved["name"], project=saved["project"])),
                       icon=":material/check_circle:")
        else:
            st.caption(c.md_escape(t("mapping.will_use", name=m.get("name") or "—", project=m.get("project_key") or "—")))
        return
    if preview.needs_mapping:
        show(cur, file_name, data, preview, fmt=fmt, project_key=project_key)


def show(cur, file_name: str, data: bytes, preview, *, fmt: str = "auto", project_key: str | None = None) -> None:
    """The mapping form for one uploaded file (inside its preview expander). On submit, imports the file through
    the mapping, saves the mapping when the import is accepted, puts the report where the page shows reports,
    and reruns."""
    header = [h for h in dict.fromkeys(str(x).strip() for x in preview.header or []) if h]
    if not header:
        return
    key = _form_key(file_name, data)
    guess = guess_mapping(header)
    options = ["", *header]
    label = partial(_option_label, translate("mapping.none", current_lang()))
    st.markdown(f"**{t('mapping.title')}**")
    st.caption(t("mapping.intro_chosen" if fmt == "mapping" else "mapping.intro"))
    st.caption(c.md_escape(t("mapping.columns", columns=" · ".join(header))))
    with st.form(key=f"mapform_{key}", border=True):
        chosen: dict[str, str] = {}
        cols = st.columns(3)
        for n, field in enumerate(FIELDS):
            with cols[n % 3]:
                value = st.selectbox(t(f"mapping.field.{field}"), options, format_func=label,
                                     index=options.index(guess[field]) if field in guess else 0,
                                     key=f"map_{key}_{field}")
            if value:
                chosen[field] = value
        project = st.text_input(t("mapping.project"), value=(project_key or "").strip(), key=f"map_{key}_project",
                                placeholder=t("mapping.project_placeholder"), help=t("mapping.project_help"))
        submitted = st.form_submit_button(t("mapping.submit"), type="primary", icon=":material/upload:",
                                          key=f"map_{key}_submit")
    if not submitted:
        return
    if "key" not in chosen:
        st.error(t("mapping.key_required"), icon=":material/block:")
        return
    project = (project or "").strip()
    if not project:
        st.error(t("mapping.project_required"), icon=":material/block:")
        return
    before = {p["project_key"] for p in proj.list_projects(cur)}
    report = import_with_mapping(cur, file_name, data, project, chosen, preview.header or header,
                                 user=c.current_user())
    st.session_state["import_reports"] = [report]
    c.clear_caches()
    if report["ok"]:
        st.session_state["mapping_saved"] = {"key": key, "name": report.get("mapping_saved"), "project": project}
        if project not in before:
            st.session_state["_project_next"] = project   # app.py selects it before drawing the picker
    st.rerun()


def import_with_mapping(cur, file_name: str, data: bytes, project_key: str, mapping: dict[str, str],
                        header: list[str], *, user: str | None = None) -> dict:
    """Import one file through `mapping`, then save the mapping for the project when the file was accepted.
    The report is import_upload's, with `mapping_saved` (the name) when saved."""
    report = c.import_upload(cur, file_name, data, fmt="mapping", project_key=project_key, imported_by=user,
                             mapping=mapping)
    if report["ok"]:
        report["mapping_saved"] = proj.save_mapping(cur, project_key, mapping, header=header, user=user)
    return report


def field_keys() -> list[str]:
    """Every catalog key this screen uses (checked by tests/unit/test_mapping.py)."""
    return ([f"mapping.field.{f}" for f in FIELDS] + [f"mapping.{k}" for k in (
        "title", "intro", "intro_chosen", "columns", "none", "project", "project_placeholder", "project_help", "submit",
        "key_required", "project_required", "will_use", "saved")])


__all__ = ["guess_mapping", "render", "show", "import_with_mapping", "SYNONYMS"]
