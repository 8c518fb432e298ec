"""Import page: the report of a second monthly export (new / updated issues, history from snapshots, values to
map inline) and deleting a past import with a confirmation (store/history.delete_import)."""
from __future__ import annotations

from store import db
from tests.app.helpers import app, metrics_by_label, plain, table_counts, texts, widget
from tests.samples import DATA

PAGE = "pages/import.py"
HIST = DATA / "history"
A = HIST / "HIS_Jira_current_fields_2026-08-31.csv"
B = HIST / "HIS_Jira_current_fields_2026-09-30.csv"


def upload_and_import(at, *files):
    at.file_uploader(key="import_files").set_value([(p.name, p.read_bytes(), "text/csv") for p in files]).run()
    widget(at, "button", "import_run").click().run()
    assert not at.exception
    return at


def query(sql, params=()):
    cur = db.cursor(db.connect(db.default_db_path()))
    return cur.execute(sql, list(params)).fetchall()


def test_the_report_of_a_second_export_shows_new_updated_and_derived_history(pulse_db):
    at = upload_and_import(app("en", PAGE), A, B)
    labels = [m.label for m in at.metric]
    assert labels.count("New issues") == 2 and labels.count("History from snapshots") == 2
    values = [(m.label, m.value) for m in at.metric if m.label in ("New issues", "Updated issues",
                                                                     "History from snapshots")]
    assert values == [("New issues", "6"), ("Updated issues", "0"), ("History from snapshots", "0"),
                      ("New issues", "1"), ("Updated issues", "6"), ("History from snapshots", "8")]
    shown = texts(at)
    assert "Export taken 2026-09-30 17:00 (Asia/Shanghai): the latest Updated date in the file." in shown
    assert "1 issue(s) name a parent that no issue of the project has (first: HIS-99)" in shown
    # past imports show when each export was taken, the order history follows
    history = [d.value for d in at.dataframe if "file_name" in d.value.columns][0]
    assert history[["file_name", "exported_at"]].values.tolist()[:2] == [
        [B.name, "2026-09-30 17:00"], [A.name, "2026-08-31 17:00"]]


def test_unmapped_values_are_mapped_inline_and_replayed(pulse_db):
    at = upload_and_import(app("en", PAGE), B)
    status = widget(at, "selectbox", "import_map_0_status_Waiting for QA")
    kind = widget(at, "selectbox", "import_map_0_type_Experiment")
    assert status.options == ["To do", "In progress", "Done"] and status.value == "todo"
    status.set_value("in_progress")
    kind.set_value("story")
    at.run()
    widget(at, "button", "import_map_apply_0").click().run()
    assert not at.exception
    assert "Mapping saved: 2 issue(s) changed." in texts(at)
    assert query("SELECT kind, raw_value, canonical FROM value_maps ORDER BY kind") == [
        ("status", "Waiting for QA", "in_progress"), ("type", "Experiment", "story")]
    assert query("SELECT type, status_category FROM issues WHERE issue_key = 'HIS-7'") == [("story", "in_progress")]
    assert [(link.proto.page, link.proto.label) for link in at.get("page_link")] == [
        ("settings", "All value mappings (Settings)")]


def test_delete_a_past_import_after_confirming(pulse_db):
    before = table_counts(pulse_db)
    at = upload_and_import(app("en", PAGE), A)
    (new_id,) = [r[0] for r in query("SELECT import_id FROM imports WHERE file_name = ?", [A.name])]
    assert table_counts(pulse_db) != before
    # one delete button per past import, each confirmed in its own popover
    keys = {b.key for b in at.button}
    assert {f"import_delete_confirm_{i}" for (i,) in query("SELECT import_id FROM imports")} <= keys
    widget(at, "button", f"import_delete_confirm_{new_id}").click().run()
    assert not at.exception
    assert query("SELECT count(*) FROM imports WHERE import_id = ?", [new_id]) == [(0,)]
    counts = table_counts(pulse_db)
    assert counts["audit_log"] == before["audit_log"] + 2            # the import and its deletion
    assert {k: v for k, v in counts.items() if k != "audit_log"} == {
        k: v for k, v in before.items() if k != "audit_log"}
    assert [plain(s.value) for s in at.success] == [
        f"Deleted import #{new_id} ({A.name}): 0 issue(s) restored, 6 removed."]
    assert at.sidebar.selectbox[0].value == "ACME"                   # HIS is gone from the picker
    history = [d.value for d in at.dataframe if "file_name" in d.value.columns][0]
    assert history["file_name"].tolist() == ["acme_jira_all_fields.csv"]


def test_delete_is_offered_in_chinese(pulse_db):
    at = app("zh-CN", PAGE)
    assert any(e.proto.label == "删除导入" for e in at.get("expander"))
    assert widget(at, "button", "import_delete_confirm_1").label == "确认删除"
