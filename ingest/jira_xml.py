"""`jira-xml`: Jira "Export XML" (the RSS 0.92 search-request view) onto the canonical model.

Reads FORMATS.md 1.5: `<rss version="0.92"><channel><item>` with `<key id=…>`, `<project key=…>`, `<type>`,
`<status>` + `<statusCategory key="new|indeterminate|done">`, `<resolution id="-1">Unresolved</resolution>`
(id -1 = unresolved), `<assignee accountid="-1">Unassigned</assignee>` (-1 = nobody), RFC-822 dates with their
offset (`Mon, 15 Sep 2025 18:42:35 +0100`, kept as written: unlike the CSV, no time zone is assumed), `<due>`
(a day: taken as that day in the project's zone, as the CSV's `Due date`), `<timeoriginalestimate
seconds=…>` / `<timeestimate>` / `<timespent>` (hours), `<component>`, `<fixVersion>`, `<labels><label>`,
`<parent>`, `<subtasks><subtask>` (an issue listed there is a sub-task when its type name maps to nothing), and
`<customfields>`: Sprint (field key `gh-sprint` or named Sprint; values are sprint names, or Server's
greenhopper strings carrying dates), story points (named Story Points, else Story point estimate / key
`jsw-story-points`, else another field named like story points; a float field not so named, e.g. "Variance
Amount", is not read), Epic Link (a parent when there is none), Severity and Found-in phase by name.

Status category: the PMO's own value_maps row for the status wins, then Jira's statusCategory key (language
independent: the Russian `Готово` of a real sample is done by its key), then the status name map, then
"resolved means done". The export holds no history: reopen_count is NULL unless the status is Reopened.

Security: parsed by the standard library's expat with no DTD at all: a document with `<!DOCTYPE` or
`<!ENTITY` is refused (entity expansion, "billion laughs"; external entities are never fetched). A copy out of
Chrome's XML viewer (its "This XML file does not appear to have any style information…" line first, as in a
real sample) is read from the line after it.

Python only walks the parsed tree into flat rows; DuckDB parses the dates and maps the values (no value is
pasted into SQL).
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

import duckdb
import pyarrow as pa

from ingest.detect import Format, Probe, register, xml_start
from ingest.errors import IngestError, warning
from ingest.gitlab import day_start, execute, load_rows, report
from ingest.jira_json import FOUND_PHASE_NAMES, SEVERITY_NAMES, SPRINT_NAMES, _parse_sprint
from ingest.value_maps import UNRESOLVED, create_map_table, join_map
from store.load import Staged

SCHEMA_SPRINT = "com.pyxis.greenhopper.jira:gh-sprint"
SCHEMA_STORY_POINTS = "jsw-story-points"
EPIC_LINK_NAMES = ("epic link", "长篇故事链接")
# Story-point fields by preference: company-managed "Story Points", team-managed "Story point estimate" (field
# key jsw-story-points), the untranslated i18n key seen in a real CSV, Chinese names; then any name like them.
SP_RANK = {"story points": 0, "story point estimate": 1, "${field_story_points}": 2, "故事点": 2, "故事点数": 2}
_SP_PATTERN = re.compile(r"story[ _-]?points?", re.I)
REOPENED = ("reopened", "重新打开", "已重新打开")
_MAX_ROW = 10       # issue keys named in a warning


class _Forbidden(Exception):
    pass


def _forbid(*_args) -> None:
    raise _Forbidden()


def parse(text: str, file_name: str, line_offset: int = 0) -> ET.Element:
    """The root element of an XML text, parsed by expat without any DTD: a DOCTYPE or an entity declaration
    refuses the document (xml_dtd_forbidden) before anything is expanded; a malformed one is bad_xml with its
    line (plus line_offset, the lines cut before the XML started)."""
    parser = expat.ParserCreate()
    builder = ET.TreeBuilder()
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(text, True)           # a str is fed as UTF-8 whatever the declaration says (it was decoded)
    except _Forbidden:
        raise IngestError("xml_dtd_forbidden", file_name) from None
    except expat.ExpatError as exc:
        raise IngestError("bad_xml", file_name, row=(exc.lineno or 0) + line_offset,
                          detail=expat.ErrorString(exc.code)) from None
    return builder.close()


def read_document(path, file_name: str) -> ET.Element:
    """The parsed document of a decoded (UTF-8) file, a browser's banner line skipped."""
    text = Path(path).read_text(encoding="utf-8-sig")
    start = xml_start(text)
    if start is None:
        raise IngestError("bad_xml", file_name, row=1, detail="no XML document")
    return parse(text[start:], file_name, line_offset=text.count("\n", 0, start))


def sniff(p: Probe) -> bool:
    doc = p.document if isinstance(p.document, dict) else {}
    head = doc.get("head") or ""
    return doc.get("root") == "rss" and bool(re.search(r"RSS generated by JIRA", head, re.I)
                                             or re.search(r"<item>.{0,4000}?<key\s+id=", head, re.S))


# --- Tree -> rows -------------------------------------------------------------------------------------------

def _text(el: ET.Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    s = el.text.strip()
    return s or None


def _person(el: ET.Element | None) -> str | None:
    """A user element's display name; accountid/username -1 is Jira's "Unassigned"."""
    if el is None or "-1" in (el.get("accountid"), el.get("username")):
        return None
    return _text(el)


def _seconds(el: ET.Element | None) -> float | None:
    try:
        return float(el.get("seconds")) if el is not None and el.get("seconds") is not None else None
    except ValueError:
        return None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _texts(elements) -> list[str]:
    out = []
    for el in elements:
        t = _text(el)
        if t is not None and t not in out:
            out.append(t)
    return out


ISSUE_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("project_key", pa.string()), ("project_name", pa.string()), ("issue_key", pa.string()),
    ("title", pa.string()), ("type_raw", pa.string()), ("is_subtask", pa.bool_()), ("status_raw", pa.string()),
    ("category_key", pa.string()), ("resolution_raw", pa.string()), ("priority", pa.string()),
    ("severity", pa.string()), ("found_phase", pa.string()), ("created", pa.string()), ("updated", pa.string()),
    ("resolved", pa.string()), ("due", pa.string()), ("story_points", pa.float64()), ("original_s", pa.float64()),
    ("remaining_s", pa.float64()), ("spent_s", pa.float64()), ("assignee", pa.string()), ("reporter", pa.string()),
    ("components", pa.list_(pa.string())), ("labels", pa.list_(pa.string())), ("sprints", pa.list_(pa.string())),
    ("fix_versions", pa.list_(pa.string())), ("parent_key", pa.string()),
])
SPRINT_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("name", pa.string()), ("state", pa.string()), ("start", pa.string()),
    ("end", pa.string()), ("complete", pa.string()),
])


def _custom_fields(item: ET.Element) -> list[tuple[str, str, list[str]]]:
    """(lower-cased name, field key, values) of each custom field of an item."""
    out = []
    for cf in item.iter("customfield"):
        name = (cf.findtext("customfieldname") or "").strip().lower()
        values = _texts(cf.iter("customfieldvalue"))
        out.append((name, cf.get("key") or "", values))
    return out


def _rows(root: ET.Element, project_key: str | None, file_name: str):
    items = list(root.iter("item"))
    subtask_keys = {t for item in items for t in _texts(item.iter("subtask"))}
    issues, sprints = [], []
    for n, item in enumerate(items):
        key = _text(item.find("key"))
        if key is None:
            raise IngestError("empty_key", file_name, row=n + 1, column="key")
        project = item.find("project")
        pk = project_key or (project.get("key") if project is not None else None) or (
            key.rsplit("-", 1)[0] if "-" in key else key)
        category = item.find("statusCategory")
        resolution = item.find("resolution")
        res = None if resolution is None or resolution.get("id") == "-1" else _text(resolution)
        if res is not None and res.strip().lower() in UNRESOLVED:
            res = None

        sp_best: tuple[int, float] | None = None
        names: list[str] = []
        severity = found_phase = epic = None
        for name, fkey, values in _custom_fields(item):
            if fkey == SCHEMA_SPRINT or name in SPRINT_NAMES:
                for v in values:
                    parsed = _parse_sprint(v) or {"name": v, "state": None, "start": None, "end": None,
                                                  "complete": None}
                    if parsed["name"] not in names:
                        names.append(parsed["name"])
                    sprints.append({"rownum": n, "name": parsed["name"], "state": parsed["state"],
                                    "start": parsed["start"], "end": parsed["end"], "complete": parsed["complete"]})
                continue
            rank = SP_RANK.get(name)
            if rank is None and fkey.endswith(SCHEMA_STORY_POINTS):
                rank = 1
            if rank is None and _SP_PATTERN.search(name) and "σ" not in name:
                rank = 3
            if rank is not None:
                value = next((x for x in map(_number, values) if x is not None), None)
                if value is not None and (sp_best is None or rank < sp_best[0]):
                    sp_best = (rank, value)
                continue
            if name in SEVERITY_NAMES and values:
                severity = severity or values[0]
            elif name in FOUND_PHASE_NAMES and values:
                found_phase = found_phase or values[0]
            elif name in EPIC_LINK_NAMES and values:
                epic = epic or values[0]

        labels_el = item.find("labels")
        issues.append({
            "rownum": n, "project_key": pk, "project_name": _text(project), "issue_key": key,
            "title": _text(item.find("summary")) or _text(item.find("title")), "type_raw": _text(item.find("type")),
            "is_subtask": key in subtask_keys, "status_raw": _text(item.find("status")),
            "category_key": category.get("key") if category is not None else None, "resolution_raw": res,
            "priority": _text(item.find("priority")), "severity": severity, "found_phase": found_phase,
            "created": _text(item.find("created")), "updated": _text(item.find("updated")),
            "resolved": _text(item.find("resolved")), "due": _text(item.find("due")),
            "story_points": sp_best[1] if sp_best else None,
            "original_s": _seconds(item.find("timeoriginalestimate")), "remaining_s": _seconds(item.find("timeestimate")),
            "spent_s": _seconds(item.find("timespent")), "assignee": _person(item.find("assignee")),
            "reporter": _person(item.find("reporter")), "components": _texts(item.findall("component")),
            "labels": _texts(labels_el.findall("label")) if labels_el is not None else [], "sprints": names,
            "fix_versions": _texts(item.findall("fixVersion")), "parent_key": _text(item.find("parent")) or epic,
        })
    return issues, sprints


def _truncation(root: ET.Element) -> dict | None:
    """`<issue start end total>`: an export capped by Jira (tempMax, 1000 by default) shows fewer than total."""
    el = root.find("channel/issue")
    if el is None:
        return None
    try:
        start, end, total = int(el.get("start", 0)), int(el.get("end", 0)), int(el.get("total", 0))
    except ValueError:
        return None
    shown = end - start
    return warning("xml_export_truncated", shown=shown, total=total) if total > shown else None


# --- SQL -----------------------------------------------------------------------------------------------------

WORK = ("x_raw", "x_sprints_raw", "x_iss", "x_override", "x_iss_c")
_RFC = "['%a, %d %b %Y %H:%M:%S %z', '%d %b %Y %H:%M:%S %z', '%a, %d %b %Y %H:%M %z']"


def _ts(expr: str) -> str:
    """RFC-822 text with its offset -> TIMESTAMPTZ as written (ISO text as a fallback, in the source zone)."""
    return (f"coalesce(try_strptime(trim({expr}), {_RFC}), CASE WHEN regexp_matches({expr}, "
            f"'(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') THEN try_cast({expr} AS TIMESTAMPTZ) "
            f"ELSE timezone($tz, try_cast({expr} AS TIMESTAMP)) END)")


def _day(expr: str) -> str:
    """The calendar day an RFC-822 (or ISO) date names, ignoring its time and offset, as `YYYY-MM-DD` text."""
    naive = (f"try_strptime(regexp_replace(trim({expr}), '\\s*(Z|[+-][0-9]{{4}}|GMT|UTC)$', ''), "
             f"['%a, %d %b %Y %H:%M:%S', '%d %b %Y %H:%M:%S', '%a, %d %b %Y'])")
    return f"strftime(coalesce({naive}, try_cast(left(trim({expr}), 10) AS DATE)::TIMESTAMP), '%Y-%m-%d')"


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    root = read_document(decoded.path, decoded.file_name)
    issue_rows, sprint_rows = _rows(root, ctx.project_key, decoded.file_name)
    if not issue_rows:
        raise IngestError("xml_no_issues", decoded.file_name)
    warnings: list[dict] = []
    truncated = _truncation(root)
    if truncated:
        warnings.append(truncated)
    params = {"tz": ctx.source_tz}

    load_rows(cur, "x_raw", issue_rows, ISSUE_SCHEMA)
    load_rows(cur, "x_sprints_raw", sprint_rows, SPRINT_SCHEMA)
    cur.execute("""CREATE OR REPLACE TEMP TABLE x_iss AS SELECT * FROM x_raw
                   QUALIFY row_number() OVER (PARTITION BY project_key, issue_key ORDER BY rownum DESC) = 1""")
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM x_iss ORDER BY 1").fetchall()]
    project_names = {k: v for k, v in cur.execute(
        "SELECT project_key, any_value(project_name) FROM x_iss GROUP BY 1").fetchall() if v}
    create_map_table(cur, projects)
    # The PMO's own status rows (project, then '*') win over Jira's category, as in the JSON adapter.
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE x_override AS
        SELECT p.project_key, lower(trim(vm.raw_value)) AS raw_value,
               arg_min(vm.canonical, CASE WHEN vm.project_key = '*' THEN 2 ELSE 1 END) AS canonical
        FROM value_maps vm JOIN (SELECT DISTINCT project_key FROM x_iss) p ON vm.project_key IN (p.project_key, '*')
        WHERE vm.kind = 'status' GROUP BY ALL""")
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE x_iss_c AS
        SELECT i.*, coalesce(ov.canonical, m_cat.canonical, m_status.canonical,
                             CASE WHEN i.resolution_raw IS NOT NULL THEN 'done' END) AS status_category_c,
               coalesce(m_type.canonical, CASE WHEN i.is_subtask THEN 'subtask' END) AS type_c,
               m_res.canonical AS resolution_class_c
        FROM x_iss i
        LEFT JOIN x_override ov ON ov.project_key = i.project_key AND ov.raw_value = lower(trim(i.status_raw))
        {join_map('m_cat', 'status_category', 'i.category_key', 'i.project_key')}
        {join_map('m_status', 'status', 'i.status_raw', 'i.project_key')}
        {join_map('m_type', 'type', 'i.type_raw', 'i.project_key')}
        {join_map('m_res', 'resolution', 'i.resolution_raw', 'i.project_key')}""")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        WITH t AS (
            SELECT *, coalesce(status_category_c, 'todo') AS cat, {_ts('created')} AS created_at,
                   {_ts('updated')} AS updated_at, {_ts('resolved')} AS resolved_at, {_day('due')} AS due_day
            FROM x_iss_c
        )
        SELECT project_key, issue_key, title, coalesce(type_c, 'other') AS type, type_raw, status_raw,
               cat AS status_category, status_category_c IS NULL AS status_unmapped, resolution_raw,
               CASE WHEN resolution_raw IS NULL THEN NULL ELSE coalesce(resolution_class_c, 'delivered') END
                   AS resolution_class,
               resolution_raw IS NOT NULL AND resolution_class_c IS NULL AS resolution_unmapped,
               priority, severity, created_at, updated_at,
               CASE WHEN cat = 'done' THEN coalesce(resolved_at, updated_at) END AS done_at,
               CASE WHEN cat = 'done' THEN coalesce(resolved_at, updated_at) END AS first_done_at,
               cat = 'done' AND resolved_at IS NULL AND updated_at IS NOT NULL AS done_from_updated,
               {day_start('due_day')} AS due_at, story_points, original_s / 3600.0 AS original_estimate_h,
               remaining_s / 3600.0 AS remaining_estimate_h, spent_s / 3600.0 AS time_spent_h,
               assignee, reporter, components, labels, sprints, fix_versions, parent_key, found_phase,
               CASE WHEN lower(trim(status_raw)) IN {tuple(REOPENED)} THEN 1 END::INTEGER AS reopen_count,
               rownum, created, updated, resolved, due, resolved_at, due_day
        FROM t""", params)
    warnings += _bad_dates(cur)
    warnings += report(cur, len(issue_rows))
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT project_key, name, state, start_at, end_at, completed_at FROM (
            SELECT i.project_key, s.name, s.state, {_ts('s.start')} AS start_at, {_ts('s."end"')} AS end_at,
                   {_ts('s.complete')} AS completed_at
            FROM x_sprints_raw s JOIN x_iss i USING (rownum))
        QUALIFY row_number() OVER (
            PARTITION BY project_key, name
            ORDER BY (start_at IS NOT NULL)::INT + (end_at IS NOT NULL)::INT + (completed_at IS NOT NULL)::INT DESC,
                     CASE state WHEN 'closed' THEN 0 WHEN 'active' THEN 1 ELSE 2 END) = 1""", params)
    has_sprints = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0
    for table in WORK:
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return Staged(source_format="jira-xml", rows=len(issue_rows), warnings=warnings, project_names=project_names,
                  tracker="jira", has_sprints=has_sprints)


def _bad_dates(cur) -> list[dict]:
    """Dates that did not parse, named by the issues holding them."""
    out = []
    for raw, parsed, column in (("created", "created_at", "created"), ("updated", "updated_at", "updated"),
                                ("resolved", "resolved_at", "resolved"), ("due", "due_day", "due")):
        n, keys, example = cur.execute(
            f"SELECT count(*), list(issue_key ORDER BY rownum)[1:{_MAX_ROW}], any_value({raw}) FROM stage_issues "
            f"WHERE {raw} IS NOT NULL AND {parsed} IS NULL").fetchone()
        if n:
            out.append(warning("unparsable_dates", column=column, count=n, rows=keys, example=example))
    return out


register(Format("jira-xml", "xml", "Jira XML export (RSS)", "Jira XML 导出（RSS）", sniff, stage))
