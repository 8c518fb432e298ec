"""The Redmine CSV adapter on our own fixtures (no real Redmine export exists, FORMATS.md 9): English and
Chinese captions, `;` with decimal commas, GB18030."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from ingest import IngestError, ingest_file
from store import db
from tests.samples import DATA

REDMINE = DATA / "redmine"
UTC = timezone.utc
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, "
           "priority, severity, created_at, updated_at, done_at, due_at, original_estimate_h, time_spent_h, "
           "assignee, reporter, components, sprints, fix_versions, parent_key, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def rows(cur, project):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY issue_key", [project]).fetchall()


def codes(result):
    return {w["code"]: w for w in result.warnings}


# Worked by hand from tests/data/redmine/issues_en.csv: `06/14/2024 05:30 PM` (en locale, month first), in the
# source zone Asia/Shanghai (UTC+8).
EXPECTED_EN = [
    ("#101", "Cart total wrong", "bug", "Bug", "Closed", "done", "Closed", "delivered", "High", "Major",
     utc(2024, 6, 3, 1), utc(2024, 6, 14, 9, 30), utc(2024, 6, 14, 9, 30), utc(2024, 6, 9, 16), 4.0, 5.5,
     "Han Meimei", "Li Lei", ["Checkout"], ["Sprint 12"], ["Sprint 12"], None, None),
    ("#102", "Wishlist", "story", "Feature", "In Progress", "in_progress", None, None, "Normal", None,
     utc(2024, 6, 4, 2, 15), utc(2024, 6, 20, 2), None, None, 16.0, 6.25, "Li Lei", "Li Lei", [], [], ["v2.0"],
     None, None),
    ("#103", 'Customer asks: "why is my cart empty?"', "task", "Support", "Rejected", "done", "Rejected", "invalid",
     "Low", None, utc(2024, 6, 5), utc(2024, 6, 6), utc(2024, 6, 6), None, None, None, None, "Han Meimei", [], [], [],
     "#101", None),
    # New, but with a Closed date: Redmine keeps the last closing when an issue is reopened.
    ("#104", "Payment timeout", "bug", "Bug", "New", "todo", None, None, "Urgent", "Critical",
     utc(2024, 6, 21, 1), utc(2024, 6, 25, 1), None, None, None, None, None, "Li Lei", ["Payments"], ["Sprint 12"],
     ["Sprint 12"], None, 1),
    # Hours in Redmine's h:mm time-span format.
    ("#105", "Image upload slow", "bug", "Bug", "Feedback", "in_progress", None, None, "Normal", None,
     utc(2024, 6, 24, 5), utc(2024, 6, 26, 5), None, None, 2.5, 1.25, "Li Lei", "Han Meimei", [], [], [], None, None),
]


def test_english_export_whole_rows(cur):
    result = ingest_file(cur, REDMINE / "issues_en.csv")
    assert (result.source_format, result.project_key, result.rows, result.issues) == (
        "redmine-csv", "Web Shop", 5, 5)
    assert rows(cur, "Web Shop") == EXPECTED_EN
    w = codes(result)
    assert w["milestones_as_sprints"]["names"] == ["Sprint 12"]
    assert not {"unmapped_status", "unmapped_type", "unmapped_resolution", "date_order_ambiguous"} & set(w)
    assert ingest_file(cur, REDMINE / "issues_en.csv").duplicate


def test_chinese_gb18030_export_whole_rows(cur):
    result = ingest_file(cur, REDMINE / "issues_zh_gb18030.csv")
    assert (result.project_key, result.rows, result.issues) == ("支付平台", 4, 4)
    assert rows(cur, "支付平台") == [
        # 被重新打开次数 (a custom field counting reopens) gives the exact count.
        ("#201", "支付回调丢失", "bug", "缺陷", "已关闭", "done", "已关闭", "delivered", "高", None,
         utc(2024, 6, 3, 1), utc(2024, 6, 14, 9, 30), utc(2024, 6, 14, 9, 30), utc(2024, 6, 9, 16), 4.0, 5.5,
         "韩梅梅", "李雷", ["支付"], ["迭代 3"], ["迭代 3"], None, 2),
        ("#202", "对账报表", "story", "功能", "进行中", "in_progress", None, None, "普通", None,
         utc(2024, 6, 4, 2, 15), utc(2024, 6, 20, 2), None, None, 16.0, 6.25, "李雷", "李雷", [], [], [], None, 0),
        ("#203", "咨询退款流程", "task", "支持", "已拒绝", "done", "已拒绝", "invalid", "低", None,
         utc(2024, 6, 5), utc(2024, 6, 6), utc(2024, 6, 6), None, None, None, None, "韩梅梅", [], [], [], "#201", None),
        ("#204", "退款金额显示错误", "bug", "缺陷", "反馈", "in_progress", None, None, "普通", None,
         utc(2024, 6, 24, 5), utc(2024, 6, 26, 5), None, None, None, None, "李雷", "韩梅梅", [], [], [], None, None),
    ]
    assert not {"unmapped_status", "unmapped_type", "unmapped_resolution"} & set(codes(result))


def test_semicolon_decimal_comma_export_needs_a_project(cur):
    path = REDMINE / "issues_semicolon_decimal_comma.csv"
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert err.value.code == "project_unknown"
    assert cur.execute("SELECT count(*) FROM imports").fetchone()[0] == 0
    result = ingest_file(cur, path, project_key="ACME")
    assert (result.project_key, result.issues) == ("ACME", 2)
    assert cur.execute("SELECT issue_key, status_category, resolution_class, created_at, done_at, "
                       "original_estimate_h, time_spent_h, fix_versions FROM issues ORDER BY issue_key").fetchall() == [
        ("#7", "done", "delivered", utc(2024, 3, 1, 1), utc(2024, 3, 12, 7, 5), 1.5, 2.25, ["1.2"]),
        ("#8", "todo", None, utc(2024, 3, 4, 2), None, 7.33, None, []),
    ]


def test_bad_issue_id_is_refused_with_its_row(cur, tmp_path):
    path = tmp_path / "issues.csv"
    path.write_text("#,Project,Tracker,Status,Subject\n1,P,Bug,New,A\nabc,P,Bug,New,B\n", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert (err.value.code, err.value.row, err.value.column) == ("bad_issue_id", 3, "#")
    assert str(err.value) == "issues.csv: row 3, column “#”: the issue number “abc” is not a number."
