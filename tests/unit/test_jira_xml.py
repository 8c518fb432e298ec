"""The Jira XML (RSS) adapter on our own fixture (whole rows), its refusal of DTDs, and on the two real XML
samples: the MitsuSarkar XML gives the same issues as the CSV export of the same site."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ingest import IngestError, ingest_file
from ingest.decode import decode_file
from ingest.detect import FORMATS, XML_BANNER, probe
from ingest.jira_xml import parse
from store import db
from tests.samples import DATA, sample

XML = DATA / "jira_xml"
ORBIT = XML / "orbit_rss.xml"
UTC = timezone.utc
COLUMNS = ("issue_key, title, type, type_raw, status_raw, status_category, resolution_raw, resolution_class, "
           "priority, severity, created_at, updated_at, done_at, due_at, story_points, original_estimate_h, "
           "remaining_estimate_h, time_spent_h, assignee, reporter, components, labels, sprints, fix_versions, "
           "parent_key, reopen_count")


@pytest.fixture
def cur():
    con = db.connect(":memory:")
    yield db.cursor(con)
    con.close()


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def rows(cur, project="ORB"):
    return cur.execute(f"SELECT {COLUMNS} FROM issues WHERE project_key = ? ORDER BY issue_key", [project]).fetchall()


def counts(cur) -> dict:
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in db.TABLES}


def codes(result) -> dict:
    return {w["code"]: w for w in result.warnings}


# Worked by hand from orbit_rss.xml: dates carry +0800 (kept as written); due dates are days in the project's zone
# (Asia/Shanghai), as the CSV's Due date.
EXPECTED = [
    ("ORB-1", "Checkout flow & receipts", "story", "Story", "Done", "done", "Done", "delivered", "High", None,
     utc(2026, 11, 2, 1, 15), utc(2026, 11, 13, 9, 40, 12), utc(2026, 11, 13, 9, 40, 12), utc(2026, 11, 12, 16, 0),
     5.0, 16.0, 0.0, 18.0, "Lin Wei", "Zhou Min", ["Web", "Payments"], ["checkout", "q4"],
     ["ORB Sprint 1", "ORB Sprint 2"], ["2026.11"], None, None),
    ("ORB-2", "Refund rounding error", "bug", "Bug", "In Review", "in_progress", None, None, "Highest", "S2 - Major",
     utc(2026, 11, 3, 2, 0), utc(2026, 11, 16, 3, 5), None, None, None, None, None, None, None, "Zhou Min", [], [],
     ["ORB Sprint 2"], [], None, None),
    ("ORB-3", "收据模板 (receipt template)", "subtask", "子任务单", "已完成", "done", "完成", "delivered", "Medium", None,
     utc(2026, 11, 4, 6, 0), utc(2026, 11, 12, 1, 30), utc(2026, 11, 12, 1, 30), None, None, 4.0, None, 5.0,
     "Lin Wei", None, [], [], [], [], "ORB-1", None),
    ("ORB-4", "Legacy coupon import", "task", "Task", "Won't Do", "done", "Won't Do", "valid_not_fixed", "Medium",
     None, utc(2026, 11, 5, 0, 0), utc(2026, 11, 10, 8, 0), utc(2026, 11, 10, 8, 0), None, None, None, None, None,
     "Chen Jie", None, [], [], ["ORB Sprint 1"], [], "ORB-1", None),
    ("ORB-5", "Reopened: tax on shipping", "bug", "Bug", "Reopened", "todo", None, None, "High", None,
     utc(2026, 11, 6, 2, 0), utc(2026, 11, 18, 2, 0), None, utc(2026, 11, 29, 16, 0), None, None, None, None, None,
     None, [], [], [], [], None, 1),
]


def test_orbit_whole_rows(cur):
    result = ingest_file(cur, ORBIT)
    assert (result.source_format, result.project_key, result.rows, result.issues) == ("jira-xml", "ORB", 5, 5)
    assert rows(cur) == EXPECTED
    assert cur.execute("SELECT project_key, name, tracker FROM projects").fetchall() == [("ORB", "Orbit Shop", "jira")]
    w = codes(result)
    assert w["xml_export_truncated"] == {"code": "xml_export_truncated", "shown": 5, "total": 7}
    assert w["done_date_from_updated"]["count"] == 1                  # ORB-4: done, no <resolved>
    assert w["estimate_coverage"] == {"code": "estimate_coverage", "estimated": 1, "in_scope": 4}
    assert "unmapped_type" not in w and "unmapped_status" not in w    # 子任务单 is a sub-task, 已完成 done by key


def test_sprints_keep_the_dates_a_greenhopper_value_carries(cur):
    ingest_file(cur, ORBIT)
    assert cur.execute("SELECT name, state, start_at, end_at, completed_at, source FROM sprints ORDER BY name"
                       ).fetchall() == [
        ("ORB Sprint 1", "closed", utc(2026, 11, 2, 1, 0), utc(2026, 11, 13, 10, 0), utc(2026, 11, 13, 10, 30),
         "tracker"),
        ("ORB Sprint 2", None, None, None, None, "names-only")]


def test_project_override_and_reimport(cur):
    first = ingest_file(cur, ORBIT, project_key="SHOP")
    assert first.project_key == "SHOP" and counts(cur)["issues"] == 5
    again = ingest_file(cur, ORBIT, project_key="SHOP")
    assert again.duplicate and counts(cur)["imports"] == 1


def test_a_pmo_status_mapping_wins_over_the_status_category(cur):
    from store import projects
    ingest_file(cur, ORBIT)
    projects.set_value_maps(cur, "ORB", "status", {"In Review": "todo"})
    cur.execute("DELETE FROM issues")
    cur.execute("DELETE FROM imports")
    ingest_file(cur, ORBIT)
    assert cur.execute("SELECT status_category FROM issues WHERE issue_key = 'ORB-2'").fetchall() == [("todo",)]


def test_detection_and_the_probe(cur):
    decoded = decode_file(ORBIT)
    p = probe(decoded)
    assert (p.kind, p.document["root"]) == ("xml", "rss")
    assert [f.name for f in FORMATS.values() if f.kind == "xml" and f.sniff(p)] == ["jira-xml"]
    # the Import page's own invented RSS (tests/data/app) is recognised too
    assert ingest_file(cur, DATA / "app" / "gamma_rss.xml").source_format == "jira-xml"


def test_a_browser_copy_with_the_banner_line_is_read(cur, tmp_path):
    copy = tmp_path / "SearchRequest.xml"
    copy.write_text(XML_BANNER + " associated with it. The document tree is shown below.\n"
                    + ORBIT.read_text(encoding="utf-8").split("\n", 1)[1], encoding="utf-8")
    assert ingest_file(cur, copy).issues == 5
    assert rows(cur) == EXPECTED


def test_other_xml_is_an_unknown_shape(cur, tmp_path):
    feed = tmp_path / "blog.xml"
    feed.write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Blog</title>'
                    "<item><title>Hello</title><guid>1</guid></item></channel></rss>", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, feed)
    assert (err.value.code, err.value.params) == ("unknown_xml_shape", {"seen": "rss"})
    other = tmp_path / "pom.xml"
    other.write_text("<?xml version='1.0'?><project><modelVersion>4.0.0</modelVersion></project>", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, other)
    assert (err.value.code, err.value.params) == ("unknown_xml_shape", {"seen": "project"})


def test_malformed_xml_is_refused_with_its_line(cur, tmp_path):
    bad = tmp_path / "cut.xml"
    bad.write_text(ORBIT.read_text(encoding="utf-8")[:3000], encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, bad)
    assert err.value.code == "bad_xml" and err.value.row > 40
    assert counts(cur)["imports"] == 0


# --- No DTD, ever ---------------------------------------------------------------------------------------------

def test_billion_laughs_is_refused_before_any_expansion(cur):
    before = counts(cur)
    with pytest.raises(IngestError) as err:
        ingest_file(cur, XML / "billion_laughs.xml")
    assert err.value.code == "xml_dtd_forbidden"
    with pytest.raises(IngestError) as err:
        ingest_file(cur, XML / "billion_laughs.xml", fmt="jira-xml")
    assert err.value.code == "xml_dtd_forbidden"
    assert counts(cur) == before


@pytest.mark.parametrize("doc", [
    '<!DOCTYPE rss [<!ENTITY a "b">]><rss><channel/></rss>',
    '<?xml version="1.0"?>\n<!-- RSS generated by JIRA -->\n<!DOCTYPE rss SYSTEM "file:///etc/passwd"><rss/>',
    '<!DOCTYPE rss PUBLIC "-//x//y" "http://example.invalid/x.dtd"><rss/>',
])
def test_the_parser_itself_refuses_any_dtd(doc):
    """Defence in depth: the probe refuses a DTD in the prolog, and the parser refuses one wherever it is."""
    with pytest.raises(IngestError) as err:
        parse(doc, "x.xml")
    assert err.value.code == "xml_dtd_forbidden"


def test_the_probe_refuses_a_dtd_after_comments(cur, tmp_path):
    path = tmp_path / "sneaky.xml"
    path.write_text('<?xml version="1.0"?>\n<!-- RSS generated by JIRA -->\n'
                    '<!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
                    '<rss version="0.92"><channel><item><key id="1">A-1</key><summary>&x;</summary></item>'
                    "</channel></rss>", encoding="utf-8")
    with pytest.raises(IngestError) as err:
        ingest_file(cur, path)
    assert err.value.code == "xml_dtd_forbidden"
    from ui.components import preview_file
    assert "DTD" in preview_file(path, "sneaky.xml").error


# --- Real samples ----------------------------------------------------------------------------------------------

def _snapshot(cur) -> dict:
    out = {}
    for r in cur.execute("SELECT issue_key, project_key, type, status_raw, status_category, resolution_class, "
                         "priority, story_points, original_estimate_h, time_spent_h, assignee, due_at, created_at, "
                         "updated_at, done_at, sprints, labels, components FROM issues ORDER BY issue_key").fetchall():
        *head, created, updated, done, sprints, labels, components = r
        minute = [None if t is None else t.replace(second=0, microsecond=0) for t in (created, updated, done)]
        out[r[0]] = (*head[1:], *minute, sprints, labels, components)
    return out


def test_mitsusarkar_xml_and_csv_give_the_same_issues():
    """Same Jira Cloud site, same day: the XML and the CSV export must give the same keys, status, points and
    dates. The CSV's times are the exporter's profile zone (FORMATS.md 1.4: Europe/London here, +0100 in the XML)
    and whole minutes; the XML's carry their offset and seconds."""
    xml = sample("jira/cloud_2025_xml_rss_export_MitsuSarkar.xml")
    csv_path = sample("jira/cloud_2025_allfields_MitsuSarkar.csv")
    found = {}
    for name, path in (("xml", xml), ("csv", csv_path)):
        con = db.connect(":memory:")
        c = db.cursor(con)
        result = ingest_file(c, path, source_tz="Europe/London")
        assert (result.rows, result.issues) == (19, 19)
        found[name] = _snapshot(c)
        con.close()
    assert sorted(found["xml"]) == sorted(found["csv"])
    assert len(found["xml"]) == 19
    assert found["xml"] == found["csv"]
    bd10 = found["xml"]["BD-10"]
    assert bd10[:7] == ("BD", "task", "To Do", "todo", None, "Medium", 2105.0)
    assert bd10[10] == datetime(2025, 10, 4, 23, 0, tzinfo=UTC)      # due 5 Oct, a day in Europe/London
    assert found["xml"]["BVAVR-1"][3] == "in_progress"                 # Analyzing: category indeterminate


def test_mitsusarkar_xml_seconds_and_offsets():
    con = db.connect(":memory:")
    c = db.cursor(con)
    ingest_file(c, sample("jira/cloud_2025_xml_rss_export_MitsuSarkar.xml"))
    # <created>Mon, 15 Sep 2025 18:42:35 +0100</created>, whatever zone the project has
    assert c.execute("SELECT created_at FROM issues WHERE issue_key = 'BD-10'").fetchone()[0] == \
        datetime(2025, 9, 15, 18, 42, 35, tzinfo=timezone(timedelta(hours=1)))
    con.close()


def test_makarov_browser_copy():
    con = db.connect(":memory:")
    c = db.cursor(con)
    result = ingest_file(c, sample("jira/cloud_2024_xml_SearchRequest_browser_copy_Makarov.xml"))
    assert (result.source_format, result.project_key, result.issues) == ("jira-xml", "NC", 4)
    assert c.execute("SELECT issue_key, type, status_category, parent_key, sprints, assignee, reporter "
                     "FROM issues ORDER BY issue_key").fetchall() == [
        ("NC-1", "other", "done", None, ["Scrum Спринт 1"], None, "Денис Макаров"),
        ("NC-2", "other", "done", None, ["Scrum Спринт 1"], None, "Денис Макаров"),
        ("NC-3", "subtask", "done", "NC-2", ["Scrum Спринт 1"], None, "Денис Макаров"),
        ("NC-4", "subtask", "done", "NC-2", ["Scrum Спринт 1"], None, "Денис Макаров")]
    w = codes(result)
    # Russian names are reported, never guessed: the statuses are done by their category key
    assert w["unmapped_type"]["values"] == ["Баг", "История"]
    assert w["unmapped_resolution"]["values"] == ["Готово"]
    assert "unmapped_status" not in w
    con.close()
