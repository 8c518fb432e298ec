"""Jira REST JSON (search / agile board issues with `expand=changelog`, board sprints) onto the canonical model.

Reads FORMATS.md 1.6/1.7 and METRICS.md G3-G5, 1.1. Two formats:

* `jira-json`: `{"issues": [...], "names"?, "schema"?}` pages of GET /rest/api/2|3/search or
  /rest/agile/1.0/board/{id}/issue, a list of such pages, or a bare list of issues. A list may also carry
  GET /rest/api/2/field metadata (a list of `{id, name, schema}`), used like `names`.
* `jira-sprints-json`: GET /rest/agile/1.0/board/{id}/sprint pages (`{"values": [...]}`), a list of pages or
  of sprints (JSON Lines read as a list, DevLake `{"data": ...}` wrappers unwrapped): sprints only, for the
  project the user names.

Custom fields are resolved by NAME (`names` expansion, field metadata, `schema` custom types, and the names
history items carry beside their fieldId), never by a hard-coded customfield id; the sprint field is also
recognised by the shape of its values. Status category: the issue's `statusCategory.key` wins over the status
name (a PMO's own value_maps row for the status wins over both); statuses met only in the history take the
category their id/name has on the current issues, then the default name map.

History -> stage_changes, one row per change with the canonical field names the metrics read:
  status                raw status names (fromString -> toString)
  status_category       todo/in_progress/done, only where the category changes
  sprint                JSON arrays of sprint names before/after, e.g. '["S1","S2"]' ('[]' = none)
  story_points          numeric text ('5', '0.5')
  original_estimate_h   hours as numeric text (history `timeoriginalestimate`, seconds)
  remaining_estimate_h  hours as numeric text (history `timeestimate`, seconds)
  resolution_class      delivered/valid_not_fixed/invalid (NULL = unresolved), only where the class changes
`field == "Workflow"` items are ignored; a status change recorded together with a Workflow item is a
workflow migration's status remapping: it stays in the history (it is the issue's real state) but a move
out of Done made that way is not a reopen (FORMATS.md 1.7), reported as `workflow_migration_reopens`.

Python only walks the parsed document into flat rows (JSON exports are small); DuckDB does the mapping,
the dates and the history arithmetic over registered Arrow tables. No value is ever pasted into SQL.
"""
from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import pyarrow as pa

from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, warning
from ingest.gitlab import key_and_mapping_warnings, load_rows
from ingest.value_maps import create_map_table, join_map
from store.load import ISSUE_COLUMNS, Staged

# Field names (lower-cased) as Jira shows them, in order of preference.
STORY_POINT_NAMES = ["story points", "story point estimate", "${field_story_points}", "故事点", "故事点数"]
_SP_PATTERN = re.compile(r"story[ _-]?points?", re.I)
SPRINT_NAMES = ["sprint", "sprints", "冲刺", "迭代"]
EPIC_LINK_NAMES = ["epic link", "长篇故事链接"]
SEVERITY_NAMES = ["severity", "严重程度", "严重级别"]
FOUND_PHASE_NAMES = ["found in", "phase found", "发现阶段"]
SCHEMA_STORY_POINTS = "com.pyxis.greenhopper.jira:jsw-story-points"
SCHEMA_SPRINT = "com.pyxis.greenhopper.jira:gh-sprint"
SPRINT_STATES = {"closed", "active", "future"}

# Server/DC before 8.x writes each sprint as `com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=..,..]`.
_GH_SPRINT = re.compile(r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@[0-9a-fA-F]*\[(.*)\]\s*$", re.S)
_GH_KEYS = ("id", "rapidViewId", "state", "name", "goal", "startDate", "endDate", "completeDate",
            "activatedDate", "sequence", "autoStartStop", "synced", "incompleteIssuesDestinationId")
_GH_SPLIT = re.compile(r",(?=(?:%s)=)" % "|".join(_GH_KEYS))

# History `field` values -> canonical change field (sprint and story points are matched by name below).
HISTORY_FIELDS = {"status": "status", "resolution": "resolution_class",
                  "timeoriginalestimate": "original_estimate_h", "timeestimate": "remaining_estimate_h"}


# --- Shape of the document ---------------------------------------------------------------------------

def _unwrap(obj: Any) -> Any:
    """DevLake-style JSON Lines wrap each response as {"_request_url": ..., "data": {...}}."""
    if isinstance(obj, dict) and "data" in obj and "_request_url" in obj:
        return obj["data"]
    return obj


def _is_issue(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("key"), str) and isinstance(obj.get("fields"), dict)


def _is_issue_page(obj: Any) -> bool:
    return isinstance(obj, dict) and isinstance(obj.get("issues"), list) and all(
        _is_issue(i) for i in obj["issues"][:5])


def _is_field_meta(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("id"), str) and isinstance(obj.get("name"), str)
            and ("schema" in obj or "custom" in obj or "clauseNames" in obj) and "fields" not in obj)


def _split_document(doc: Any) -> tuple[list[dict], list[dict]]:
    """(issue pages, bare issues wrapped as pages; field metadata entries). Anything else is ignored."""
    pages, meta = [], []

    def walk(node: Any, depth: int) -> None:
        node = _unwrap(node)
        if _is_issue_page(node):
            pages.append(node)
        elif _is_issue(node):
            pages.append({"issues": [node]})
        elif _is_field_meta(node):
            meta.append(node)
        elif isinstance(node, list) and depth < 2:
            for x in node:
                walk(x, depth + 1)
    walk(doc, 0)
    return pages, meta


def sniff(p: Probe) -> bool:
    doc = p.document
    if isinstance(doc, dict):
        return _is_issue_page(doc)
    if isinstance(doc, list) and doc:
        head = [_unwrap(x) for x in doc[:20]]
        return any(_is_issue_page(x) or _is_issue(x) for x in head) and all(
            _is_issue_page(x) or _is_issue(x) or _is_field_meta(x) or isinstance(x, list) for x in head)
    return False


def _is_sprint(obj: Any) -> bool:
    return (isinstance(obj, dict) and "name" in obj and "id" in obj
            and str(obj.get("state", "")).lower() in SPRINT_STATES and "fields" not in obj)


def _sprint_values(doc: Any) -> list[dict] | None:
    """The sprint objects of board-sprint pages, a list of pages, or a list of sprints; None if not that shape."""
    items = doc if isinstance(doc, list) else [doc]
    out: list[dict] = []
    for item in items:
        item = _unwrap(item)
        if isinstance(item, dict) and isinstance(item.get("values"), list):
            values = [_unwrap(v) for v in item["values"]]
            if not all(_is_sprint(v) for v in values):
                return None
            out.extend(values)
        elif _is_sprint(item):
            out.append(item)
        else:
            return None
    return out


def sniff_sprints(p: Probe) -> bool:
    values = _sprint_values(p.document)
    return bool(values)


# --- Small value helpers -----------------------------------------------------------------------------

def _text(v: Any) -> str | None:
    """An option / user / named object as its display text; scalars as text; empty -> None."""
    if v is None:
        return None
    if isinstance(v, dict):
        for k in ("value", "name", "displayName", "key"):
            if v.get(k) not in (None, ""):
                return str(v[k])
        return None
    if isinstance(v, list):
        return _text(v[0]) if v else None
    s = str(v).strip()
    return s or None


def _user(v: Any) -> str | None:
    if not isinstance(v, dict):
        return _text(v)
    for k in ("displayName", "name", "accountId", "emailAddress"):
        if v.get(k):
            return str(v[k])
    return None


def _names(v: Any) -> list[str]:
    if not isinstance(v, list):
        return []
    out = []
    for x in v:
        t = _text(x)
        if t is not None and t not in out:
            out.append(t)
    return out


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def _num_text(v: float | None) -> str | None:
    """Numeric text for change values: '5', '0.5', '28' (integers without a trailing .0)."""
    if v is None or v != v:
        return None
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def _hours_text(v: Any) -> str | None:
    s = _number(v)
    return None if s is None else _num_text(s / 3600.0)


# --- Sprints -------------------------------------------------------------------------------------------

def _parse_sprint(v: Any) -> dict | None:
    """A sprint value (agile/Cloud object or Server greenhopper string) as {id, name, state, start, end, complete}."""
    if isinstance(v, dict):
        if not v.get("name"):
            return None
        raw = v
    elif isinstance(v, str):
        m = _GH_SPRINT.match(v.strip())
        if not m:
            return None
        raw = {}
        for part in _GH_SPLIT.split(m.group(1)):
            k, _, val = part.partition("=")
            raw[k] = None if val in ("<null>", "") else val
        if not raw.get("name"):
            return None
    else:
        return None
    state = raw.get("state")
    return {"id": None if raw.get("id") is None else str(raw["id"]).strip(), "name": str(raw["name"]).strip(),
            "state": str(state).lower() if state else None, "start": raw.get("startDate"),
            "end": raw.get("endDate"), "complete": raw.get("completeDate")}


def _looks_like_sprints(v: Any) -> bool:
    if isinstance(v, dict):
        v = [v]
    if not isinstance(v, list) or not v:
        return False
    return all((isinstance(x, dict) and {"id", "name", "state"} <= x.keys()
                and str(x.get("state", "")).lower() in SPRINT_STATES)
               or (isinstance(x, str) and _GH_SPRINT.match(x.strip())) for x in v)


def _split_ids(text: Any) -> list[str]:
    return [x.strip() for x in str(text or "").split(",") if x.strip()]


def _split_names(text: Any) -> list[str]:
    return [x.strip() for x in str(text or "").split(", ") if x.strip()]


# --- Field resolution ------------------------------------------------------------------------------------

class Fields:
    """Which custom field is which, by name: `names`, field metadata, schema custom types, history items."""

    def __init__(self, pages: list[dict], meta: list[dict], issues: list[dict]):
        self.names: dict[str, str] = {}            # field id -> name
        self.schema: dict[str, str] = {}           # field id -> schema.custom
        for m in meta:
            self.names.setdefault(m["id"], m["name"])
            if isinstance(m.get("schema"), dict) and m["schema"].get("custom"):
                self.schema[m["id"]] = m["schema"]["custom"]
        for page in pages:
            for fid, name in (page.get("names") or {}).items():
                if isinstance(name, str):
                    self.names.setdefault(fid, name)
            for fid, sch in (page.get("schema") or {}).items():
                if isinstance(sch, dict) and sch.get("custom"):
                    self.schema.setdefault(fid, sch["custom"])
        self.complete = bool(self.names)           # a real field list, not pieced together from history
        for issue in issues:
            for h in (issue.get("changelog") or {}).get("histories") or []:
                for it in h.get("items") or []:
                    fid, name = it.get("fieldId"), it.get("field")
                    if isinstance(fid, str) and fid.startswith("customfield_") and isinstance(name, str):
                        self.names.setdefault(fid, name)

        def by_names(wanted: list[str]) -> list[str]:
            lower = {fid: n.strip().lower() for fid, n in self.names.items()}
            return [fid for w in wanted for fid, n in sorted(lower.items()) if n == w]

        self.story_points = by_names(STORY_POINT_NAMES)
        self.story_points += [fid for fid, c in sorted(self.schema.items())
                              if c == SCHEMA_STORY_POINTS and fid not in self.story_points]
        self.story_points += [fid for fid, n in sorted(self.names.items())
                              if _SP_PATTERN.search(n) and "Σ" not in n and fid not in self.story_points]
        self.sprint = by_names(SPRINT_NAMES)
        self.sprint += [fid for fid, c in sorted(self.schema.items()) if c == SCHEMA_SPRINT and fid not in self.sprint]
        if not self.sprint:                        # recognise the values: sprint objects or greenhopper strings
            seen: set[str] = set()
            for issue in issues:
                for fid, v in issue["fields"].items():
                    if fid.startswith("customfield_") and fid not in seen and _looks_like_sprints(v):
                        seen.add(fid)
            self.sprint = sorted(seen)
        self.epic_link = by_names(EPIC_LINK_NAMES)
        self.severity = by_names(SEVERITY_NAMES)
        self.found_phase = by_names(FOUND_PHASE_NAMES)
        self.sp_history = {self.names[f].strip().lower() for f in self.story_points if f in self.names}
        self.sp_history |= set(STORY_POINT_NAMES)
        self.sprint_history = {self.names[f].strip().lower() for f in self.sprint if f in self.names} | {"sprint"}

    def history_kind(self, item: dict) -> str | None:
        field = str(item.get("field") or "")
        fid = item.get("fieldId")
        lower = field.strip().lower()
        if fid in self.sprint or lower in self.sprint_history:
            return "sprint"
        if fid in self.story_points or lower in self.sp_history:
            return "story_points"
        if fid is None or fid == field or fid in HISTORY_FIELDS:
            return HISTORY_FIELDS.get(field)
        return None


# --- Flattening ----------------------------------------------------------------------------------------

ISSUE_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("project_key", pa.string()), ("project_name", pa.string()),
    ("issue_key", pa.string()), ("title", pa.string()), ("type_raw", pa.string()), ("is_subtask", pa.bool_()),
    ("status_id", pa.string()), ("status_raw", pa.string()), ("category_key", pa.string()),
    ("resolution_raw", pa.string()), ("priority", pa.string()), ("severity", pa.string()),
    ("found_phase", pa.string()), ("created", pa.string()), ("updated", pa.string()),
    ("resolved", pa.string()), ("due", pa.string()), ("category_changed", pa.string()),
    ("story_points", pa.float64()), ("original_s", pa.float64()), ("remaining_s", pa.float64()),
    ("spent_s", pa.float64()), ("assignee", pa.string()), ("reporter", pa.string()),
    ("components", pa.list_(pa.string())), ("labels", pa.list_(pa.string())),
    ("sprints", pa.list_(pa.string())), ("fix_versions", pa.list_(pa.string())), ("parent_key", pa.string()),
    ("has_changelog", pa.bool_()), ("truncated", pa.bool_()), ("worklogs_truncated", pa.bool_()),
])
ITEM_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("hist_pos", pa.int64()), ("hist_id", pa.string()), ("item_pos", pa.int64()),
    ("created", pa.string()), ("author", pa.string()), ("kind", pa.string()), ("migration", pa.bool_()),
    ("from_id", pa.string()), ("from_str", pa.string()), ("to_id", pa.string()), ("to_str", pa.string()),
    ("from_value", pa.string()), ("to_value", pa.string()),
])
SPRINT_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("name", pa.string()), ("state", pa.string()), ("start", pa.string()),
    ("end", pa.string()), ("complete", pa.string()),
])
WORKLOG_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("started", pa.string()), ("author", pa.string()), ("seconds", pa.float64()),
])


def _flatten(issues: list[dict], fields: Fields, project_key: str | None):
    issue_rows, item_rows, sprint_rows, worklog_rows = [], [], [], []
    sprint_items = []                               # (item row, from ids, from names, to ids, to names)
    id_names: dict[str, str] = {}                   # sprint id -> its current name (sprint objects)
    history_names: dict[str, str] = {}              # sprint id -> name met in a one-to-one history item

    for rownum, issue in enumerate(issues):
        f = issue["fields"]
        key = issue["key"].strip()
        project = f.get("project") if isinstance(f.get("project"), dict) else {}
        pk = project_key or project.get("key") or (key.rsplit("-", 1)[0] if "-" in key else key)
        status = f.get("status") if isinstance(f.get("status"), dict) else {}
        category = status.get("statusCategory") if isinstance(status.get("statusCategory"), dict) else {}
        itype = f.get("issuetype") if isinstance(f.get("issuetype"), dict) else {}

        sprints: list[dict] = []
        for fid in fields.sprint:
            v = f.get(fid)
            sprints += [s for s in map(_parse_sprint, v if isinstance(v, list) else [v]) if s]
        for v in (f.get("closedSprints") or []) + ([f["sprint"]] if f.get("sprint") else []):
            s = _parse_sprint(v)
            if s:
                sprints.append(s)
        names: list[str] = []
        for s in sprints:
            if s["id"]:
                id_names[s["id"]] = s["name"]
            if s["name"] not in names:
                names.append(s["name"])
            sprint_rows.append({"rownum": rownum, "name": s["name"], "state": s["state"], "start": s["start"],
                                "end": s["end"], "complete": s["complete"]})

        sp = None
        for fid in fields.story_points:
            sp = _number(f.get(fid))
            if sp is not None:
                break
        parent = _text(f.get("parent")) if not isinstance(f.get("parent"), dict) else f["parent"].get("key")
        if parent is None and isinstance(f.get("epic"), dict):
            parent = f["epic"].get("key")
        for fid in fields.epic_link:
            parent = parent or _text(f.get(fid))

        changelog = issue.get("changelog") if isinstance(issue.get("changelog"), dict) else None
        histories = (changelog or {}).get("histories") or []
        total = (changelog or {}).get("total")
        truncated = changelog is not None and (
            (isinstance(total, int) and total > len(histories)) or bool((changelog or {}).get("startAt")))
        worklog = f.get("worklog") if isinstance(f.get("worklog"), dict) else {}
        logs = worklog.get("worklogs") or []
        wl_total = worklog.get("total")

        issue_rows.append({
            "rownum": rownum, "project_key": pk, "project_name": project.get("name"), "issue_key": key,
            "title": _text(f.get("summary")), "type_raw": _text(itype.get("name")),
            "is_subtask": bool(itype.get("subtask")), "status_id": _text(status.get("id")),
            "status_raw": _text(status.get("name")), "category_key": _text(category.get("key")),
            "resolution_raw": _text(f.get("resolution")), "priority": _text(f.get("priority")),
            "severity": next((_text(f.get(x)) for x in fields.severity if _text(f.get(x))), None),
            "found_phase": next((_text(f.get(x)) for x in fields.found_phase if _text(f.get(x))), None),
            "created": _text(f.get("created")), "updated": _text(f.get("updated")),
            "resolved": _text(f.get("resolutiondate")), "due": _text(f.get("duedate")),
            "category_changed": _text(f.get("statuscategorychangedate")), "story_points": sp,
            "original_s": _number(f.get("timeoriginalestimate")), "remaining_s": _number(f.get("timeestimate")),
            "spent_s": _number(f.get("timespent")), "assignee": _user(f.get("assignee")),
            "reporter": _user(f.get("reporter")), "components": _names(f.get("components")),
            "labels": [str(x) for x in f.get("labels") or [] if x not in (None, "")],
            "sprints": names, "fix_versions": _names(f.get("fixVersions")), "parent_key": parent,
            "has_changelog": changelog is not None, "truncated": truncated,
            "worklogs_truncated": isinstance(wl_total, int) and wl_total > len(logs),
        })
        for log in logs:
            if isinstance(log, dict):
                worklog_rows.append({"rownum": rownum, "started": _text(log.get("started")),
                                     "author": _user(log.get("author")),
                                     "seconds": _number(log.get("timeSpentSeconds"))})

        for hist_pos, h in enumerate(histories):
            if not isinstance(h, dict):
                continue
            items = [it for it in h.get("items") or [] if isinstance(it, dict)]
            migration = any(it.get("field") == "Workflow" for it in items)
            for item_pos, it in enumerate(items):
                kind = fields.history_kind(it)
                if kind is None:
                    continue
                row = {"rownum": rownum, "hist_pos": hist_pos, "hist_id": _text(h.get("id")),
                       "item_pos": item_pos, "created": _text(h.get("created")), "author": _user(h.get("author")),
                       "kind": kind, "migration": migration, "from_id": _text(it.get("from")),
                       "from_str": _text(it.get("fromString")), "to_id": _text(it.get("to")),
                       "to_str": _text(it.get("toString")), "from_value": None, "to_value": None}
                if kind == "sprint":
                    ends = []
                    for ids, text in ((it.get("from"), it.get("fromString")), (it.get("to"), it.get("toString"))):
                        ids, labels = _split_ids(ids), _split_names(text)
                        if len(ids) == len(labels):
                            for i, n in zip(ids, labels):
                                history_names.setdefault(i, n)
                        ends.append((ids, labels))
                    sprint_items.append((row, ends))
                elif kind == "story_points":
                    row["from_value"] = _num_text(_number(it.get("fromString") if it.get("fromString") is not None
                                                          else it.get("from")))
                    row["to_value"] = _num_text(_number(it.get("toString") if it.get("toString") is not None
                                                        else it.get("to")))
                elif kind in ("original_estimate_h", "remaining_estimate_h"):
                    row["from_value"] = _hours_text(it.get("from") if it.get("from") is not None else it.get("fromString"))
                    row["to_value"] = _hours_text(it.get("to") if it.get("to") is not None else it.get("toString"))
                item_rows.append(row)

    # Sprint history carries ids (from/to) and names (fromString/toString, ", "-joined). Name each id as the
    # sprint is named now (a renamed sprint keeps its id), else as a one-to-one history item named it.
    for row, ends in sprint_items:
        values = []
        for ids, labels in ends:
            if ids and all(i in id_names or i in history_names for i in ids):
                members = [id_names.get(i) or history_names[i] for i in ids]
            elif len(ids) == len(labels):
                members = [id_names.get(i, n) for i, n in zip(ids, labels)]
            else:
                members = labels
            values.append(json.dumps(list(dict.fromkeys(members)), ensure_ascii=False, separators=(",", ":")))
        row["from_value"], row["to_value"] = values
    return issue_rows, item_rows, sprint_rows, worklog_rows


# --- SQL -----------------------------------------------------------------------------------------------

WORK_TABLES = ("j_raw", "j_items_raw", "j_sprints_raw", "j_worklogs_raw", "j_iss", "j_override", "j_iss_c",
               "j_know_id", "j_know_name", "j_items", "j_status", "j_status_c", "j_done")


def _ts(expr: str) -> str:
    """ISO text -> TIMESTAMPTZ: with an offset (`+0800`, `+08:00`, `Z`) as written, else in the source zone."""
    return (f"CASE WHEN regexp_matches({expr}, '(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
            f"THEN try_cast({expr} AS TIMESTAMPTZ) ELSE timezone($tz, try_cast({expr} AS TIMESTAMP)) END")


# DuckDB 2.0 refuses register() while an earlier execute() on this cursor is unread: load_rows finishes it.
_load = load_rows


def _execute(cur, sql: str, params: dict | None = None) -> None:
    params = params or {}
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _category_sql(side: str) -> str:
    """The category of a history status (side = from|to): the PMO's override, the issue's own current
    status, what the status id / name shows on the file's current issues, then the default name map."""
    return (f"coalesce(ov_{side}.canonical, "
            f"CASE WHEN i.status_id IS NOT NULL AND c.{side}_id = i.status_id THEN i.status_category_c "
            f"WHEN (i.status_id IS NULL OR c.{side}_id IS NULL) AND lower(trim(c.{side}_str)) = lower(trim(i.status_raw)) "
            f"THEN i.status_category_c END, "
            f"kid_{side}.category, kname_{side}.category, m_{side}.canonical)")


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    pages, meta = _split_document(probe.document)
    issues = [i for p in pages for i in p["issues"]]
    if not issues:
        raise IngestError("no_issues", decoded.file_name)
    fields = Fields(pages, meta, issues)
    issue_rows, item_rows, sprint_rows, worklog_rows = _flatten(issues, fields, ctx.project_key)
    warnings: list[dict] = []
    params = {"tz": ctx.source_tz}

    _load(cur, "j_raw", issue_rows, ISSUE_SCHEMA)
    _load(cur, "j_items_raw", item_rows, ITEM_SCHEMA)
    _load(cur, "j_sprints_raw", sprint_rows, SPRINT_SCHEMA)
    _load(cur, "j_worklogs_raw", worklog_rows, WORKLOG_SCHEMA)
    # A key repeated across pages: the last record wins (as in the CSV adapter), with its own history.
    cur.execute("""CREATE OR REPLACE TEMP TABLE j_iss AS SELECT * FROM j_raw
                   QUALIFY row_number() OVER (PARTITION BY project_key, issue_key ORDER BY rownum DESC) = 1""")
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM j_iss ORDER BY 1").fetchall()]
    project_names = {k: v for k, v in cur.execute(
        "SELECT project_key, any_value(project_name) FROM j_iss GROUP BY 1").fetchall() if v}
    create_map_table(cur, projects)
    # The PMO's own status rows (project, then '*'): they win over Jira's category, as in Settings.
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE j_override AS
        SELECT p.project_key, lower(trim(vm.raw_value)) AS raw_value,
               arg_min(vm.canonical, CASE WHEN vm.project_key = '*' THEN 2 ELSE 1 END) AS canonical
        FROM value_maps vm JOIN (SELECT DISTINCT project_key FROM j_iss) p ON vm.project_key IN (p.project_key, '*')
        WHERE vm.kind = 'status' GROUP BY ALL""")

    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE j_iss_c AS
        SELECT i.*, m_cat.canonical AS key_category,
               coalesce(ov.canonical, m_cat.canonical, m_status.canonical) AS status_category_c,
               coalesce(m_type.canonical, CASE WHEN i.is_subtask THEN 'subtask' END) AS type_c,
               m_res.canonical AS resolution_class_c
        FROM j_iss i
        LEFT JOIN j_override ov ON ov.project_key = i.project_key AND ov.raw_value = lower(trim(i.status_raw))
        {join_map('m_cat', 'status_category', 'i.category_key', 'i.project_key')}
        {join_map('m_status', 'status', 'i.status_raw', 'i.project_key')}
        {join_map('m_type', 'type', 'i.type_raw', 'i.project_key')}
        {join_map('m_res', 'resolution', 'i.resolution_raw', 'i.project_key')}""")

    # What the file's current issues say about each status (by id, by name): the most common category.
    for table, col in (("j_know_id", "status_id"), ("j_know_name", "lower(trim(status_raw))")):
        cur.execute(f"""
            CREATE OR REPLACE TEMP TABLE {table} AS
            SELECT status, category, n, n_categories FROM (
                SELECT *, count(*) OVER (PARTITION BY status) AS n_categories,
                       row_number() OVER (PARTITION BY status ORDER BY n DESC, category) AS rank
                FROM (SELECT {col} AS status, key_category AS category, count(*) AS n
                      FROM j_iss_c WHERE {col} IS NOT NULL AND key_category IS NOT NULL GROUP BY ALL))
            WHERE rank = 1""")
    for status, cats, used in cur.execute("""
            SELECT status_raw, list(DISTINCT key_category ORDER BY key_category), any_value(k.category)
            FROM j_iss_c i JOIN j_know_name k ON k.status = lower(trim(i.status_raw))
            WHERE key_category IS NOT NULL AND k.n_categories > 1 GROUP BY status_raw ORDER BY 1""").fetchall():
        warnings.append(warning("status_category_conflict", status=status, categories=cats, used=used))

    # History rows of the kept issues, in time order.
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE j_items AS
        SELECT i.project_key, i.issue_key, c.*, {_ts('c.created')} AS changed_at
        FROM j_items_raw c JOIN j_iss i USING (rownum)""", params)
    bad_hist = cur.execute("SELECT count(*), list(DISTINCT issue_key ORDER BY issue_key)[1:10], any_value(created) "
                           "FROM j_items WHERE changed_at IS NULL").fetchone()
    if bad_hist[0]:     # rows = the issues whose history holds them
        warnings.append(warning("unparsable_dates", column="changelog.created", count=bad_hist[0], rows=bad_hist[1],
                                example=bad_hist[2]))
    joins = "\n".join(
        f"LEFT JOIN j_override ov_{s} ON ov_{s}.project_key = c.project_key AND ov_{s}.raw_value = lower(trim(c.{s}_str))\n"
        f"LEFT JOIN j_know_id kid_{s} ON kid_{s}.status = c.{s}_id\n"
        f"LEFT JOIN j_know_name kname_{s} ON kname_{s}.status = lower(trim(c.{s}_str))\n"
        + join_map(f"m_{s}", "status", f"c.{s}_str", "c.project_key")
        for s in ("from", "to"))
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE j_status AS
        SELECT c.project_key, c.issue_key, c.changed_at, c.hist_pos, c.hist_id, c.item_pos, c.author, c.migration,
               c.from_str, c.to_str, {_category_sql('from')} AS from_cat_c, {_category_sql('to')} AS to_cat_c
        FROM j_items c JOIN j_iss_c i ON i.project_key = c.project_key AND i.issue_key = c.issue_key
        {joins}
        WHERE c.kind = 'status' AND c.changed_at IS NOT NULL""")
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE j_status_c AS
        SELECT *, CASE WHEN from_str IS NULL THEN NULL ELSE coalesce(from_cat_c, 'todo') END AS from_cat,
               CASE WHEN to_str IS NULL THEN NULL ELSE coalesce(to_cat_c, 'todo') END AS to_cat
        FROM j_status""")
    unmapped = cur.execute("""
        SELECT s, count(*) FROM (SELECT from_str AS s FROM j_status WHERE from_cat_c IS NULL AND from_str IS NOT NULL
                                 UNION ALL SELECT to_str FROM j_status WHERE to_cat_c IS NULL AND to_str IS NOT NULL)
        GROUP BY 1 ORDER BY 2 DESC, 1""").fetchall()
    if unmapped:
        warnings.append(warning("unmapped_history_status", values=[v[0] for v in unmapped],
                                count=sum(v[1] for v in unmapped)))

    # Per issue: reopens (Done -> not Done, not by a workflow migration), first and last moves into Done.
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE j_done AS
        SELECT project_key, issue_key,
               count(*) FILTER (WHERE from_cat = 'done' AND to_cat IS DISTINCT FROM 'done' AND NOT migration) AS reopens,
               count(*) FILTER (WHERE from_cat = 'done' AND to_cat IS DISTINCT FROM 'done' AND migration) AS migration_reopens,
               min(changed_at) FILTER (WHERE to_cat = 'done' AND from_cat IS DISTINCT FROM 'done') AS first_done,
               max(changed_at) FILTER (WHERE to_cat = 'done' AND from_cat IS DISTINCT FROM 'done') AS last_done
        FROM j_status_c GROUP BY ALL""")

    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        WITH t AS (
            SELECT i.*, coalesce(i.status_category_c, 'todo') AS cat,
                   {_ts('i.created')} AS created_at, {_ts('i.updated')} AS updated_at,
                   {_ts('i.resolved')} AS resolved_at, {_ts('i.due')} AS due_at,
                   {_ts('i.category_changed')} AS category_changed_at,
                   d.reopens, d.migration_reopens, d.first_done, d.last_done
            FROM j_iss_c i LEFT JOIN j_done d USING (project_key, issue_key)
        ), done AS (
            SELECT t.*, CASE WHEN cat = 'done' THEN coalesce(last_done, resolved_at, category_changed_at, updated_at) END
                   AS done_at_c
            FROM t
        )
        SELECT project_key, issue_key, title, coalesce(type_c, 'other') AS type, type_raw, status_raw,
               cat AS status_category, status_category_c IS NULL AS status_unmapped,
               resolution_raw,
               CASE WHEN resolution_raw IS NULL THEN NULL ELSE coalesce(resolution_class_c, 'delivered') END
                   AS resolution_class,
               resolution_raw IS NOT NULL AND resolution_class_c IS NULL AS resolution_unmapped,
               priority, severity, created_at, updated_at, done_at_c AS done_at,
               least(first_done, done_at_c) AS first_done_at,
               cat = 'done' AND last_done IS NULL AND resolved_at IS NULL AND category_changed_at IS NULL
                   AND updated_at IS NOT NULL AS done_from_updated,
               due_at, story_points, original_s / 3600.0 AS original_estimate_h,
               remaining_s / 3600.0 AS remaining_estimate_h, spent_s / 3600.0 AS time_spent_h,
               assignee, reporter, components, labels, sprints, fix_versions, parent_key, found_phase,
               CASE WHEN NOT has_changelog THEN NULL
                    WHEN truncated AND coalesce(reopens, 0) = 0 THEN NULL
                    ELSE coalesce(reopens, 0) END::INTEGER AS reopen_count,
               coalesce(migration_reopens, 0) AS migration_reopens, truncated, worklogs_truncated, rownum,
               created, updated, resolved, due, resolved_at
        FROM done""", params)

    _execute(cur, """
        CREATE OR REPLACE TEMP TABLE stage_changes AS
        SELECT project_key, issue_key, changed_at, 'status' AS field, from_str AS from_value, to_str AS to_value, author
        FROM j_status_c
        UNION ALL
        SELECT project_key, issue_key, changed_at, 'status_category', from_cat, to_cat, author
        FROM j_status_c WHERE from_cat IS DISTINCT FROM to_cat
        UNION ALL
        SELECT project_key, issue_key, changed_at, kind, from_value, to_value, author
        FROM j_items WHERE kind IN ('sprint', 'story_points', 'original_estimate_h', 'remaining_estimate_h')
          AND changed_at IS NOT NULL
        UNION ALL
        SELECT project_key, issue_key, changed_at, 'resolution_class', f, t, author FROM (
            SELECT c.*, CASE WHEN c.from_str IS NULL THEN NULL ELSE coalesce(mf.canonical, 'delivered') END AS f,
                   CASE WHEN c.to_str IS NULL THEN NULL ELSE coalesce(mt.canonical, 'delivered') END AS t
            FROM j_items c
            LEFT JOIN _maps mf ON mf.project_key = c.project_key AND mf.kind = 'resolution'
                 AND mf.raw_value = lower(trim(c.from_str))
            LEFT JOIN _maps mt ON mt.project_key = c.project_key AND mt.kind = 'resolution'
                 AND mt.raw_value = lower(trim(c.to_str))
            WHERE c.kind = 'resolution_class' AND c.changed_at IS NOT NULL)
        WHERE f IS DISTINCT FROM t""")

    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT project_key, name, state, start_at, end_at, completed_at FROM (
            SELECT i.project_key, s.name, s.state, {_ts('s.start')} AS start_at, {_ts('s."end"')} AS end_at,
                   {_ts('s.complete')} AS completed_at
            FROM j_sprints_raw s JOIN j_iss i USING (rownum)
            UNION ALL   -- sprints met only in the membership history: names now, dates from a sprints import
            SELECT DISTINCT project_key, unnest(from_json(v, '["VARCHAR"]')), NULL, NULL::TIMESTAMPTZ,
                   NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ
            FROM (SELECT project_key, unnest([from_value, to_value]) AS v FROM j_items WHERE kind = 'sprint')
            WHERE v IS NOT NULL)
        QUALIFY row_number() OVER (
            PARTITION BY project_key, name
            ORDER BY (start_at IS NOT NULL)::INT + (end_at IS NOT NULL)::INT + (completed_at IS NOT NULL)::INT DESC,
                     -- a known state beats none (a name met only in history), so ties never flip between runs
                     CASE state WHEN 'closed' THEN 0 WHEN 'active' THEN 1 WHEN 'future' THEN 2 ELSE 3 END,
                     start_at NULLS LAST, end_at NULLS LAST, completed_at NULLS LAST) = 1""", params)
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_worklogs AS
        SELECT i.project_key, i.issue_key, {_ts('w.started')} AS started_at, w.author, w.seconds / 3600.0 AS hours
        FROM j_worklogs_raw w JOIN j_iss i USING (rownum)""", params)

    warnings += _report(cur, len(issues), fields)
    counts = cur.execute("SELECT (SELECT count(*) FROM stage_changes), (SELECT count(*) FROM stage_sprints), "
                         "(SELECT count(*) FROM stage_worklogs)").fetchone()
    for table in WORK_TABLES:              # only the stage_* tables are needed from here on
        cur.execute(f"DROP TABLE IF EXISTS {table}")
    return Staged(source_format="jira-json", rows=len(issues), warnings=warnings, project_names=project_names,
                  tracker="jira", has_changes=counts[0] > 0, has_sprints=counts[1] > 0, has_worklogs=counts[2] > 0)


def _report(cur, rows: int, fields: Fields) -> list[dict]:
    """Everything the import understood only partly, as warnings for the import report."""
    out = key_and_mapping_warnings(cur, rows)
    for raw, parsed in (("created", "created_at"), ("updated", "updated_at"), ("resolved", "resolved_at"),
                        ("due", "due_at")):
        bad = cur.execute(f"SELECT count(*), list(issue_key ORDER BY rownum)[1:10], any_value({raw}) "
                          f"FROM stage_issues WHERE {raw} IS NOT NULL AND {parsed} IS NULL").fetchone()
        if bad[0]:
            out.append(warning("unparsable_dates", column=raw, count=bad[0], rows=bad[1], example=bad[2]))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE done_from_updated").fetchone()[0]
    if n:
        out.append(warning("done_date_from_updated", count=n))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE truncated").fetchone()[0]
    if n:
        out.append(warning("changelog_truncated", count=n))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE worklogs_truncated").fetchone()[0]
    if n:
        out.append(warning("worklogs_truncated", count=n))
    moves, issues = cur.execute("SELECT sum(migration_reopens), count(*) FILTER (WHERE migration_reopens > 0) "
                                "FROM stage_issues").fetchone()
    if moves:
        out.append(warning("workflow_migration_reopens", count=int(moves), issues=issues))
    if not fields.story_points and not fields.complete:
        out.append(warning("story_points_field_unknown"))
    est = cur.execute("SELECT count(*) FILTER (WHERE story_points IS NOT NULL), count(*) FROM stage_issues "
                      "WHERE type NOT IN ('epic', 'subtask')").fetchone()
    out.append(warning("estimate_coverage", estimated=est[0], in_scope=est[1]))
    return out


# --- Board sprints -------------------------------------------------------------------------------------

def stage_sprints(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    if not ctx.project_key:
        raise IngestError("project_required", decoded.file_name)
    values = _sprint_values(probe.document) or []
    rows = [s for s in map(_parse_sprint, values) if s]
    if not rows:
        raise IngestError("no_sprints_in_file", decoded.file_name)
    _load(cur, "j_board_sprints", [{"rownum": n, "name": s["name"], "state": s["state"], "start": s["start"],
                                     "end": s["end"], "complete": s["complete"]} for n, s in enumerate(rows)],
          SPRINT_SCHEMA)
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT $project AS project_key, name, state, {_ts('start')} AS start_at, {_ts('"end"')} AS end_at,
               {_ts('complete')} AS completed_at
        FROM j_board_sprints
        QUALIFY row_number() OVER (PARTITION BY name ORDER BY rownum DESC) = 1""",
             {"project": ctx.project_key, "tz": ctx.source_tz})
    cur.execute("DROP TABLE IF EXISTS j_board_sprints")
    # store.load requires stage_issues: an empty one with the canonical columns and types.
    cur.execute(f"CREATE OR REPLACE TEMP TABLE stage_issues AS SELECT {', '.join(ISSUE_COLUMNS)} FROM issues LIMIT 0")
    warnings = []
    kept = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0]
    if kept < len(rows):
        warnings.append(warning("duplicate_sprints", count=len(rows) - kept))
    return Staged(source_format="jira-sprints-json", rows=len(rows), warnings=warnings, tracker="jira",
                  has_sprints=True)


register(Format("jira-json", "json", "Jira REST JSON (search / board issues with changelog)",
                "Jira REST JSON（搜索/看板问题，含变更历史）", sniff, stage))
register(Format("jira-sprints-json", "json", "Jira board sprints JSON", "Jira 看板迭代 JSON",
                sniff_sprints, stage_sprints))
