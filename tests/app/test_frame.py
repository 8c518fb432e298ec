"""The frame (app.py): language from the browser, the URL or the switch, kept across pages; page titles in
both languages; a friendly pointer to Import on an empty database; the legacy pages/ guard."""
from __future__ import annotations

import pytest

from tests.app.helpers import app, lang_switch, texts
from ui.i18n import translate

PAGES = {
    "pages/overview.py": "overview.title",
    "pages/delivery.py": "delivery.title",
    "pages/quality.py": "quality.title",
    "pages/import.py": "import.title",
    "pages/settings.py": "settings.title",
}
TITLES = {
    ("pages/overview.py", "en"): "Project overview", ("pages/overview.py", "zh-CN"): "项目总览",
    ("pages/delivery.py", "en"): "Delivery", ("pages/delivery.py", "zh-CN"): "交付",
    ("pages/quality.py", "en"): "Quality", ("pages/quality.py", "zh-CN"): "质量",
    ("pages/import.py", "en"): "Import exports", ("pages/import.py", "zh-CN"): "导入导出文件",
    ("pages/settings.py", "en"): "Settings", ("pages/settings.py", "zh-CN"): "设置",
}


def title(at) -> str:
    return at.title[0].value


@pytest.mark.parametrize("page, lang", sorted(TITLES))
def test_every_page_has_its_title_in_both_languages(pulse_db, page, lang):
    at = app(lang, page)
    assert not at.exception
    assert title(at) == TITLES[(page, lang)] == translate(PAGES[page], lang)
    assert at.sidebar.selectbox[0].label == translate("app.project", lang)


def test_browser_locale_picks_the_language_and_chinese_is_the_default(pulse_db):
    assert title(app("en-US")) == "Project overview"
    assert title(app("zh-CN")) == "项目总览"
    assert title(app(None)) == "项目总览"      # no browser locale known: the PMO's default


def test_lang_query_parameter_overrides_the_browser(pulse_db):
    at = app("en", lang="zh-CN")
    assert title(at) == "项目总览"
    assert at.session_state["lang"] == "zh-CN"
    at = app("zh-CN", lang="en")
    assert title(at) == "Project overview"
    assert at.query_params["lang"] == "en"     # the URL keeps the code, for a shared link


def test_language_switch_sticks_across_pages(pulse_db):
    at = app("en")
    lang_switch(at).set_value("zh-CN").run()
    assert title(at) == "项目总览"
    assert at.query_params["lang"] == "zh-CN"
    for page, key in PAGES.items():
        at.switch_page(page).run()
        assert not at.exception
        assert title(at) == translate(key, "zh-CN")
        assert at.session_state["lang"] == "zh-CN"
    lang_switch(at).set_value("en").run()
    assert title(at) == "Settings"
    at.switch_page("pages/quality.py").run()
    assert title(at) == "Quality"


def test_project_choice_sticks_across_pages(pulse_db):
    at = app("en")
    assert at.sidebar.selectbox[0].value == "ACME"
    assert at.sidebar.selectbox[0].options == ["ACME · Acme Customer Portal"]
    at.switch_page("pages/quality.py").run()
    assert "**ACME** · Acme Customer Portal" in texts(at)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
@pytest.mark.parametrize("page", [p for p in PAGES if p != "pages/import.py"])
def test_empty_database_gets_a_pointer_to_import_not_a_traceback(empty_db, page, lang):
    at = app(lang, page)
    assert not at.exception
    assert [i.value for i in at.info] == [translate("common.no_project", lang)]
    links = at.get("page_link")
    assert [link.proto.label for link in links] == [translate("common.go_import", lang)]
    assert links[0].proto.page.endswith("import")


def test_empty_database_import_page_is_ready_to_upload(empty_db):
    at = app("en", "pages/import.py")
    assert not at.exception
    assert at.file_uploader(key="import_files").proto.label == "Tracker exports (CSV, JSON, XLSX, XML)"
    assert translate("import.history_empty", "en") in texts(at)


@pytest.mark.legacy_pages_mode
def test_page_reached_in_legacy_pages_mode_still_gets_the_frame(pulse_db):
    """AppTest (like a fresh server's first request) runs pages/*.py on their own; ensure_frame reruns
    through app.py, so the language switch and the project picker are there."""
    at = app("en")
    at.switch_page("pages/quality.py").run()
    assert not at.exception
    assert title(at) == "Quality"
    assert [s.label for s in at.sidebar.selectbox] == ["Project"]
    assert lang_switch(at).label == "Language / 语言"
