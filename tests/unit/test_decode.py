"""Decoding: UTF-8 (BOM or not), UTF-16, GB18030/GBK, a few cut bytes repaired with a warning, else refused."""
from __future__ import annotations

import pytest

from ingest.decode import decode_file
from ingest.errors import IngestError

TEXT = "Issue key,Summary\nA-1,登录失败\nA-2,导出报表\n"


@pytest.mark.parametrize("encoding,expected", [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"),
                                               ("utf-16", "utf-16"), ("gbk", "gb18030"), ("gb18030", "gb18030")])
def test_supported_encodings_decode_to_the_same_text(tmp_path, encoding, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(TEXT.encode(encoding))
    decoded = decode_file(path)
    assert decoded.encoding == expected
    assert decoded.path.read_text(encoding="utf-8-sig") == TEXT
    assert decoded.warnings == []
    decoded.cleanup()


def test_a_few_cut_utf8_bytes_are_replaced_and_reported_by_line(tmp_path):
    path = tmp_path / "cut.csv"
    path.write_bytes(b"Issue key,Summary\nA-1,ok\nA-2,bad \x93 dash\nA-3,fine\nA-4,more \xa6\n")
    decoded = decode_file(path)
    assert decoded.encoding == "utf-8 (repaired)"
    assert decoded.warnings == [{"code": "stray_bytes_replaced", "rows": [3, 5], "count": 2}]
    assert "bad \ufffd dash" in decoded.path.read_text(encoding="utf-8")


def test_empty_and_binary_files_are_refused_by_name(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(IngestError) as err:
        decode_file(empty)
    assert (err.value.code, err.value.file) == ("empty_file", "empty.csv")
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 20)
    with pytest.raises(IngestError) as err:
        decode_file(binary)
    assert err.value.code == "binary_file"
    assert err.value.render("en") == ("photo.csv: this is not a text export (it contains binary data); "
                                      "export CSV, XLSX or JSON from the tracker.")


def test_a_western_code_page_file_is_refused_not_guessed(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes(("Issue key,Summary\n" + "".join(f"A-{i},Café crème brûlée für Müller\n" for i in range(40)))
                     .encode("cp1252"))
    with pytest.raises(IngestError) as err:
        decode_file(path)
    assert err.value.code == "encoding" and err.value.file == "latin.csv"
