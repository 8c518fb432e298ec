"""Import: upload, preview, import each file on its own, report; a refused file is named with its row and
column, in the UI language, and changes nothing while the other files still import."""
from __future__ import annotations

from tests.app.helpers import (ACME_CSV, BAD_CSV, BETA_CSV, app, metrics_by_label, plain, table_counts, texts,
                               widget)
from store import db

PAGE = "pages/import.py"


def upload(at, *files):
    at.file_uploader(key="import_files").set_value([(p.name, p.read_bytes(), "text/csv") for p in files]).run()
    assert not at.exception
    return at


def click_import(at):
    widget(at, "button", "import_run").click().run()
    assert not at.exception
    return at


def imports(path):
    cur = db.cursor(db.connect(path))
    return cur.execute("SELECT file_name, project_key, source_format, rows FROM imports ORDER BY import_id").fetchall()


def test_preview_shows_rows_and_the_detected_format(pulse_db):
    at = upload(app("en", PAGE), BETA_CSV)
    (frame,) = [d.value for d in at.dataframe if "Issue key" in d.value.columns]
    assert frame["Issue key"].tolist() == ["BETA-1", "BETA-2", "BETA-3"]
    assert "Sprint" in frame.columns and "Components (2)" in frame.columns    # repeated Jira headers kept apart
    assert "Will be read as: Jira CSV export" in texts(at)
    assert widget(at, "button", "import_run").label == "Import 1 file(s)"
    assert imports(pulse_db) == [("acme_jira_all_fields.csv", "ACME", "jira-csv", 20)]   # nothing imported yet


def test_import_adds_the_file_and_reports_it_while_a_bad_one_is_refused(pulse_db):
    at = click_import(upload(app("en", PAGE), BETA_CSV, BAD_CSV))
    assert imports(pulse_db) == [("acme_jira_all_fields.csv", "ACME", "jira-csv", 20),
                                 ("beta_jira_all_fields.csv", "BETA", "jira-csv", 3)]
    shown = texts(at)
    assert "beta_jira_all_fields.csv → project BETA (Jira CSV export)" in shown
    m = metrics_by_label(at)
    assert (m["Rows read"].value, m["Issues"].value, m["History changes"].value) == ("3", "3", "0")
    assert "Estimate coverage: 2 of 3 issues have story points." in shown
    assert [plain(e.value) for e in at.error] == [
        "Refused, nothing imported: bad_missing_key.csv: row 4, column “Issue key”: the issue key is empty."]
    # the new project is selected, and listed in the history below
    assert at.sidebar.selectbox[0].value == "BETA"
    history = [d.value for d in at.dataframe if "file_name" in d.value.columns][0]
    assert history["file_name"].tolist() == ["beta_jira_all_fields.csv", "acme_jira_all_fields.csv"]
    assert history["rows"].tolist() == [3, 20]


def test_a_refused_file_changes_no_table_and_is_reported_in_chinese(pulse_db):
    before = table_counts(pulse_db)
    at = click_import(upload(app("zh-CN", PAGE), BAD_CSV))
    assert table_counts(pulse_db) == before
    assert [plain(e.value) for e in at.error] == [
        "已拒绝，未导入任何数据：bad_missing_key.csv：第 4 行“Issue key”列：问题编号为空。"]


def test_reimporting_the_same_file_changes_nothing(pulse_db):
    before = table_counts(pulse_db)
    at = click_import(upload(app("en", PAGE), ACME_CSV))
    assert table_counts(pulse_db) == before
    assert "acme_jira_all_fields.csv was already imported for ACME: nothing changed." in texts(at)


def test_project_key_override(pulse_db):
    at = app("en", PAGE)
    at.text_input(key="import_project").set_value("MOBILE").run()
    click_import(upload(at, BETA_CSV))
    assert imports(pulse_db)[-1] == ("beta_jira_all_fields.csv", "MOBILE", "jira-csv", 3)
    assert at.sidebar.selectbox[0].value == "MOBILE"


def test_format_choices_are_localized_labels_of_the_registry(pulse_db):
    from ingest.detect import FORMATS
    box = widget(app("zh-CN", PAGE), "selectbox", "import_format")
    assert box.options[0] == "自动识别"
    assert box.options[1:] == [f.label_zh for f in FORMATS.values()]


def test_first_import_into_an_empty_database(empty_db):
    at = click_import(upload(app("en", PAGE), ACME_CSV))
    assert [r[0] for r in imports(empty_db)] == ["acme_jira_all_fields.csv"]
    assert at.sidebar.selectbox[0].value == "ACME"
    at.switch_page("pages/overview.py").run()
    assert not at.exception
    assert metrics_by_label(at)["Open valid bugs"].value == "3"


def test_preview_of_json_and_xml_exports(pulse_db):
    data = BETA_CSV.parent
    at = app("en", PAGE)
    at.file_uploader(key="import_files").set_value([
        ("gamma_search.json", (data / "gamma_search.json").read_bytes(), "application/json"),
        ("gamma_rss.xml", (data / "gamma_rss.xml").read_bytes(), "text/xml")]).run()
    assert not at.exception
    frames = [d.value for d in at.dataframe if "file_name" not in d.value.columns]
    json_rows, xml_rows = frames
    assert json_rows["key"].tolist() == ["GAMMA-1", "GAMMA-2"]
    assert json_rows["fields.summary"].tolist() == ["Sign-in with SSO", "Audit log export"]
    assert xml_rows["key"].tolist() == ["GAMMA-1", "GAMMA-2"]
    assert xml_rows["status"].tolist() == ["Done", "To Do"]
    labels = [e.proto.label for e in at.get("expander")]
    assert labels[0].startswith("gamma_search.json · ") and "Jira REST JSON" in labels[0]
    # the Jira XML importer (ingest/jira_xml.py) reads it: the preview says so before anyone clicks Import
    assert labels[1].startswith("gamma_rss.xml · ") and labels[1].endswith("· Jira XML export (RSS)")
    assert not any("gamma_rss.xml" in plain(e.value) for e in at.error)
