"""Settings: each section shows what is stored, saves through store/projects.py, takes effect at once on
the other pages, and refuses a bad value with a translated message and no change."""
from __future__ import annotations

from datetime import date

from tests.app.helpers import app, metrics_by_label, table_counts, texts
from store import db, projects

PAGE = "pages/settings.py"


def settings(locale="en"):
    at = app(locale, PAGE)
    assert not at.exception
    return at


def submit(at, label="Save project settings"):
    (button,) = [b for b in at.get("button") if b.label == label]
    button.click().run()
    assert not at.exception
    return at


def project(path):
    return projects.get_project(db.cursor(db.connect(path)), "ACME")


def test_project_size_saves_and_changes_the_overview_at_once(pulse_db):
    at = settings()
    assert at.number_input[0].value == 4.0 and at.number_input[1].value == 50.0
    at.number_input[0].set_value(8.0)
    submit(at)
    assert project(pulse_db)["size_kloc"] == 8.0
    assert "Project settings saved." in texts(at)
    at.switch_page("pages/overview.py").run()
    assert metrics_by_label(at)["Defect density (/KLOC)"].value == "0.88"     # 7 valid defects / 8 KLOC


def test_bad_calendar_is_refused_in_the_ui_language_and_nothing_changes(pulse_db, monkeypatch):
    """AppTest cannot type a new option into a selectbox: the typed code is injected where the page saves."""
    real = projects.update_project
    monkeypatch.setattr(projects, "update_project",
                        lambda cur, key, **kw: real(cur, key, **{**kw, "calendar": "China!"}))
    before = table_counts(pulse_db)
    at = settings("zh-CN")
    (calendar,) = [s for s in at.selectbox if s.label == "工作日历"]
    assert calendar.proto.accept_new_options
    submit(at, "保存项目设置")
    assert [e.value for e in at.error] == ["“China!”不是有效的日历：请填 CN、none 或国家代码（如 US）。"]
    assert table_counts(pulse_db) == before
    assert project(pulse_db)["calendar"] == "CN"


def test_calendar_none_and_time_zone(pulse_db):
    at = settings()
    (calendar,) = [s for s in at.selectbox if s.label == "Working calendar"]
    assert calendar.value == "CN"
    assert calendar.options[:2] == ["CN — China (holidays + make-up workdays)", "none — Monday to Friday"]
    calendar.set_value("none")
    (zone,) = [s for s in at.selectbox if s.label == "Time zone"]
    assert zone.value == "Asia/Shanghai"
    zone.set_value("Europe/Berlin")
    submit(at)
    saved = project(pulse_db)
    assert (saved["calendar"], saved["timezone"]) == ("none", "Europe/Berlin")


def test_editors_show_what_is_stored(pulse_db):
    at = settings()
    modules, sprints, status, types, resolutions = [e.value for e in at.data_editor]
    assert modules.to_dict("records") == [{"module": "API", "size_kloc": 1.5}, {"module": "Web", "size_kloc": 2.5}]
    assert sprints["name"].tolist() == ["ACME Sprint 1", "ACME Sprint 2", "ACME Sprint 3"]
    assert [str(d)[:10] for d in sprints["start"]] == ["2026-09-28", "2026-11-02", "2026-11-16"]
    assert [str(d)[:10] for d in sprints["end"]] == ["2026-10-16", "2026-11-13", "2026-11-27"]
    assert sprints["source"].tolist() == ["manual"] * 3
    assert dict(zip(status["raw_value"], status["canonical"])) == {
        "Done": "done", "Open": "todo", "In Progress": "in_progress", "To Do": "todo", "Reopened": "todo"}
    assert dict(zip(types["raw_value"], types["issues"])) == {"Bug": 8, "Story": 9, "Epic": 1, "Sub-task": 1,
                                                              "Task": 1}
    assert set(resolutions["raw_value"]) == {"Done", "Fixed", "Duplicate", "Won't Fix"}


def test_saving_module_sizes_keeps_them_and_confirms(pulse_db):
    at = settings()
    submit(at, "Save module sizes")
    assert "2 module size(s) saved." in texts(at)
    assert projects.module_sizes(db.cursor(db.connect(pulse_db)), "ACME") == {"API": 1.5, "Web": 2.5}


def test_unconfigured_project_shows_inferred_sprints_and_unknown_size(raw_db):
    at = settings("zh-CN")
    assert at.number_input[0].value is None
    sprints = at.data_editor[1].value
    assert sprints["source"].tolist() == ["推算"] * 3
    assert isinstance(sprints["start"].iloc[0], date) or str(sprints["start"].iloc[0])[:4] == "2026"
