"""Import page, column mapping: a CSV no importer knows is refused as unknown_shape and the page offers the
mapping form (one selectbox per canonical field, guessed from the Chinese headers, a required project key);
"Save mapping and import" imports it and saves the mapping; the next file with the same columns (in another
order) is imported directly, without the form."""
from __future__ import annotations

from pathlib import Path

from store import db
from tests.app.helpers import app, plain, texts, widget

PAGE = "pages/import.py"
DATA = Path(__file__).resolve().parents[1] / "data" / "mapping"
MARCH = DATA / "tower_march.csv"
APRIL = DATA / "tower_april.csv"


def upload(at, *files):
    at.file_uploader(key="import_files").set_value([(p.name, p.read_bytes(), "text/csv") for p in files]).run()
    assert not at.exception
    return at


def form_widgets(at, kind):
    return {w.key.rsplit("_", 1)[-1] if kind == "text_input" else w.key.split("_", 2)[2]: w
            for w in at.get(kind) if str(getattr(w, "key", "")).startswith("map_")}


def rows(path, sql):
    return db.cursor(db.connect(path)).execute(sql).fetchall()


def test_unknown_csv_is_mapped_imported_and_the_next_file_imports_directly(pulse_db):
    at = upload(app("en", PAGE), MARCH)
    assert any("do not match any known tracker export" in plain(e.value) for e in at.error)
    assert "Map the columns" in texts(at)
    boxes = form_widgets(at, "selectbox")
    # a selectbox per canonical field, labels translated, the guess preselected from the Chinese headers
    assert boxes["key"].label == "Key (required)" and boxes["key"].value == "编号"
    assert boxes["title"].value == "标题" and boxes["status"].value == "状态"
    assert boxes["created"].value == "创建时间" and boxes["resolved"].value == "完成时间"
    assert boxes["story_points"].value == "故事点" and boxes["sprint"].value == "迭代"
    assert boxes["resolution"].value == ""        # no such column: "not in the file"
    assert "备注" in boxes["key"].options

    # the project key is required: nothing is imported without it
    widget(at, "button", next(b.key for b in at.button if b.key and b.key.endswith("_submit"))).click().run()
    assert "Enter the project key." in texts(at)
    assert rows(pulse_db, "SELECT count(*) FROM imports WHERE source_format = 'mapping'") == [(0,)]

    form_widgets(at, "text_input")["project"].set_value("TOWER")
    widget(at, "button", next(b.key for b in at.button if b.key and b.key.endswith("_submit"))).click().run()
    assert not at.exception
    assert rows(pulse_db, "SELECT project_key, source_format, rows FROM imports WHERE file_name = 'tower_march.csv'") \
        == [("TOWER", "mapping", 5)]
    assert rows(pulse_db, "SELECT issue_key, status_category, story_points FROM issues WHERE project_key = 'TOWER' "
                          "ORDER BY issue_key")[:2] == [("101", "done", 5.0), ("102", "in_progress", None)]
    (saved,) = rows(pulse_db, "SELECT project_key, name, mapping FROM column_mappings")
    assert saved[0] == "TOWER" and saved[1].startswith("cols-") and '"key": "编号"' in saved[2]
    shown = texts(at)
    assert "tower_march.csv → project TOWER" in shown
    assert "statuses with no category (待验收)" in shown
    assert f"Mapping saved as “{saved[1]}” for project TOWER" in shown
    assert at.sidebar.selectbox[0].value == "TOWER"

    # the same columns in another order: no form, read through the saved mapping, imported with the others
    at.file_uploader(key="import_files").set_value([(APRIL.name, APRIL.read_bytes(), "text/csv")]).run()
    assert not at.exception
    assert not form_widgets(at, "selectbox")
    assert "Will be read as: Column mapping (any CSV / XLSX)" in texts(at)
    widget(at, "button", "import_run").click().run()
    assert not at.exception
    assert rows(pulse_db, "SELECT project_key, source_format, rows FROM imports WHERE file_name = 'tower_april.csv'") \
        == [("TOWER", "mapping", 3)]
    assert rows(pulse_db, "SELECT status_category FROM issues WHERE project_key = 'TOWER' AND issue_key = '102'") \
        == [("done",)]


def test_the_form_speaks_chinese_and_reads_an_xlsx(pulse_db, tmp_path):
    import pytest
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "计划.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["序号", "主题", "当前状态", "创建日期", "负责人"])
    ws.write_row(1, 0, [1, "需求评审", "已完成", "2026-11-02", "王芳"])
    ws.write_row(2, 0, [2, "接口联调", "进行中", "2026-11-03", "李雷"])
    wb.close()
    at = app("zh-CN", PAGE)
    at.file_uploader(key="import_files").set_value(
        [(path.name, path.read_bytes(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]).run()
    assert not at.exception
    boxes = form_widgets(at, "selectbox")
    assert (boxes["key"].label, boxes["key"].value) == ("编号（必填）", "序号")
    assert (boxes["title"].value, boxes["status"].value, boxes["assignee"].value) == ("主题", "当前状态", "负责人")
    assert boxes["sprint"].value == "" and boxes["sprint"].format_func("") == "— 文件中没有 —"
    (submit,) = [b for b in at.button if b.key and b.key.endswith("_submit")]
    assert submit.label == "保存映射并导入"
    form_widgets(at, "text_input")["project"].set_value("PLAN")
    submit.click().run()
    assert not at.exception
    assert rows(pulse_db, "SELECT issue_key, title, status_category, assignee FROM issues WHERE project_key = 'PLAN' "
                          "ORDER BY 1") == [("1", "需求评审", "done", "王芳"), ("2", "接口联调", "in_progress", "李雷")]
    assert "映射已为项目 PLAN 保存为“cols-" in texts(at)
