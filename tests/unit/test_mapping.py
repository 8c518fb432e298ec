"""The `mapping` adapter (any other CSV/XLSX through a column mapping), the mapping store and its detection
precedence, on invented files (tests/data/mapping: a Chinese tracker export, March and April, the April columns in
another order)."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
from datetime import datetime, timezone

import pytest

from ingest import IngestError, ingest_file
from ingest.detect import FORMATS
from ingest.mapping import FIELDS, clean_mapping, header_fingerprint
from store import db, projects
from store.projects import ProjectSettingsError
from tests.samples import DATA, REPO
from ui import i18n

MP = DATA / "mapping"
MARCH, APRIL = MP / "tower_march.csv", MP / "tower_april.csv"
JIRA_CSV = DATA / "app" / "beta_jira_all_fields.csv"
UTC = timezone.utc
MAPPING = {"key": "编号", "title": "标题", "type": "类型", "status": "状态", "created": "创建时间",
           "resolved": "完成时间", "updated": "更新时间", "story_points": "故事点", "estimate_hours": "预计工时",
           "spent_hours": "消耗工时", "assignee": "指派给", "sprint": "迭代", "labels": "标签", "components": "模块",
           "priority": "优先级", "severity": "严重程度", "parent": "父编号"}
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, priority, severity, created_at, "
           "updated_at, done_at, story_points, original_estimate_h, time_spent_h, assignee, components, labels, "
           "sprints, parent_key, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def header_of(path) -> list[str]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return next(csv.reader(fh))


def rows(cur, project="TOWER"):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY issue_key", [project]).fetchall()


def counts(cur) -> dict:
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in db.TABLES}


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def codes(result) -> dict:
    return {w["code"]: w for w in result.warnings}


# Worked by hand from tower_march.csv; its times are Asia/Shanghai (UTC+8), the default zone.
EXPECTED = [
    ("101", "登录页改版", "requirement", "需求", "已完成", "done", "高", None, utc(2026, 3, 2, 1, 15),
     utc(2026, 3, 10, 10, 0), utc(2026, 3, 10, 10, 0), 5.0, 16.0, 14.5, "王芳", ["账户"], ["前端", "体验"], ["迭代1"],
     None, None),
    ("102", "导出报表超时", "bug", "缺陷", "处理中", "in_progress", "中", "严重", utc(2026, 3, 3, 2, 0),
     utc(2026, 3, 12, 3, 20), None, None, 4.0, 2.0, "李雷", ["报表"], ["后端", "性能"], ["迭代1"], None, None),
    ("103", "接口文档补全", "task", "任务", "待验收", "todo", "低", None, utc(2026, 3, 4, 6, 30),
     utc(2026, 3, 13, 1, 0), None, 2.0, 1.5, 1.5, None, [], [], ["迭代1"], "101", None),
    ("104", "支付回调重复", "bug", "缺陷", "已关闭", "done", "高", "致命", utc(2026, 3, 5, 0, 45),
     utc(2026, 3, 6, 9, 10), utc(2026, 3, 6, 9, 10), None, None, 3.0, "李雷", ["支付"], [], ["迭代1", "迭代2"], None,
     None),
    ("105", None, "task", "任务", "未开始", "todo", None, None, utc(2026, 3, 6, 1, 0), utc(2026, 3, 6, 1, 0), None,
     None, None, None, None, [], [], [], None, None),
]


# --- The adapter ----------------------------------------------------------------------------------------

def test_an_unknown_csv_is_refused_until_mapped(cur):
    with pytest.raises(IngestError) as err:
        ingest_file(cur, MARCH)
    assert err.value.code == "unknown_shape"
    with pytest.raises(IngestError) as err:
        ingest_file(cur, MARCH, project_key="TOWER", fmt="mapping")
    assert err.value.code == "mapping_required" and "编号" in err.value.params["seen"]
    assert counts(cur)["imports"] == 0


def test_whole_rows_through_an_explicit_mapping(cur):
    result = ingest_file(cur, MARCH, project_key="TOWER", fmt="mapping", mapping=MAPPING)
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("mapping", "TOWER", 5, 5)
    assert rows(cur) == EXPECTED
    w = codes(result)
    # unmapped values reported, not guessed; a number that is none named with its row; no mapping name yet
    assert w["unmapped_status"]["values"] == ["待验收"]
    assert w["unparsable_numbers"] == {"code": "unparsable_numbers", "column": "故事点", "count": 1, "rows": [6],
                                       "example": "abc"}
    assert w["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 2, "in_scope": 5}
    assert "mapping_used" not in w
    assert cur.execute("SELECT name, tracker FROM projects").fetchall() == [("TOWER", "mapping")]
    assert cur.execute("SELECT project_key, name, source FROM sprints ORDER BY name").fetchall() == [
        ("TOWER", "迭代1", "names-only"), ("TOWER", "迭代2", "names-only")]


def test_auto_format_with_a_mapping_reads_through_it_and_a_project_is_required(cur):
    with pytest.raises(IngestError) as err:
        ingest_file(cur, MARCH, mapping=MAPPING)
    assert err.value.code == "mapping_project_required"
    assert ingest_file(cur, MARCH, project_key="TOWER", mapping=MAPPING).source_format == "mapping"


def test_a_minimal_mapping_needs_only_the_key(cur):
    result = ingest_file(cur, MARCH, project_key="T2", mapping={"key": "编号"})
    assert result.issues == 5
    assert cur.execute("SELECT issue_key, type, status_category, created_at FROM issues ORDER BY 1 LIMIT 1"
                       ).fetchall() == [("101", "other", "todo", None)]
    assert codes(result)["missing_column"]["column"] == "Created"
    assert "estimate_coverage" not in codes(result)        # no story-point column mapped: nothing to cover


@pytest.mark.parametrize("mapping,code,params", [
    ({"title": "标题"}, "mapping_invalid", {"detail": "mapping_key_required:key"}),
    ({"key": 0}, "mapping_invalid", {"detail": "mapping_not_a_name:key"}),
    ({"key": "编号", "owner": "指派给"}, "mapping_invalid", {"detail": "mapping_unknown_field:owner"}),
])
def test_a_bad_mapping_is_refused_and_nothing_changes(cur, mapping, code, params):
    before = counts(cur)
    with pytest.raises(IngestError) as err:
        ingest_file(cur, MARCH, project_key="TOWER", mapping=mapping)
    assert (err.value.code, err.value.params) == (code, params)
    assert counts(cur) == before


def test_a_mapped_column_missing_from_the_file_is_named(cur):
    with pytest.raises(IngestError) as err:
        ingest_file(cur, MARCH, project_key="TOWER", mapping={**MAPPING, "resolution": "解决方案"})
    assert (err.value.code, err.value.column) == ("missing_column", "解决方案")


def test_an_empty_key_is_refused_with_its_row_and_column(cur, tmp_path):
    path = tmp_path / "gap.csv"
    path.write_text("编号,标题\n1,a\n,b\n3,c\n", encoding="utf-8")
    before = counts(cur)
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path, project_key="GAP", mapping={"key": "编号", "title": "标题"})
    assert (err.value.code, err.value.row, err.value.column) == ("empty_key", 3, "编号")
    assert counts(cur) == before


def test_header_names_never_enter_the_sql(cur, tmp_path):
    """Hostile header text is only compared with the mapping in Python; the SQL sees c0..cN."""
    evil = "x'); DROP TABLE issues; --"
    path = tmp_path / "evil.csv"
    path.write_text(f'"{evil}","name ""quoted""",$tz\nK-1,one,2026-01-02\n', encoding="utf-8")
    result = ingest_file(cur, path, project_key="EVIL",
                         mapping={"key": evil, "title": 'name "quoted"', "created": "$tz"})
    assert result.issues == 1
    assert cur.execute("SELECT issue_key, title, created_at FROM issues").fetchall() == [
        ("K-1", "one", utc(2026, 1, 1, 16, 0))]


def test_repeated_columns_lists_separators_offsets_and_decimal_commas(cur, tmp_path):
    path = tmp_path / "semi.csv"
    path.write_text("Key;Tag;Tag;Points;Hours;Opened\n"
                    "A-1;ui | web;api;2,5;1,5;2026-02-03T10:00:00+02:00\n"
                    "A-2;;ops；db;;2h 30m;2026-02-04 09:00\n", encoding="utf-8")
    ingest_file(cur, path, project_key="SEMI", mapping={"key": "Key", "labels": "Tag", "story_points": "Points",
                                                          "estimate_hours": "Hours", "created": "Opened"})
    assert cur.execute("SELECT issue_key, labels, story_points, original_estimate_h, created_at FROM issues "
                       "ORDER BY 1").fetchall() == [
        ("A-1", ["ui", "web", "api"], 2.5, 1.5, utc(2026, 2, 3, 8, 0)),
        ("A-2", ["ops", "db"], None, 2.5, utc(2026, 2, 4, 1, 0))]


def test_xlsx_through_a_mapping(cur, tmp_path):
    """Real date cells, numeric keys (12 and 13.0 both read as text keys) and a parent by number."""
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "plan.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("工作项")
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws.write_row(0, 0, ["序号", "事项", "状态", "创建时间", "工时", "上级"])
    ws.write_row(1, 0, [12, "设计评审", "完成"])
    ws.write_datetime(1, 3, dt.datetime(2026, 5, 6, 9, 30), when)
    ws.write_number(1, 4, 3.5)
    ws.write_row(2, 0, [13.0, "联调", "进行中"])
    ws.write_string(2, 3, "2026-05-07")
    ws.write_row(2, 4, [2, 12])
    wb.close()
    result = ingest_file(cur, path, project_key="XL", mapping={
        "key": "序号", "title": "事项", "status": "状态", "created": "创建时间", "spent_hours": "工时",
        "parent": "上级"})
    assert (result.source_format, result.issues) == ("mapping", 2)
    assert cur.execute("SELECT issue_key, title, status_category, created_at, time_spent_h, parent_key FROM issues "
                       "ORDER BY 1").fetchall() == [
        ("12", "设计评审", "done", utc(2026, 5, 6, 1, 30), 3.5, None),
        ("13", "联调", "in_progress", utc(2026, 5, 6, 16, 0), 2.0, "12")]


def test_rows_inside_a_multi_file_transaction_keep_their_numbers(cur, tmp_path):
    from ingest import ingest_files
    ok = tmp_path / "ok.csv"
    ok.write_text("编号,创建时间\n1,2026-01-01\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("编号,创建时间\n1,2026-01-01\n2,2026-01-02\n,2026-01-03\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_files(cur, [ok, bad], project_key="TX", mapping={"key": "编号", "created": "创建时间"})
    assert (err.value.code, err.value.row) == ("empty_key", 4)
    assert counts(cur)["imports"] == 0


# --- The store and detection precedence ---------------------------------------------------------------------

def test_save_list_find_and_reuse_on_the_next_export_in_another_column_order(cur):
    ingest_file(cur, MARCH, project_key="TOWER", mapping=MAPPING)
    name = projects.save_mapping(cur, "TOWER", MAPPING, header=header_of(MARCH))
    assert name == header_fingerprint(header_of(MARCH)) == header_fingerprint(list(reversed(header_of(MARCH))))
    assert name == header_fingerprint(header_of(APRIL))                # same columns, another order
    (saved,) = projects.list_mappings(cur, "TOWER")
    assert saved == {"project_key": "TOWER", "name": name, "mapping": MAPPING}
    stored = cur.execute("SELECT mapping FROM column_mappings").fetchone()[0]
    assert json.loads(stored) == MAPPING                                # header names, never positions
    audit = cur.execute("SELECT action, detail FROM audit_log WHERE action = 'settings'").fetchall()
    assert json.loads(audit[-1][1])["what"] == "column_mapping"

    # no project named: the saved mapping made from exactly these columns, and its project
    result = ingest_file(cur, APRIL)
    assert (result.source_format, result.project_key, result.issues) == ("mapping", "TOWER", 3)
    assert codes(result)["mapping_used"]["name"] == name
    assert cur.execute("SELECT status_category, time_spent_h, sprints FROM issues WHERE issue_key = '102'"
                       ).fetchall() == [("done", 6.0, ["迭代2"])]
    assert cur.execute("SELECT count(*) FROM issues WHERE project_key = 'TOWER'").fetchone()[0] == 6


def test_a_projects_mapping_needs_only_its_columns_present(cur, tmp_path):
    projects.save_mapping(cur, "TOWER", {"key": "编号", "status": "状态"}, name="minimal")
    wider = tmp_path / "wider.csv"
    wider.write_text("编号,状态,新增列\n7,已完成,x\n", encoding="utf-8")
    # another header: not found without a project (its fingerprint differs)...
    with pytest.raises(IngestError) as err:
        ingest_file(cur, wider)
    assert err.value.code == "unknown_shape"
    # ...but with the project named, its mapping whose columns are all present wins
    result = ingest_file(cur, wider, project_key="TOWER")
    assert (result.source_format, result.issues) == ("mapping", 1)
    assert codes(result)["mapping_used"]["name"] == "minimal"
    assert projects.find_mapping(cur, ["编号"], "TOWER") is None        # a column of it missing


def test_with_a_project_named_its_mapping_wins_over_a_builtin_format(cur):
    """The PMO chose to read this layout through a mapping for this project; other projects keep the built-in."""
    header = header_of(JIRA_CSV)
    projects.save_mapping(cur, "MINE", {"key": "Issue key", "title": "Summary", "status": "Status"}, header=header)
    assert ingest_file(cur, JIRA_CSV, project_key="MINE").source_format == "mapping"
    assert ingest_file(cur, JIRA_CSV).source_format == "jira-csv"                     # no project: built-in first
    assert ingest_file(cur, JIRA_CSV, project_key="OTHER").source_format == "jira-csv"
    assert ingest_file(cur, JIRA_CSV, project_key="ALSO", fmt="jira-csv").source_format == "jira-csv"


def test_the_same_columns_mapped_for_two_projects_need_the_project_named(cur):
    for pk in ("A", "B"):
        projects.save_mapping(cur, pk, MAPPING, header=header_of(MARCH))
    assert projects.find_mapping(cur, header_of(APRIL)) is None
    with pytest.raises(IngestError) as err:
        ingest_file(cur, APRIL)
    assert err.value.code == "unknown_shape"
    assert ingest_file(cur, APRIL, project_key="B").project_key == "B"
    # a third project reuses a mapping made for exactly these columns elsewhere
    assert ingest_file(cur, APRIL, project_key="C").source_format == "mapping"
    assert projects.find_mapping(cur, header_of(APRIL), "C", exact_elsewhere=False) is None


def test_format_mapping_uses_the_saved_one(cur):
    projects.save_mapping(cur, "TOWER", MAPPING, header=header_of(MARCH))
    assert ingest_file(cur, APRIL, fmt="mapping").project_key == "TOWER"


@pytest.mark.parametrize("kwargs,code", [
    ({"project_key": " ", "mapping": MAPPING}, "mapping_project_required"),
    ({"project_key": "T", "mapping": {"title": "标题"}}, "mapping_key_required"),
    ({"project_key": "T", "mapping": {"key": 3}}, "mapping_not_a_name"),
    ({"project_key": "T", "mapping": {"key": "编号", "size": "x"}}, "mapping_unknown_field"),
    ({"project_key": "T", "mapping": ["编号"]}, "mapping_not_a_dict"),
    ({"project_key": "T", "mapping": {"key": "编号", "title": "Summary"}, "header": ["编号", "标题"]},
     "mapping_column_missing"),
])
def test_save_mapping_refuses_bad_input_and_writes_nothing(cur, kwargs, code):
    with pytest.raises(ProjectSettingsError) as err:
        projects.save_mapping(cur, **kwargs)
    assert err.value.code == code
    assert cur.execute("SELECT count(*) FROM column_mappings").fetchone()[0] == 0


def test_saving_again_replaces_and_delete_forgets(cur):
    projects.save_mapping(cur, "T", {"key": "编号"}, name="m")
    projects.save_mapping(cur, "T", {"key": "编号", "title": "标题"}, name="m")
    assert projects.list_mappings(cur) == [{"project_key": "T", "name": "m", "mapping": {"key": "编号", "title": "标题"}}]
    assert projects.delete_mapping(cur, "T", "m") and not projects.delete_mapping(cur, "T", "m")
    assert projects.list_mappings(cur) == []


def test_clean_mapping_keeps_field_order_and_drops_unmapped_fields():
    assert clean_mapping({"title": " 标题 ", "key": "编号", "type": "", "status": None}) == {"key": "编号", "title": "标题"}


def test_the_mapping_format_is_registered_and_never_sniffs():
    fmt = FORMATS["mapping"]
    assert fmt.kind == "csv" and fmt.label_zh.startswith("列映射")
    from ingest.detect import Probe
    assert not fmt.sniff(Probe("csv", header=list(MAPPING.values())))


# --- The form's guess and its texts --------------------------------------------------------------------------

def test_guess_from_chinese_and_english_headers():
    from ui.mapping_form import guess_mapping
    assert guess_mapping(header_of(MARCH)) == MAPPING
    zentao_like = ["编号", "任务名称", "由谁创建", "创建日期", "最初预计", "预计剩余", "总计消耗", "指派给", "所属模块",
                   "解决方案", "解决日期"]
    assert guess_mapping(zentao_like) == {
        "key": "编号", "title": "任务名称", "resolution": "解决方案", "created": "创建日期", "resolved": "解决日期",
        "estimate_hours": "最初预计", "spent_hours": "总计消耗", "assignee": "指派给", "components": "所属模块"}
    english = ["ID", "Summary", "Issue Type", "Status", "Status Category", "Assignee", "Assignee Id", "Created",
               "Updated", "Resolved", "Remaining Estimate", "Original Estimate", "Time Spent", "Story Points",
               "Sprint", "Labels", "Components", "Priority", "Parent"]
    assert guess_mapping(english) == {
        "key": "ID", "title": "Summary", "type": "Issue Type", "status": "Status", "created": "Created",
        "resolved": "Resolved", "updated": "Updated", "story_points": "Story Points",
        "estimate_hours": "Original Estimate", "spent_hours": "Time Spent", "assignee": "Assignee",
        "sprint": "Sprint", "labels": "Labels", "components": "Components", "priority": "Priority",
        "parent": "Parent"}
    assert guess_mapping(["备注", "附件"]) == {}


@pytest.mark.parametrize("lang", list(i18n.LANGS))
def test_every_text_of_the_mapping_screen_and_importers_exists(lang):
    from ui.mapping_form import field_keys
    cat = i18n.catalog(lang)
    used = set(field_keys())
    for path in (REPO / "ui" / "mapping_form.py", REPO / "ingest" / "mapping.py", REPO / "ingest" / "jira_xml.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r'\bt\(\s*"([a-zA-Z0-9_.]+)"', text))
        used |= {f"error.{c}" for c in re.findall(r'IngestError\(\s*"([a-z_]+)"', text)}
        used |= {f"warn.{c}" for c in re.findall(r'\bwarning\(\s*"([a-z_]+)"', text)}
    used |= {"error.xml_dtd_forbidden", "error.unknown_xml_shape"}      # raised in ingest/detect.py
    used |= {f"settings.error.{c}" for c in ("mapping_project_required", "mapping_key_required",
                                             "mapping_unknown_field", "mapping_not_a_name", "mapping_not_a_dict",
                                             "mapping_column_missing")}
    assert {f"mapping.field.{f}" for f in FIELDS} <= used
    assert sorted(k for k in used if k not in cat) == []
