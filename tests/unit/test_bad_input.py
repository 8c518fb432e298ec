"""Bad input (tests/data/bad/README.md): every broken file is refused whole with one clear line, in English and
Chinese, naming the file and, where known, the row and column; the database stays exactly as it was (every
table, with and without a batch); `cli.py ingest` exits 2 with that line on stderr and nothing on stdout. Values
a readable row holds but we cannot understand are imported as warnings naming rows and columns, never guessed.
"""
from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys

import pytest

import cli
from ingest import IngestError, ingest_file, ingest_files
from ingest.decode import decode_file
from store import db
from tests.samples import DATA, REPO
from ui.i18n import catalog

BAD = DATA / "bad"
GOOD = DATA / "jira" / "allfields_small.csv"           # already imported in every database below
GOOD_NEW = DATA / "app" / "beta_jira_all_fields.csv"   # a good file that is not, for the batches
CJK = re.compile(r"[\u4e00-\u9fff]")

# file -> (error code, row, column, params that must be there)
REFUSED = {
    "empty.csv": ("empty_file", None, None, {}),
    "whitespace_only.csv": ("empty_file", None, None, {}),
    "bom_only.csv": ("empty_file", None, None, {}),
    "png_named.csv": ("binary_file", None, None, {}),
    "zip_not_xlsx.xlsx": ("zip_not_workbook", None, None, {}),
    "random_bytes.xlsx": ("not_a_workbook", None, None, {}),
    "encrypted.xlsx": ("xlsx_encrypted", None, None, {}),
    "old_excel.xls": ("xls_legacy", None, None, {}),
    "nul_bytes_jira.csv": ("nul_bytes", None, None, {"line": 3}),
    "utf16le_no_bom_jira.csv": ("utf16_no_bom", None, None, {}),
    "cp1252_redmine.csv": ("encoding", None, None, {"encoding": "cp1252"}),
    "mixed_utf8_gbk_jira.csv": ("mixed_encoding", None, None, {"count": 10, "lines": list(range(4, 14))}),
    "header_only_jira.csv": ("no_rows", None, None, {}),
    "header_only_zentao_bug.csv": ("no_rows", None, None, {}),
    "导出 数据 (1).csv": ("no_rows", None, None, {}),
    "unterminated_quote_jira.csv": ("unterminated_quote", 3, None, {}),
    "pipe_delimited_jira.csv": ("unsupported_delimiter", 1, None, {"delimiter": "|"}),
    "extra_cells_jira.csv": ("too_many_cells", 3, None, {"expected": 13}),
    "zentao_truncated_bug.csv": ("too_few_cells", 3, None, {"expected": 13}),
    "zentao_truncated_in_cell.csv": ("too_few_cells", 4, None, {"expected": 13}),
    "unknown_columns.csv": ("unknown_shape", None, None, {"seen": "Name, Email, Department"}),
    "hostile_unknown_columns.csv": ("unknown_shape", None, None, {}),
    "no_key_column_jira.csv": ("missing_key_column", None, None, {"missing": "Issue key"}),
    "empty_key_jira.csv": ("empty_key", 3, "Issue key", {}),
    "duplicate_key_header_jira.csv": ("duplicate_key_column", None, "Issue key", {"positions": [2, 14]}),
    "truncated.json": ("bad_json", 1, None, {}),
    "bad_line.jsonl": ("bad_json", 3, None, {}),
    "github_user.json": ("unknown_json_shape", None, None, {}),
    "jira_field_list.json": ("unknown_json_shape", None, None, {}),
    "null.json": ("json_not_objects", None, None, {"sample": "null"}),
    "numbers.json": ("json_not_objects", None, None, {"sample": "[1, 2, 3, 4.5, -6]"}),
    "jira_search_no_issues.json": ("no_issues", None, None, {}),
    "github_labels_not_a_list.json": ("json_unexpected_value", None, None, {}),
    "not_jira_rss.xml": ("unknown_xml_shape", None, None, {"seen": "rss"}),
}
# Readable files with values we cannot understand: imported, each such value reported by row and column.
WARNED = ("unparsable_dates_jira.csv", "text_story_points_jira.csv", "hostile_values_jira.csv")


def dump(cur) -> dict:
    """Every table of the model, whole and ordered: "unchanged" means equal to this."""
    return {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in db.TABLES}


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "template.duckdb"
    con = db.connect(path)
    ingest_file(db.cursor(con), GOOD)
    con.close()
    return path


@pytest.fixture
def db_path(template, tmp_path):
    path = tmp_path / "pulse.duckdb"
    shutil.copy(template, path)
    return path


@pytest.fixture
def cur(db_path):
    con = db.connect(db_path)
    cursor = db.cursor(con)
    yield cursor
    cursor.close()
    con.close()


def check_message(err: IngestError, name: str) -> None:
    """One line in each language, naming the file (and row / column where known), really translated."""
    en, zh = err.render("en"), err.render("zh-CN")
    for text in (en, zh):
        assert "\n" not in text and "\r" not in text and len(text) < 700, text
        assert "error." not in text and "Traceback" not in text, text
        assert not re.search(r"[\x00-\x1f\x7f]", text), text
    assert en.startswith(f"{name}: ") and zh.startswith(f"{name}：")
    assert f"error.{err.code}" in catalog("en") and f"error.{err.code}" in catalog("zh-CN")
    assert en != zh and CJK.search(zh.removeprefix(name))
    if err.row is not None:
        assert f"row {err.row}" in en and f"第 {err.row} 行" in zh
    if err.column:
        assert f"“{err.column}”" in en and f"“{err.column}”" in zh


def test_the_corpus_is_complete_and_reproducible():
    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    made = module.corpus()
    on_disk = {p.name for p in BAD.iterdir()} - {"make_corpus.py", "README.md"}
    assert on_disk == set(made) == set(REFUSED) | set(WARNED)
    assert len(REFUSED) >= 30
    for name, data in made.items():
        assert (BAD / name).read_bytes() == data, name
    readme = (BAD / "README.md").read_text(encoding="utf-8")
    for name in made:
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_whole_with_one_clear_line_and_the_database_unchanged(cur, name):
    code, row, column, params = REFUSED[name]
    before = dump(cur)
    with pytest.raises(IngestError) as info:
        ingest_file(cur, BAD / name)
    err = info.value
    assert (err.code, err.file, err.row, err.column) == (code, name, row, column)
    assert params.items() <= err.params.items()
    check_message(err, name)
    assert dump(cur) == before


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_a_batch_with_a_refused_file_imports_nothing_from_any_file(cur, name):
    before = dump(cur)
    with pytest.raises(IngestError) as info:
        ingest_files(cur, [GOOD_NEW, BAD / name])
    assert (info.value.code, info.value.file) == (REFUSED[name][0], name)
    assert dump(cur) == before
    # the refused file listed first: the good one after it is not reached, and nothing is left either
    with pytest.raises(IngestError):
        ingest_files(cur, [BAD / name, GOOD_NEW])
    assert dump(cur) == before


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_cli_exits_2_with_the_line_on_stderr_only(db_path, capsys, name):
    with pytest.raises(IngestError) as info:
        ingest_file(db.cursor(db.connect(":memory:")), BAD / name)
    con = db.connect(db_path)
    before = dump(db.cursor(con))
    con.close()
    capsys.readouterr()
    assert cli.main(["ingest", str(GOOD_NEW), str(BAD / name), "--db", str(db_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == info.value.render("en") + "\n"
    assert cli.main(["--lang", "zh-CN", "ingest", str(BAD / name), "--db", str(db_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == info.value.render("zh-CN") + "\n"
    con = db.connect(db_path)
    assert dump(db.cursor(con)) == before
    con.close()


def run_cli(*args):
    proc = subprocess.run([sys.executable, str(REPO / "cli.py"), *map(str, args)], capture_output=True, text=True,
                          cwd=REPO, timeout=180)
    return proc.returncode, proc.stdout, proc.stderr


def test_cli_process_never_shows_a_traceback(db_path, tmp_path):
    """The real process, for the files that could break a Python process: deep JSON (RecursionError), a 10 MB
    line, NUL bytes, a name with spaces and Chinese, hostile header text for the terminal."""
    deep = tmp_path / "deep.json"
    deep.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    line = tmp_path / "one_line.csv"
    line.write_bytes(b"x" * (10 * 1024 * 1024))
    for path, expected in ((deep, "deep.json: the JSON is nested thousands of levels deep"),
                           (line, "one_line.csv: row 1: the first line is not a header"),
                           (BAD / "nul_bytes_jira.csv", "nul_bytes_jira.csv: line 3 holds NUL (0x00) bytes"),
                           (BAD / "导出 数据 (1).csv", "导出 数据 (1).csv: the file has a header but no data rows."),
                           (BAD / "hostile_unknown_columns.csv", "hostile_unknown_columns.csv: the columns do not")):
        rc, out, err = run_cli("ingest", path, "--db", db_path)
        assert (rc, out) == (2, ""), err
        assert len(err.splitlines()) == 1 and err.startswith(expected), err
        assert "\x1b" not in err and "Traceback" not in err


# --- Files made at test time (too big to commit) -----------------------------------------------------------

JIRA_HEAD = "Summary,Issue key,Issue id,Issue Type,Status,Created"


@pytest.mark.parametrize("name,content,code,row", [
    ("ten_mb_line.csv", b"x" * (10 * 1024 * 1024), "header_too_long", 1),
    ("ten_mb_header_cell.csv", (JIRA_HEAD + "," + "y" * (10 * 1024 * 1024)).encode(), "header_too_long", 1),
    ("ten_mb_of_cells.csv", b",".join([b"abc"] * (10 * 1024 * 1024 // 4)), "unknown_shape", None),
    ("deep_list.json", b"[" * 100_000 + b"]" * 100_000, "json_too_deep", None),
    ("deep_object.json", b'{"a":' * 100_000 + b"1" + b"}" * 100_000, "json_too_deep", None),
    ("deep_in_issues.json", b'{"issues": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}", "json_too_deep", None),
    ("deep_line.jsonl", b'{"a": 1}\n' + b"[" * 100_000 + b"]" * 100_000 + b"\n", "json_too_deep", None),
    ("ten_thousand_columns.csv", (",".join(f"col{i}" for i in range(10_000)) + "\n"
                                  + ",".join("v" for _ in range(10_000)) + "\n").encode(), "unknown_shape", None),
])
def test_big_and_deep_files_are_refused_without_crashing(cur, tmp_path, name, content, code, row):
    path = tmp_path / name
    path.write_bytes(content)
    before = dump(cur)
    with pytest.raises(IngestError) as info:
        ingest_file(cur, path)
    assert (info.value.code, info.value.row) == (code, row)
    check_message(info.value, name)
    assert dump(cur) == before


def test_ten_thousand_columns_of_a_jira_export_import(cur, tmp_path):
    """Width alone is no reason to refuse: a Jira export with 10,000 custom fields reads as any other."""
    path = tmp_path / "wide.csv"
    extra = 10_000 - len(JIRA_HEAD.split(","))
    path.write_text(JIRA_HEAD + "," + ",".join(f"Custom field (f{i})" for i in range(extra)) + "\n"
                    + "Wide,WIDE-1,1,Task,Open,03/Jun/24 9:00 AM" + ",v" * extra + "\n", encoding="utf-8")
    result = ingest_file(cur, path)
    assert (result.project_key, result.rows) == ("WIDE", 1)


def test_a_file_over_the_upload_limit_is_refused_by_the_import_itself(cur, tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(GOOD.read_bytes() + b"\n" * (3 * 1024 * 1024))
    before = dump(cur)
    with pytest.raises(IngestError) as info:
        ingest_file(cur, path, max_bytes=2 * 1024 * 1024)
    assert info.value.code == "too_large"
    assert info.value.render("en") == "big.csv: the file is larger than the 2 MB upload limit."
    assert info.value.render("zh-CN") == "big.csv：文件超过 2 MB 的上传上限。"
    with pytest.raises(IngestError) as info:
        ingest_files(cur, [GOOD_NEW, path], max_bytes=2 * 1024 * 1024)
    assert info.value.code == "too_large"
    assert dump(cur) == before
    # at the limit exactly, or without one, the same file imports
    assert ingest_file(cur, GOOD_NEW, max_bytes=GOOD_NEW.stat().st_size).rows == 3


# --- Imported with warnings ---------------------------------------------------------------------------------

def test_unparsable_dates_are_left_empty_and_reported_by_row_and_column(cur):
    result = ingest_file(cur, BAD / "unparsable_dates_jira.csv")
    dates = [w for w in result.warnings if w["code"] == "unparsable_dates"]
    assert dates == [
        {"code": "unparsable_dates", "column": "Created", "count": 3, "rows": [2, 3, 4], "example": "yesterday"},
        {"code": "unparsable_dates", "column": "Updated", "count": 3, "rows": [2, 3, 4], "example": "last week"},
        {"code": "unparsable_dates", "column": "Resolved", "count": 1, "rows": [2], "example": "soon"}]
    assert cur.execute("SELECT count(*) FROM issues WHERE project_key = 'BAD' AND created_at IS NULL "
                       "AND updated_at IS NULL").fetchone() == (3,)


def test_story_points_that_are_text_are_reported_not_guessed(cur):
    result = ingest_file(cur, BAD / "text_story_points_jira.csv")
    assert {"code": "unparsable_numbers", "column": "Custom field (Story Points)", "count": 2, "rows": [2, 3],
            "example": "five"} in result.warnings
    assert cur.execute("SELECT issue_key, story_points FROM issues WHERE project_key = 'BAD' ORDER BY 1"
                       ).fetchall() == [("BAD-1", None), ("BAD-2", None), ("BAD-3", 5.0)]
    from ui.i18n import render_warning
    assert render_warning(result.warnings[0], "en") == (
        "2 value(s) in column “Custom field (Story Points)” are not numbers or durations (first: “five”, "
        "row(s) 2, 3); left empty.")


def test_hostile_values_and_headers_are_stored_as_text(cur):
    tables = cur.execute("SELECT count(*) FROM information_schema.tables").fetchone()
    result = ingest_file(cur, BAD / "hostile_values_jira.csv")
    assert result.rows == 3
    titles = dict(cur.execute("SELECT issue_key, title FROM issues WHERE project_key = 'BAD'").fetchall())
    assert titles == {"BAD-1": 'Robert"); DROP TABLE issues; --',
                      "BAD-2": 'He said "hi", then \x07\x1b[2J left\ttab',
                      "BAD-3": "' OR 1=1 --"}
    assert cur.execute("SELECT count(*) FROM information_schema.tables").fetchone() == tables
    assert cur.execute("SELECT count(*) FROM imports").fetchone() == (2,)
    assert cur.execute("SELECT sprints FROM issues WHERE issue_key = 'BAD-1'").fetchone() == (
        ["; DROP TABLE sprints; --"],)


def test_hostile_header_text_is_quoted_on_one_line():
    with pytest.raises(IngestError) as info:
        ingest_file(db.cursor(db.connect(":memory:")), BAD / "hostile_unknown_columns.csv")
    assert info.value.render("en") == (
        'hostile_unknown_columns.csv: the columns do not match any known tracker export (first columns: Name, '
        'Email "primary", Dept\\nline two, \\x1b[31mred\\x1b[0m, ; DROP TABLE issues; --). Choose the format by hand.')


# --- Encodings: where repair ends and refusal begins (ingest/decode.py) --------------------------------------

UTF8_ROWS = "".join(f"登录页面 {i},A-{i},{i},Story,To Do,03/Jun/24 9:00 AM\n" for i in range(1, 30))


def test_a_few_gbk_bytes_in_utf8_are_repaired_and_named_by_line(tmp_path):
    path = tmp_path / "few.csv"
    path.write_bytes((JIRA_HEAD + "\n" + UTF8_ROWS).encode() + "导出,A-99,99,Bug,To Do,\n".encode("gbk"))
    decoded = decode_file(path)
    assert decoded.encoding == "utf-8 (repaired)"
    assert decoded.warnings == [{"code": "stray_bytes_replaced", "rows": [31], "count": 1}]
    decoded.cleanup()


def test_a_gbk_block_in_utf8_is_refused_not_read_as_gb18030(tmp_path):
    path = tmp_path / "mixed.csv"
    block = "".join(f"导出报表失败，请检查 {i},B-{i},{i},Bug,To Do,\n" for i in range(40)).encode("gbk")
    path.write_bytes((JIRA_HEAD + "\n" + UTF8_ROWS).encode() + block)
    with pytest.raises(IngestError) as info:
        decode_file(path)
    assert info.value.code == "mixed_encoding"
    assert info.value.params == {"lines": list(range(31, 41)), "count": 40}


def test_a_whole_gbk_file_is_still_gbk(tmp_path):
    path = tmp_path / "gbk.csv"
    path.write_bytes((JIRA_HEAD + "\n" + UTF8_ROWS * 50).encode("gbk"))
    decoded = decode_file(path)
    assert decoded.encoding == "gb18030" and decoded.warnings == []
    assert decoded.path.read_text(encoding="utf-8") == JIRA_HEAD + "\n" + UTF8_ROWS * 50
    decoded.cleanup()


def test_utf16_big_endian_without_bom_is_named_too(tmp_path):
    path = tmp_path / "be.csv"
    path.write_bytes((JIRA_HEAD + "\n" + UTF8_ROWS).encode("utf-16-be"))
    with pytest.raises(IngestError) as info:
        decode_file(path)
    assert info.value.code == "utf16_no_bom"


def test_a_file_refused_while_read_leaves_no_temporary_table(cur):
    """Refused by DuckDB's reader (turned into our messages): no stage_* or work table is left behind."""
    for name in ("unterminated_quote_jira.csv", "extra_cells_jira.csv", "zentao_truncated_in_cell.csv"):
        with pytest.raises(IngestError):
            ingest_file(cur, BAD / name)
        temp = cur.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()
        views = cur.execute("SELECT view_name FROM duckdb_views() WHERE temporary AND NOT internal").fetchall()
        assert temp == [] and views == [], (name, temp, views)
