"""Import page, broken files (tests/data/bad/README.md): the preview and the import report show the refusal in the
user's language, naming the file (and row where known); no exception reaches the screen; the database is the same,
table by table. The upload limit holds in the import itself, not only in the uploader widget."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest import IngestError, ingest_file
from store import db
from store import settings as named_settings
from tests.app.helpers import BETA_CSV, TABLES, app, plain, widget

PAGE = "pages/import.py"
BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
FILES = [BAD / "encrypted.xlsx", BAD / "mixed_utf8_gbk_jira.csv", BAD / "zentao_truncated_bug.csv"]


def dump(path: Path) -> dict:
    con = db.connect(path)
    try:
        cur = db.cursor(con)
        return {t: cur.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}
    finally:
        con.close()


def expected(path: Path, lang: str) -> str:
    with pytest.raises(IngestError) as info:
        ingest_file(db.cursor(db.connect(":memory:")), path)
    return info.value.render(lang)


def upload_and_import(at, files):
    at.file_uploader(key="import_files").set_value([(p.name, p.read_bytes(), "text/csv") for p in files]).run()
    assert not at.exception
    widget(at, "button", "import_run").click().run()
    assert not at.exception
    return at


@pytest.mark.parametrize("lang,prefix", [("en", "Refused, nothing imported: "), ("zh-CN", "已拒绝，未导入任何数据：")])
def test_broken_files_are_refused_in_the_users_language_and_change_nothing(pulse_db, lang, prefix):
    before = dump(pulse_db)
    at = upload_and_import(app(lang, PAGE), FILES)
    shown = [plain(e.value) for e in at.error]
    report = [s for s in shown if s.startswith(prefix)]
    assert report == [prefix + expected(p, lang) for p in FILES]
    assert report[2].endswith("第 3 行：该行的单元格少于表头的 13 列：文件被截断或已损坏；请重新导出。" if lang == "zh-CN" else
                              "row 3: the row has fewer cells than the 13 columns of the header: the file is cut off "
                              "or damaged; export it again.")
    # the preview already says so for the two files decoding refuses (staging is needed for the third)
    assert [s for s in shown if not s.startswith(prefix)] == [expected(p, lang) for p in FILES[:2]]
    assert not at.exception and not at.get("exception")
    assert dump(pulse_db) == before


def test_a_good_file_beside_broken_ones_still_imports(pulse_db):
    at = upload_and_import(app("en", PAGE), [FILES[1], BETA_CSV])
    assert "beta_jira_all_fields.csv → project BETA (Jira CSV export)" in "\n".join(plain(s.value) for s in at.success)
    con = db.connect(pulse_db)
    assert db.cursor(con).execute("SELECT file_name FROM imports ORDER BY import_id").fetchall() == [
        ("acme_jira_all_fields.csv",), ("beta_jira_all_fields.csv",)]
    con.close()


def test_the_upload_limit_is_enforced_by_the_import_not_only_the_widget(pulse_db):
    con = db.connect(pulse_db)
    named_settings.put(db.cursor(con), "max_upload_mb", "1")
    con.close()
    big = BETA_CSV.read_bytes() + b"\n" * (1024 * 1024)
    before = dump(pulse_db)
    at = app("en", PAGE)
    # AppTest hands the bytes to the page whatever the widget's limit: the import itself must refuse them
    at.file_uploader(key="import_files").set_value([("beta_big.csv", big, "text/csv")]).run()
    widget(at, "button", "import_run").click().run()
    assert not at.exception
    assert "Refused, nothing imported: beta_big.csv: the file is larger than the 1 MB upload limit." in [
        plain(e.value) for e in at.error]
    assert dump(pulse_db) == before
