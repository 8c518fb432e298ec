"""ZenTao 禅道 exports onto the canonical model: the UI's CSV / XLSX of bugs, tasks and stories, and REST API v1 JSON.

Reads FORMATS.md section 2 and METRICS.md G3-G6. Formats:

* `zentao-bug`, `zentao-task`, `zentao-story`: the CSV written by `file/view/export2csv.html.php`, zh-cn or en
  labels (matched loosely: the story title is `{SRCommon}名称`, the sprint column 所属执行 / 所属迭代, or 所属项目 in
  exports older than ZenTao 15 where 项目 meant the iteration). Writer quirks handled: every data row carries one
  extra empty cell (read with one spare column: in parallel when every record has it, else serially with null
  padding, as re-saved files need), the task export ends with a free-text line and
  no newline (`任务名称前有'>'标记的为子任务`, skipped), numeric cells may end in a TAB (newer exporters).
* `zentao-xlsx`: the same three exports saved as XLSX (biz/max editions); bug, task or story is decided from the
  header. Read with pandas/calamine as text, then the same SQL as the CSV.
* `zentao-json`: REST API v1 pages (`{"page", "total", "limit", "bugs"|"tasks"|"stories"|"executions": [...]}`),
  lists of them or of bare objects (JSON Lines), DevLake `{"data": ...}` wrappers. Executions become sprints with
  their dates.

Values: `label(#key)` cells give the label (what the PMO reads) and the key (ZenTao's code, language-independent).
Status and resolution map through value_maps (the label first, so a PMO's row for a label wins, then the code),
then ZenTao's own vocabulary below (codes and the standard zh-cn / en labels of 18.x). A story's category comes
from its stage while it is active (研发中 -> in progress, 研发完毕 and later -> done). Issue keys carry the kind,
`BUG-12`, `TASK-7`, `STORY-3`, so the three exports of one project never collide. Hours: `8h`, and the
`张三:4\n李四:2\n` cells of multi-person tasks are summed. Dates carry no offset: parsed in the source time zone;
`0000-00-00...` is empty. reopen_count: 激活次数 / activatedCount for bugs; for tasks and stories a non-empty
激活日期 / activatedDate means reopened at least once (1, a lower bound), an empty one never (0); without the
column, unknown (NULL).

All row work runs in DuckDB SQL; Python only reads headers and walks the parsed JSON into flat rows. A CSV is read
once; its `名称(#key)` columns are split and mapped once per distinct value (bench/zentao.py, bench/README.md).
"""
from __future__ import annotations

import json
import re
from typing import Any

import duckdb
import pyarrow as pa

from ingest import dates
from ingest.decode import ProfileClock
from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, csv_read_error, warning
from ingest.value_maps import create_map_table, join_map, lookup_sql
from store.load import Staged

PREFIX = {"bug": "BUG-", "task": "TASK-", "story": "STORY-"}

# --- Headers ---------------------------------------------------------------------------------------------
# Labels compared lower-cased with runs of white space made one space. First match wins.
FIELDS: dict[str, dict[str, list[str]]] = {
    "bug": {
        "id": ["bug编号", "id", "bug id"],
        "product": ["所属产品", "product"],
        "project": ["所属项目", "project"],
        "execution": ["所属执行", "所属迭代", "execution", "iteration", "execution/iteration", "sprint"],
        "module": ["所属模块", "module"],
        "title": ["bug标题", "title"],
        "keywords": ["关键词", "tags", "keywords"],
        "severity": ["严重程度", "severity"],
        "priority": ["优先级", "priority", "pri"],
        "type": ["bug类型", "type"],
        "status": ["bug状态", "状态", "status"],
        "due": ["截止日期", "deadline"],
        "activated_count": ["激活次数", "activation", "activated count", "activatedcount"],
        "reporter": ["由谁创建", "reportedby", "opened by", "openedby", "createdby"],
        "created": ["创建日期", "reporteddate", "opened date", "openeddate", "createddate"],
        "assignee": ["指派给", "assignto", "assigned to", "assignedto", "assigned"],
        "resolution": ["解决方案", "resolution"],
        "resolved": ["解决日期", "resolved", "resolved date", "resolveddate"],
        "closed": ["关闭日期", "closeddate", "closed date"],
        "updated": ["修改日期", "最后修改日期", "editeddate", "last edited date", "lastediteddate"],
    },
    "task": {
        "id": ["编号", "id"],
        "project": ["所属项目", "project"],
        "execution": ["所属执行", "所属迭代", "execution", "iteration", "execution/iteration", "sprint"],
        "module": ["所属模块", "module"],
        "from_bug": ["来源bug", "from bug"],
        "title": ["任务名称", "name", "task name"],
        "type": ["任务类型", "type"],
        "priority": ["优先级", "priority", "pri"],
        "due": ["截止日期", "deadline"],
        "status": ["任务状态", "状态", "status"],
        "estimate": ["最初预计", "estimates", "estimate"],
        "consumed": ["总计消耗", "total cost", "consumed", "cost"],
        "left": ["预计剩余", "hours left", "left"],
        "reporter": ["由谁创建", "createdby", "opened by", "openedby"],
        "created": ["创建日期", "createddate", "opened date", "openeddate"],
        "assignee": ["指派给", "assignto", "assigned to", "assignedto"],
        "finished": ["实际完成", "完成时间", "actualfinished", "finished date", "finisheddate"],
        "canceled": ["取消时间", "cancelleddate", "canceled date", "canceleddate", "cancelled date"],
        "closed": ["关闭时间", "关闭日期", "closeddate", "closed date"],
        "close_reason": ["关闭原因", "closereason", "closed reason", "close reason"],
        "updated": ["最后修改日期", "修改日期", "editeddate", "last edited date", "lastediteddate"],
        "activated": ["激活日期", "activate date", "activated date", "activateddate"],
        "parent": ["父任务", "parent task", "parent"],
    },
    "story": {
        "id": ["编号", "id"],
        # A story belongs to a product; instances that call products 项目 (productCommon) write 所属项目.
        "product": ["所属产品", "所属项目", "product", "project"],
        "module": ["所属模块", "module"],
        "keywords": ["关键词", "tags", "keywords"],
        "priority": ["优先级", "priority", "pri"],
        "status": ["当前状态", "状态", "status"],
        "stage": ["所处阶段", "阶段", "stage", "phase"],
        "category": ["类别", "category"],
        "reporter": ["由谁创建", "createdby", "opened by", "openedby"],
        "created": ["创建日期", "createddate", "opened date", "openeddate"],
        "assignee": ["指派给", "assignto", "assigned to", "assignedto"],
        "closed": ["关闭日期", "closeddate", "closed date"],
        "close_reason": ["关闭原因", "reason", "closed reason", "closereason", "close reason"],
        "updated": ["最后修改日期", "修改日期", "editeddate", "last edited date", "lastediteddate"],
        "activated": ["激活日期", "activated date", "activateddate"],
        "parent": ["父需求", "parent"],
    },
}
# `{SRCommon}名称`: 研发需求名称 (default), 软件需求名称, 需求名称, 用户需求名称, 故事名称, 软需名称...
STORY_TITLE = re.compile(r"^.{0,6}(需求|故事|软需|用需)名称$|^(title|story name|requirement name|name)$")
# `预计{hourCommon}`: 预计工时 (hours), 预计故事点 / 预计功能点 (points); en `Estimates {hourCommon}`.
STORY_ESTIMATE = re.compile(r"^预计(工时|小时|故事点|功能点|点数)?$|^estimates?( \S.*)?$")
POINTS_UNIT = re.compile(r"故事点|功能点|点数|point|\bsp\b|\bfp\b")
DATE_FIELDS = ("created", "updated", "due", "resolved", "closed", "finished", "canceled")
DATE_SAMPLE_ROWS = 4000          # a larger file votes on its date format with about this many rows
# Fields whose cells may be `名称(#key)`: split into label and key once per row.
SPLIT_FIELDS = ("project", "product", "module", "execution", "status", "stage", "resolution", "close_reason",
                "severity", "priority", "type", "category", "assignee", "reporter", "parent")
HOUR_FIELDS = {"original_txt": "estimate", "remaining_txt": "left", "spent_txt": "consumed"}
HOUR_TEXTS = ("original_txt", "remaining_txt", "spent_txt", "points_txt")

# --- ZenTao's own vocabulary -------------------------------------------------------------------------------
# Standard labels (zh-cn 18.x and older, en) -> ZenTao code, per field: a label means different things in
# different fields (已关闭 is a status and a stage), so each field has its own table.
LABELS: dict[str, dict[str, str]] = {
    "bug_status": {"激活": "active", "已解决": "resolved", "已关闭": "closed", "过期bug": "active",
                   "delay": "active", "active": "active", "resolved": "resolved", "closed": "closed"},
    "task_status": {"未开始": "wait", "进行中": "doing", "已完成": "done", "已暂停": "pause", "已取消": "cancel",
                    "已关闭": "closed", "waiting": "wait", "wait": "wait", "doing": "doing", "done": "done",
                    "paused": "pause", "pause": "pause", "cancelled": "cancel", "canceled": "cancel",
                    "cancel": "cancel", "closed": "closed"},
    "story_status": {"草稿": "draft", "评审中": "reviewing", "激活": "active", "已关闭": "closed",
                     "变更中": "changing", "已变更": "changed", "draft": "draft", "reviewing": "reviewing",
                     "active": "active", "closed": "closed", "changing": "changing", "changed": "changed"},
    "story_stage": {"未开始": "wait", "已计划": "planned", "已安排": "planned", "已立项": "projected",
                    "研发中": "developing", "研发完毕": "developed", "测试中": "testing", "测试完毕": "tested",
                    "已验收": "verified", "已发布": "released", "已关闭": "closed", "waiting": "wait",
                    "wait": "wait", "planned": "planned", "projected": "projected", "developing": "developing",
                    "developed": "developed", "testing": "testing", "tested": "tested", "accepted": "verified",
                    "verified": "verified", "released": "released", "closed": "closed"},
    "bug_resolution": {"设计如此": "bydesign", "重复bug": "duplicate", "外部原因": "external", "已解决": "fixed",
                       "无法重现": "notrepro", "延期处理": "postponed", "不予解决": "willnotfix",
                       "转为研发需求": "tostory", "转为软件需求": "tostory", "转为需求": "tostory",
                       "转为用户需求": "tostory", "转为故事": "tostory", "as designed": "bydesign",
                       "by design": "bydesign", "design issue": "bydesign", "duplicate": "duplicate",
                       "duplicated": "duplicate", "external": "external", "fixed": "fixed", "resolved": "fixed",
                       "irreproducible": "notrepro", "not reproduce": "notrepro", "not reproducible": "notrepro",
                       "postponed": "postponed", "won't fix": "willnotfix", "not to resolve": "willnotfix",
                       "convert to story": "tostory", "to story": "tostory", "transfer to story": "tostory"},
    "task_reason": {"已完成": "done", "完成": "done", "已取消": "cancel", "done": "done", "cancelled": "cancel",
                    "canceled": "cancel", "cancel": "cancel"},
    "story_reason": {"已完成": "done", "完成": "done", "已细分": "subdivided", "重复": "duplicate",
                     "延期": "postponed", "不做": "willnotdo", "已取消": "cancel", "设计如此": "bydesign",
                     "already done": "done", "done": "done", "decomposed": "subdivided",
                     "duplicate": "duplicate", "postponed": "postponed", "won't do": "willnotdo",
                     "cancelled": "cancel", "as designed": "bydesign"},
}
# ZenTao codes -> canonical (METRICS.md G3/G5): used after value_maps (the PMO's rows and the generic defaults),
# so a code the generic table does not know still lands where ZenTao means it.
CODES: dict[str, dict[str, str]] = {
    "status": {"active": "todo", "wait": "todo", "pause": "todo", "draft": "todo", "reviewing": "todo",
               "changing": "todo", "changed": "todo", "planned": "todo", "projected": "todo",
               "doing": "in_progress", "developing": "in_progress", "testing": "in_progress",
               "resolved": "done", "closed": "done", "done": "done", "cancel": "done", "developed": "done",
               "tested": "done", "verified": "done", "released": "done"},
    "resolution": {"fixed": "delivered", "done": "delivered", "willnotfix": "valid_not_fixed",
                   "postponed": "valid_not_fixed", "willnotdo": "valid_not_fixed", "bydesign": "invalid",
                   "duplicate": "invalid", "external": "invalid", "notrepro": "invalid", "tostory": "invalid",
                   "subdivided": "invalid", "cancel": "invalid"},
}
STATUS_DOMAIN = {"bug": "bug_status", "task": "task_status", "story": "story_status"}
REASON_DOMAIN = {"bug": "bug_resolution", "task": "task_reason", "story": "story_reason"}
STAGE_STATUSES = ("active", "changing", "changed")     # a story in these shows its progress in the stage
SPRINT_STATES = {"wait": "future", "doing": "active", "suspended": "active", "closed": "closed"}
MULTI_TAG = r"^\[(多人|M)\]\s*"                         # `[多人] ` / `[M] ` before a multi-person task's name
CHILD_TAG = r"^(>|&gt;)\s*"                            # `>` before a child task's name


def _norm(label: str) -> str:
    return re.sub(r"\s+", " ", label.strip().lstrip("\ufeff")).lower()


def kind_of(header: list[str] | None) -> str | None:
    """'bug' | 'task' | 'story' from an export's header (FORMATS.md section 0), or None."""
    h = {_norm(x) for x in header or [] if x}
    if not h or "issue key" in h or "work item type" in h:
        return None
    if "bug编号" in h and ("bug标题" in h or "激活次数" in h):
        return "bug"
    if "id" in h and ("activation" in h or "activated count" in h
                      or ("repro steps" in h and ("reportedby" in h or "severity" in h))):
        return "bug"
    if "编号" in h and "任务名称" in h and h & {"最初预计", "总计消耗", "预计剩余"}:
        return "task"
    if "id" in h and len(h & {"estimates", "total cost", "hours left"}) >= 2:
        return "task"
    if "编号" in h and "任务名称" not in h and any(STORY_TITLE.match(x) and "名称" in x for x in h):
        return "story"
    if "id" in h and h & {"stage", "phase"} and any(STORY_TITLE.match(x) for x in h):
        return "story"
    return None


def _columns(header: list[str], kind: str) -> tuple[dict[str, int], dict]:
    """field -> column index, and facts about the header (story: title label, estimate unit)."""
    lower = [_norm(h) for h in header]
    cols: dict[str, int] = {}
    for field, names in FIELDS[kind].items():
        for name in names:
            if name in lower:
                cols[field] = lower.index(name)
                break
    facts: dict[str, Any] = {}
    if kind == "story":
        title = next((i for i, h in enumerate(lower) if STORY_TITLE.match(h) and "名称" in h), None)
        if title is None:
            title = next((i for i, h in enumerate(lower) if STORY_TITLE.match(h)), None)
        if title is not None:
            cols["title"] = title
            facts["story_word"] = "故事" in lower[title] or "user story" in lower[title]
        est = next((i for i, h in enumerate(lower) if STORY_ESTIMATE.match(h)), None)
        if est is not None:
            cols["estimate"] = est
            facts["points"] = bool(POINTS_UNIT.search(lower[est]))
    if kind in ("bug", "task") and "execution" not in cols and "project" in cols:
        # Before ZenTao 15, 项目 was the iteration: 所属项目 is the sprint and the project is unknown.
        cols["execution"] = cols.pop("project")
    return cols, facts


def sniff_bug(p: Probe) -> bool:
    return kind_of(p.header) == "bug"


def sniff_task(p: Probe) -> bool:
    return kind_of(p.header) == "task"


def sniff_story(p: Probe) -> bool:
    return kind_of(p.header) == "story"


def sniff_xlsx(p: Probe) -> bool:
    return kind_of(p.header) is not None


# --- SQL helpers -------------------------------------------------------------------------------------------

def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _label(x: str) -> str:
    """`名称(#key)` -> 名称 (the whole text when there is no `(#key)`); empty -> NULL."""
    return (f"nullif(trim(CASE WHEN contains({x}, '(#') THEN regexp_replace({x}, '\\s*\\(#[^()]*\\)$', '') "
            f"ELSE {x} END), '')")


def _code(x: str) -> str:
    """`名称(#key)` -> key; NULL when there is none."""
    return f"CASE WHEN contains({x}, '(#') THEN nullif(regexp_extract({x}, '\\(#([^()]*)\\)$', 1), '') END"


def _execute(cur, sql: str, params: dict | None = None) -> None:
    # DuckDB refuses named parameters that the statement does not use.
    params = params or {}
    cur.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql})


def _ts(expr: str, family: str | None) -> str:
    """Text -> TIMESTAMPTZ: an ISO text with an offset (the API's `...Z`) as written, else parsed with the file's
    date family in the source time zone ($tz)."""
    return (f"CASE WHEN regexp_matches({expr}, 'T.*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
            f"THEN try_cast({expr} AS TIMESTAMPTZ) ELSE timezone($tz, {dates.parse_sql(expr, family or 'iso')}) END")


def _hours(expr: str) -> str:
    """`8h`, `8`, `2.5H`, `8工时`, or `张三:4\\n李四:2\\n` (summed) -> hours; anything else NULL."""
    num = "(-?[0-9]+(?:\\.[0-9]+)?)"
    lines = (f"list_transform(list_filter(string_split({expr}, chr(10)), lambda l: trim(l) <> ''), "
             f"lambda l: try_cast(regexp_extract(l, '[:：]\\s*{num}\\s*(?:[hH]|工时|小时)?\\s*$', 1) AS DOUBLE))")
    return (f"CASE WHEN {expr} IS NULL THEN NULL "
            f"WHEN regexp_matches({expr}, '[:：]') THEN CASE WHEN len(list_filter({lines}, lambda h: h IS NULL)) > 0 THEN NULL "
            f"ELSE list_sum({lines}) END "
            f"ELSE try_cast(regexp_extract({expr}, '^\\s*{num}\\s*(?:[hH]|工时|小时)?\\s*$', 1) AS DOUBLE) END")


def _project_key_sql(label: str, code: str, prefix: str) -> str:
    """An ASCII name as a key (`Shop Revamp` -> SHOP-REVAMP), else `<prefix><id>`; NULL when neither exists."""
    slug = f"trim(upper(regexp_replace({label}, '[^A-Za-z0-9]+', '-', 'g')), '-')"
    return (f"CASE WHEN {label} IS NOT NULL AND regexp_full_match({label}, '[ -~]+') AND {slug} <> '' THEN {slug} "
            f"WHEN regexp_full_match({code}, '[1-9][0-9]*') THEN '{prefix}' || {code} END")


def _has_value(label: str, code: str) -> str:
    """A `名称(#id)` cell names something: not empty, not `(#0)`."""
    return f"(coalesce({code}, '') <> '0' AND ({label} IS NOT NULL OR {code} IS NOT NULL))"


# The flat shape every input is brought to (CSV/XLSX by SQL, JSON by Python) before the shared mapping SQL.
NORM_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("kind", pa.string()), ("zt_id", pa.string()), ("project_key", pa.string()),
    ("project_name", pa.string()), ("title", pa.string()), ("type", pa.string()), ("type_raw", pa.string()),
    ("is_child", pa.bool_()), ("status_raw", pa.string()), ("status_code", pa.string()),
    ("resolution_raw", pa.string()), ("resolution_code", pa.string()), ("priority", pa.string()),
    ("severity", pa.string()), ("assignee", pa.string()), ("reporter", pa.string()),
    ("created", pa.string()), ("updated", pa.string()), ("due", pa.string()), ("resolved", pa.string()),
    ("closed", pa.string()), ("finished", pa.string()), ("canceled", pa.string()),
    ("reopen_count", pa.int32()), ("original_txt", pa.string()), ("remaining_txt", pa.string()),
    ("spent_txt", pa.string()), ("points_txt", pa.string()), ("components", pa.list_(pa.string())),
    ("sprints", pa.list_(pa.string())), ("labels", pa.list_(pa.string())), ("parent_key", pa.string()),
    ("ids_only", pa.bool_()),
])
SPRINT_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("project_key", pa.string()), ("name", pa.string()), ("status", pa.string()),
    ("begin", pa.string()), ("end", pa.string()), ("real_end", pa.string()), ("closed", pa.string()),
])
WORK_TABLES = ("zt_csv", "zt_cells", "zt_dict", "zt_norm", "zt_exec", "zt_canon", "zt_rejects", "zt_reject_scans")


def _load(cur, name: str, rows: list[dict], schema: pa.Schema) -> None:
    """A temp table from Python rows, through a registered Arrow table (values never enter the SQL text)."""
    table = pa.Table.from_pylist(rows, schema=schema)
    view = f"{name}_arrow"
    cur.complete()          # DuckDB 2.0 refuses register() while an earlier result is unread
    cur.register(view, table)
    try:
        cur.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM {view}")
    finally:
        cur.unregister(view)


def _drop_work(cur) -> None:
    for t in WORK_TABLES:
        cur.execute(f"DROP TABLE IF EXISTS {t}")


# --- CSV / XLSX -> zt_cells ------------------------------------------------------------------------------------
# The file is read once, into zt_cells: the needed columns only, as written (c<i>). Each cell is used through
# _cell(): trimmed, empty -> NULL, a zero date -> NULL. The `名称(#key)` columns (a few distinct values in 1M rows)
# are trimmed and split once per distinct value (zt_dict), then joined; a record keeps its number in `rownum`
# (rowid - base of zt_cells). bench/zentao.py measures this path (bench/README.md).

_WS = "' ' || chr(9) || chr(10) || chr(13)"


def _trim_sql(x: str) -> str:
    """nullif(trim(x, ' \\t\\n\\r'), ''), skipping trim (3x the cost of the test) for a text with no such character
    at either end (tests/unit/test_bench_smoke.py checks the two agree)."""
    edge = " OR ".join([f"ascii({x}) IN (9, 10, 13, 32)"] + [f"ends_with({x}, {w})" for w in _WS.split(" || ")])
    return f"CASE WHEN {edge} THEN nullif(trim({x}, {_WS}), '') ELSE nullif({x}, '') END"


def _date_text_sql(x: str) -> str:
    """A date cell: trimmed, empty or a zero date (`0000-00-00...`) -> NULL. (A zero date as ZenTao writes it, with
    no space before it, needs no trimming to be told.)"""
    t = _trim_sql(x)
    return f"CASE WHEN starts_with({x}, '0000-00-00') OR starts_with({t}, '0000-00-00') THEN NULL ELSE {t} END"


def _cell(i: int, date_idx: set[int]) -> str:
    """Cell c<i> of zt_cells as every step uses it: trimmed (TABs too), empty -> NULL, and for a date column a zero
    date -> NULL."""
    return _date_text_sql(f"c{i}") if i in date_idx else _trim_sql(f"c{i}")


def _read_cells(cur, decoded, probe: Probe, kind: str, needed: list[int], date_idx: set[int]) -> None:
    """zt_cells from the CSV, read with the header's N columns plus the spare one each ZenTao data row carries.

    A file as ZenTao writes it has exactly N+1 cells on every record: it is read in parallel, strictly. A file with
    any other record (re-saved without the spare cell, cut short, the free-text last line of a task export) is
    read as before instead, serially with null padding (DuckDB's parallel reader refuses null padding with quoted
    newlines). The strict read runs with ignore_errors and counts what it rejected, so that no statement fails:
    inside a caller's transaction (ingest_files) a failed statement would abort it."""
    width = len(probe.header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width + 1)) + "}"
    select = [f"c{i}" for i in needed]
    checkable = _short_records_checkable(decoded, width)
    if checkable:
        select.append(f"{_short_record_sql(width)} AS zt_short")
    sql = (f"CREATE OR REPLACE TEMP TABLE zt_cells AS SELECT {', '.join(select)} FROM read_csv($path, header = false, "
           f"skip = 1, auto_detect = false, columns = {columns}, delim = $delim, quote = '\"', escape = '\"', "
           f"allow_quoted_nulls = false, max_line_size = 33554432, buffer_size = 67108864, OPTS)")
    params = {"path": str(decoded.path), "delim": probe.delimiter}
    regular = False
    if kind != "task":      # a task export ends with its free-text line: never regular
        try:
            cur.execute(sql.replace("OPTS", "parallel = true, ignore_errors = true, store_rejects = true, "
                                             "rejects_table = 'zt_rejects', rejects_scan = 'zt_reject_scans'"), params)
            regular = cur.execute("SELECT count(*) = 0 FROM zt_rejects").fetchone()[0]
        except duckdb.Error:
            pass            # the serial read below fails as the file deserves
        cur.execute("DROP TABLE IF EXISTS zt_rejects")
        cur.execute("DROP TABLE IF EXISTS zt_reject_scans")
    if not regular:
        try:
            cur.execute(sql.replace("OPTS", "null_padding = true, parallel = false"), params)
        except duckdb.Error as exc:
            raise csv_read_error(exc, decoded.file_name, decoded.path) from None
    if checkable:
        _refuse_short_records(cur, decoded, width)


def _short_records_checkable(decoded, width: int) -> bool:
    """Records cut short can be told only in a file whose header ZenTao wrote (every label quoted)."""
    with open(decoded.path, "r", encoding="utf-8-sig", newline="") as fh:
        first = fh.readline().rstrip("\r\n")
    return width >= 2 and len(first) > 1 and first.startswith('"') and first.endswith('"')


def _short_record_sql(width: int) -> str:
    """Over the raw cells: the record's last header cell is NULL, and the record is not a free-text line."""
    return (f"(c{width - 1} IS NULL "
            f"AND NOT (c1 IS NULL AND NOT coalesce(regexp_full_match(c0, '\\s*[0-9]+(\\.0+)?\\s*'), true)))")


def _refuse_short_records(cur, decoded, width: int) -> None:
    """ZenTao quotes every cell it writes, so (read with allow_quoted_nulls = false) none of them is NULL: a record
    whose last header cell is NULL was cut short, as by a truncated download. Null padding would import it half
    empty (and DuckDB even accepts a quote left open at the end of the file), so the file is refused naming the
    record. Only the free-text last line of a task export is shorter; re-saved files (cells unquoted, empty ones
    NULL) cannot be told apart and are not checked (_short_records_checkable)."""
    short = cur.execute("SELECT rowid - (SELECT min(rowid) FROM zt_cells) FROM zt_cells WHERE zt_short "
                        "ORDER BY rowid LIMIT 1").fetchall()
    if short:
        raise IngestError("too_few_cells", decoded.file_name, row=short[0][0] + 2, expected=width)


def _read_xlsx(cur, decoded) -> list[str]:
    """zt_csv(rownum, c0..cN) from the first sheet, every cell as text; returns the header row."""
    import pandas as pd
    try:
        frame = pd.read_excel(decoded.path, engine="calamine", dtype=str, header=None)
    except Exception as exc:   # calamine, zipfile and pandas each raise their own types
        raise IngestError("bad_xlsx", decoded.file_name, detail=str(exc).splitlines()[0][:200]) from None
    if frame.empty:
        raise IngestError("empty_file", decoded.file_name)
    header = ["" if pd.isna(v) else str(v).strip() for v in frame.iloc[0]]
    body = frame.iloc[1:].reset_index(drop=True)
    body.columns = [f"c{i}" for i in range(body.shape[1])]
    # dtype=str columns become Arrow strings with the empty cells as nulls: no per-cell Python on this path.
    table = pa.Table.from_pandas(body, preserve_index=False).replace_schema_metadata(None)
    table = table.add_column(0, "rownum", pa.array(range(len(body)), pa.int64()))
    cur.complete()
    cur.register("zt_xlsx_arrow", table)
    try:
        cur.execute("CREATE OR REPLACE TEMP TABLE zt_csv AS SELECT * FROM zt_xlsx_arrow")
    finally:
        cur.unregister("zt_xlsx_arrow")
    return header


def _check_cells(cur, decoded, header: list[str], cols: dict[str, int]) -> tuple[int, int]:
    """Drop the free-text lines from zt_cells and check every ID (one scan; the DELETE only when there is such a
    line). Returns the number of records and the rowid of the file's first record (a record's number is
    rowid - base: inside a transaction DuckDB numbers a new temp table's rows from a large base)."""
    needed, date_idx = _needed(cols)
    others = " AND ".join(f"{_cell(i, date_idx)} IS NULL" for i in needed if i != cols["id"]) or "true"
    # A record with nothing but free text in its first cell (`任务名称前有'>'标记的为子任务`) or nothing at all.
    junk = f"CASE WHEN ok THEN false ELSE {others} END"
    base, total, n_junk, bad_row, bad_value = cur.execute(f"""
        SELECT min(rowid), count(*), count(*) FILTER (WHERE junk), min(rowid) FILTER (WHERE NOT ok AND NOT junk),
               arg_min(id, rowid) FILTER (WHERE NOT ok AND NOT junk)
        FROM (SELECT *, {junk} AS junk
              FROM (SELECT *, coalesce(regexp_full_match(id, '[0-9]+(\\.0+)?'), false) AS ok
                    FROM (SELECT rowid, {_cell(cols['id'], date_idx)} AS id, * FROM zt_cells)))""").fetchone()
    if n_junk:
        cur.execute(f"DELETE FROM zt_cells WHERE NOT coalesce(regexp_full_match({_cell(cols['id'], date_idx)}, "
                    f"'[0-9]+(\\.0+)?'), false) AND {others}")
    rows = total - n_junk
    if rows == 0:
        raise IngestError("no_rows", decoded.file_name)
    if bad_row is not None:
        if bad_value is None:
            raise IngestError("empty_key", decoded.file_name, row=bad_row - base + 2, column=header[cols["id"]])
        raise IngestError("zentao_bad_id", decoded.file_name, row=bad_row - base + 2, column=header[cols["id"]],
                          value=bad_value)
    return rows, base


def _severity_sql(label: str, code: str) -> str:
    """`3(#3)` -> 3, `致命(#1)` -> 1-致命, a label alone as it is."""
    return (f"CASE WHEN regexp_full_match({code}, '[0-9]+') AND {label} IS NOT NULL AND {label} <> {code} "
            f"THEN {code} || '-' || {label} ELSE coalesce({label}, {code}) END")


def _components_sql(label: str) -> str:
    """A module `/支付/退款(#12)` -> [支付/退款]; `/(#0)` or nothing -> []."""
    module = f"nullif(ltrim({label}, '/'), '')"
    return f"CASE WHEN {module} IS NULL THEN []::VARCHAR[] ELSE [{module}] END"


def _sprints_sql(label: str, code: str) -> str:
    """An execution `迭代1(#11)` -> [迭代1]; `(#0)`, a key alone or nothing -> []."""
    return f"CASE WHEN {_has_value(label, code)} AND {label} IS NOT NULL THEN [{label}] ELSE []::VARCHAR[] END"


def _split_fields(cols: dict[str, int], ctx, project_only: bool = False) -> list[str]:
    """The `名称(#key)` fields read from zt_cells (a project the user gave leaves 所属项目 / 所属产品 unused)."""
    owners = ("project", "product")
    return [f for f in SPLIT_FIELDS if f in cols and (f in owners if project_only
                                                      else not (ctx.project_key and f in owners))]


def _split_dict(cur, kind: str, cols: dict[str, int], ctx) -> None:
    """zt_dict: every distinct cell `v` of the `名称(#key)` columns (SPLIT_FIELDS; none of them is a date column:
    their header names are apart in FIELDS), trimmed and split once into label `l` and key `k` (_label, _code), with
    what the fields make of them: `lw` lower(l); `sc`, `rc`, `gc` the ZenTao code of the label as a status, a
    resolution / close reason, a story stage (LABELS); `sev` the severity, `comp` the components of a module,
    `spr` the sprints of an execution."""
    idx = sorted({cols[f] for f in _split_fields(cols, ctx)})
    values = " UNION ALL ".join(f"SELECT c{i} AS v FROM zt_cells" for i in idx) or "SELECT NULL::VARCHAR AS v"
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE zt_dict AS
        SELECT v, l, k, lower(l) AS lw, {_map_sql(LABELS[STATUS_DOMAIN[kind]])}[lower(l)] AS sc,
               {_map_sql(LABELS[REASON_DOMAIN[kind]])}[lower(l)] AS rc,
               {_map_sql(LABELS['story_stage'])}[lower(l)] AS gc,
               {_severity_sql('l', 'k')} AS sev, {_components_sql('l')} AS comp, {_sprints_sql('l', 'k')} AS spr
        FROM (SELECT v, {_label('t')} AS l, {_code('t')} AS k
              FROM (SELECT v, {_trim_sql('v')} AS t FROM (SELECT DISTINCT v FROM ({values}) WHERE v IS NOT NULL)))""")


def _dict_classes(cur, project_key: str) -> None:
    """For a bug export of one project: add to zt_dict the status category `cat` and resolution class `res` each
    value gives, as _stage_issues would find them per row (a bug's status and resolution each come from one cell,
    so per distinct value is the same, and six joins fewer per row). value_maps as ingest/value_maps.py lookup_sql
    reads it (the precedence of the `_maps` joins), then ZenTao's codes (CODES)."""
    # status_code and resolution_code as _norm_sql writes them for a bug
    status, reason, pk = "coalesce(k, sc, lw)", "coalesce(k, rc, lw)", _literal(project_key)
    cat = (f"coalesce({lookup_sql(cur, 'status', 'l', pk)}, {lookup_sql(cur, 'status', status, pk)}, "
           f"{_map_sql(CODES['status'])}[lower(trim({status}))])")
    res = (f"CASE WHEN l IS NOT NULL THEN coalesce({lookup_sql(cur, 'resolution', 'l', pk)}, "
           f"{lookup_sql(cur, 'resolution', reason, pk)}, {_map_sql(CODES['resolution'])}[lower(trim({reason}))]) END")
    cur.execute(f"CREATE OR REPLACE TEMP TABLE zt_dict AS SELECT *, {cat} AS cat, {res} AS res FROM zt_dict")


def _norm_sql(kind: str, cols: dict[str, int], facts: dict, ctx, base: int, project_only: bool = False,
              classes: bool = False) -> str:
    """The zt_norm columns over zt_cells (a query): labels and codes split (zt_dict, joined once per column), names
    cleaned, the project found; rownum is the record's number in the file. Date columns are left as written
    (_stage_issues reads them through _date_text_sql). project_only: rownum and project_key alone. classes: add
    the status category and resolution class zt_dict holds (_dict_classes) as cat_c and res_c."""
    _, date_idx = _needed(cols)

    def c(field: str) -> str:
        return _cell(cols[field], date_idx) if field in cols else "NULL::VARCHAR"

    def raw(field: str) -> str:
        return f"c{cols[field]}" if field in cols else "NULL::VARCHAR"

    # `名称(#key)` fields: split once per distinct value (zt_dict), then used by name: l_<field>, k_<field>, ...
    split = _split_fields(cols, ctx, project_only)
    joins = "".join(f" LEFT JOIN zt_dict d{i} ON d{i}.v = x.c{i}" for i in sorted({cols[f] for f in split}))
    split_cols = "".join(f", d{cols[f]}.{name} AS {name}_{f}" for f in split
                         for name in ("l", "k", "lw", "sc", "rc", "gc", "sev", "comp", "spr"))
    if classes:
        split_cols += "".join(f", d{cols[f]}.{name} AS {name}_{f}" for f, name in (("status", "cat"),
                                                                                   ("resolution", "res")) if f in split)

    def dict_col(name: str, field: str) -> str:
        return f"{name}_{field}" if field in split else "NULL::VARCHAR"

    def lab(field: str) -> str:
        return dict_col("l", field)

    classes_sql = f", {dict_col('cat', 'status')} AS cat_c, {dict_col('res', 'resolution')} AS res_c" if classes else ""

    def code(field: str) -> str:
        return dict_col("k", field)

    # Project: what the user said, else 所属项目, else 所属产品 (`名称(#id)`).
    if ctx.project_key:
        project_key, project_name = _literal(ctx.project_key), "NULL::VARCHAR"
    else:
        has_proj = _has_value(lab("project"), code("project")) if "project" in cols else "false"
        proj_key = _project_key_sql(lab("project"), code("project"), "ZT")
        prod_key = _project_key_sql(lab("product"), code("product"), "ZTP")
        project_key = f"CASE WHEN {has_proj} THEN {proj_key} ELSE {prod_key} END"
        project_name = (f"CASE WHEN {has_proj} THEN {lab('project')} "
                        f"WHEN {_has_value(lab('product'), code('product'))} THEN {lab('product')} END")
    if project_only:
        return (f"SELECT rownum, {project_key} AS project_key "
                f"FROM (SELECT x.rowid - {base} AS rownum{split_cols} FROM zt_cells x{joins})")

    title = c("title")
    is_child = "false"
    if kind == "task":
        is_child = f"coalesce(regexp_matches(regexp_replace({title}, '{MULTI_TAG}', ''), '{CHILD_TAG}'), false)"
        title = f"regexp_replace(regexp_replace({title}, '{MULTI_TAG}', ''), '{CHILD_TAG}', '')"
    type_sql = {"bug": "'bug'", "task": "CASE WHEN is_child THEN 'subtask' ELSE 'task' END",
                "story": "'story'" if facts.get("story_word") else "'requirement'"}[kind]
    components = f"coalesce({dict_col('comp', 'module')}, []::VARCHAR[])" if "module" in cols else "[]::VARCHAR[]"
    sprints = f"coalesce({dict_col('spr', 'execution')}, []::VARCHAR[])" if "execution" in cols else "[]::VARCHAR[]"
    # (a cell without keywords gives no list to split: most of them)
    keywords = (f"CASE WHEN {c('keywords')} IS NULL THEN []::VARCHAR[] ELSE list_filter(list_transform("
                f"regexp_split_to_array({c('keywords')}, '[,，]'), lambda k: trim(k)), lambda k: k <> '') END"
                if "keywords" in cols else "[]::VARCHAR[]")
    from_bug = (f"CASE WHEN regexp_matches({c('from_bug')}, '^#?[1-9][0-9]*') THEN "
                f"['from_bug:BUG-' || regexp_extract({c('from_bug')}, '^#?([0-9]+)', 1)] ELSE []::VARCHAR[] END"
                if "from_bug" in cols else None)
    labels = f"list_concat({keywords}, {from_bug})" if from_bug else keywords
    severity = dict_col("sev", "severity")
    assignee = f"CASE WHEN {dict_col('lw', 'assignee')} = 'closed' THEN NULL ELSE {lab('assignee')} END"
    parent = (f"coalesce({code('parent')}, regexp_extract({c('parent')}, '^#?([0-9]+)$', 1))"
              if "parent" in cols else "NULL")
    parent_key = (f"CASE WHEN regexp_full_match({parent}, '[1-9][0-9]*') THEN '{PREFIX[kind]}' || {parent} END"
                  if "parent" in cols else "NULL::VARCHAR")
    if kind == "bug":
        reopen = f"try_cast(regexp_extract({c('activated_count')}, '^([0-9]+)', 1) AS INTEGER)" \
            if "activated_count" in cols else "NULL::INTEGER"
    else:
        reopen = f"CASE WHEN {c('activated')} IS NULL THEN 0 ELSE 1 END" if "activated" in cols else "NULL::INTEGER"

    # Status (a story's from its stage while active) and resolution, each as label and code; a label ZenTao
    # itself writes gives its code (LABELS, as MAP lookups).
    reason = "resolution" if kind == "bug" else "close_reason"
    status_code_of = dict_col("sc", "status")
    reason_code_of = dict_col("rc", reason)
    status_l, status_c = lab("status"), f"coalesce({code('status')}, {status_code_of}, {dict_col('lw', 'status')})"
    if kind == "story" and "stage" in cols:
        stage_c = f"coalesce({code('stage')}, {dict_col('gc', 'stage')}, {dict_col('lw', 'stage')})"
        use_stage = f"({status_c} IN {STAGE_STATUSES} AND {lab('stage')} IS NOT NULL)"
        status_l = f"CASE WHEN {use_stage} THEN {lab('stage')} ELSE {lab('status')} END"
        status_c = f"CASE WHEN {use_stage} THEN {stage_c} ELSE {status_c} END"
    res_l, res_c = lab(reason), f"coalesce({code(reason)}, {reason_code_of}, {dict_col('lw', reason)})"
    if kind == "task":     # a cancelled task is done, resolved as cancelled (invalid)
        cancel = f"{status_c} = 'cancel'"
        res_l = f"coalesce({lab('close_reason')}, CASE WHEN {cancel} THEN {lab('status')} END)"
        res_c = f"CASE WHEN {lab('close_reason')} IS NOT NULL THEN {res_c} WHEN {cancel} THEN 'cancel' END"

    estimate = c("estimate")
    original, points = estimate, "NULL::VARCHAR"
    if kind == "story" and facts.get("points"):
        original, points = "NULL::VARCHAR", estimate
    return f"""
        SELECT rownum, kind, zt_id, project_key, project_name, title, {type_sql} AS type, type_raw, is_child,
               status_raw, status_code, resolution_raw, resolution_code, priority, severity, assignee, reporter,
               created, updated, due, resolved, closed, finished, canceled, reopen_count, original_txt,
               remaining_txt, spent_txt, points_txt, components, sprints, labels, parent_key, false AS ids_only
               {", cat_c, res_c" if classes else ""}
        FROM (
            SELECT v.rownum, '{kind}' AS kind, split_part({c('id')}, '.', 1) AS zt_id,
                   {project_key} AS project_key, {project_name} AS project_name, {title} AS title,
                   {lab('category') if kind == 'story' else lab('type')} AS type_raw, {is_child} AS is_child,
                   {status_l} AS status_raw, {status_c} AS status_code,
                   {res_l} AS resolution_raw, CASE WHEN {res_l} IS NOT NULL THEN {res_c} END AS resolution_code,
                   {lab('priority')} AS priority, {severity} AS severity,
                   {assignee} AS assignee, {lab('reporter')} AS reporter,
                   {', '.join(f'{raw(f)} AS {f}' for f in DATE_FIELDS)},
                   {reopen} AS reopen_count, {original} AS original_txt, {c('left')} AS remaining_txt,
                   {c('consumed')} AS spent_txt, {points} AS points_txt, {components} AS components,
                   {sprints} AS sprints, {labels} AS labels, {parent_key} AS parent_key
                   {classes_sql}
            FROM (SELECT x.*, x.rowid - {base} AS rownum{split_cols}
                  FROM zt_cells x{joins}) v)"""


# --- JSON -> zt_norm -----------------------------------------------------------------------------------------

PAGE_KEYS = {"bugs": "bug", "tasks": "task", "stories": "story", "executions": "execution"}


def _classify(o: Any) -> str | None:
    if not isinstance(o, dict) or "id" not in o:
        return None
    if "title" in o and ("activatedCount" in o or ("severity" in o and "steps" in o)):
        return "bug"
    if "name" in o and {"estimate", "consumed", "left"} <= o.keys():
        return "task"
    if "title" in o and {"stage", "estimate"} <= o.keys():
        return "story"
    if "name" in o and {"begin", "end"} <= o.keys() and "title" not in o:
        return "execution"
    return None


def _unwrap(node: Any) -> Any:
    """DevLake raw rows wrap each response as {"data": ..., "url"/"_request_url"/...}; `data` may be JSON text."""
    if isinstance(node, dict) and "data" in node and _classify(node) is None and not any(k in node for k in PAGE_KEYS):
        data = node["data"]
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                return node
        if isinstance(data, (dict, list)):
            return data
    return node


def _items(doc: Any) -> tuple[list[tuple[str, dict]], int]:
    """(kind, object) for every ZenTao object in the document, and how many other things were met."""
    found: list[tuple[str, dict]] = []
    other = 0

    def walk(node: Any, depth: int) -> None:
        nonlocal other
        node = _unwrap(node)
        if isinstance(node, dict):
            page = [k for k in PAGE_KEYS if isinstance(node.get(k), list)]
            if page:
                for k in page:
                    for x in node[k]:
                        x = _unwrap(x)
                        if isinstance(x, dict) and "id" in x:
                            found.append((PAGE_KEYS[k], x))
                return
            kind = _classify(node)
            if kind:
                found.append((kind, node))
            else:
                other += 1
        elif isinstance(node, list) and depth < 2:
            for x in node:
                walk(x, depth + 1)
        else:
            other += 1
    walk(doc, 0)
    return found, other


def sniff_json(p: Probe) -> bool:
    found, other = _items(p.document)
    return bool(found) and other == 0


def _text(v: Any) -> str | None:
    if v is None or isinstance(v, (dict, list)):
        return None
    s = str(v).strip()
    return s or None


def _date(v: Any) -> str | None:
    s = _text(v)
    return None if s is None or s.startswith("0000-00-00") else s


def _positive(v: Any) -> str | None:
    try:
        n = int(str(v).strip())
    except (TypeError, ValueError):
        return None
    return str(n) if n > 0 else None


def _user(v: Any) -> str | None:
    if isinstance(v, dict):
        if str(v.get("account") or "").lower() == "closed":
            return None
        return _text(v.get("realname")) or _text(v.get("account"))
    s = _text(v)
    return None if s is None or s.lower() == "closed" else s


def _num(v: Any) -> str | None:
    if v is None or isinstance(v, bool):
        return None
    return _text(v)


def _code_of(domain: str, v: Any) -> str | None:
    s = _text(v)
    return None if s is None else LABELS[domain].get(s.lower(), s.lower())


def _json_row(rownum: int, kind: str, o: dict, ctx) -> dict:
    zt_id = _positive(o.get("id")) or _text(o.get("id"))
    project, product = _positive(o.get("project")), _positive(o.get("product"))
    if ctx.project_key:
        project_key = ctx.project_key
    elif kind in ("bug", "task") and project:
        project_key = f"ZT{project}"
    else:
        project_key = f"ZTP{product}" if product else None
    module_name = _text(o.get("moduleName")) or _text(o.get("moduleTitle"))
    exec_name = _text(o.get("executionName"))
    ids_only = bool((_positive(o.get("module")) and not module_name)
                    or (kind != "story" and _positive(o.get("execution")) and not exec_name))
    labels = [k.strip() for k in re.split(r"[,，]", _text(o.get("keywords")) or "") if k.strip()]
    from_bug = _positive(o.get("fromBug"))
    if kind == "task" and from_bug:
        labels.append(f"from_bug:BUG-{from_bug}")
    parent = _positive(o.get("parent"))
    status = _text(o.get("status"))
    status_code = _code_of(STATUS_DOMAIN[kind], status)
    if kind == "story" and status_code in STAGE_STATUSES and _text(o.get("stage")):
        status, status_code = _text(o.get("stage")), _code_of("story_stage", o.get("stage"))
    reason = _text(o.get("resolution" if kind == "bug" else "closedReason"))
    if kind == "task" and reason is None and status_code == "cancel":
        reason = status
    activated = None
    if kind == "bug" and o.get("activatedCount") is not None:
        activated = int(o["activatedCount"])
    elif kind != "bug" and "activatedDate" in o:
        activated = 1 if _date(o.get("activatedDate")) else 0
    row = {
        "rownum": rownum, "kind": kind, "zt_id": zt_id, "project_key": project_key, "project_name": None,
        "title": _text(o.get("name" if kind == "task" else "title")),
        "type": {"bug": "bug", "task": "subtask" if parent else "task", "story": "requirement"}[kind],
        "type_raw": _text(o.get("category" if kind == "story" else "type")), "is_child": bool(parent),
        "status_raw": status, "status_code": status_code, "resolution_raw": reason,
        "resolution_code": _code_of(REASON_DOMAIN[kind], reason) if reason else None,
        "priority": _positive(o.get("pri")), "severity": _positive(o.get("severity")),
        "assignee": _user(o.get("assignedTo")), "reporter": _user(o.get("openedBy")),
        "created": _date(o.get("openedDate")), "updated": _date(o.get("lastEditedDate")),
        "due": _date(o.get("deadline")), "resolved": _date(o.get("resolvedDate")),
        "closed": _date(o.get("closedDate")), "finished": _date(o.get("finishedDate")),
        "canceled": _date(o.get("canceledDate")), "reopen_count": activated,
        "original_txt": _num(o.get("estimate")), "remaining_txt": _num(o.get("left")) if kind == "task" else None,
        "spent_txt": _num(o.get("consumed")) if kind == "task" else None, "points_txt": None,
        "components": [module_name] if module_name else [], "sprints": [exec_name] if exec_name else [],
        "labels": labels, "parent_key": f"{PREFIX[kind]}{parent}" if parent else None, "ids_only": ids_only,
    }
    return row


# --- Shared mapping: zt_norm (a table, or the query over zt_cells) -> stage_issues --------------------------------

def _map_sql(entries: dict[str, str]) -> str:
    """A DuckDB MAP literal (str -> str), for lookups once per distinct value (zt_dict)."""
    return "MAP {" + ", ".join(f"{_literal(k)}: {_literal(v)}" for k, v in entries.items()) + "}"


def _create_canon_table(cur) -> None:
    cur.execute("CREATE OR REPLACE TEMP TABLE zt_canon (kind VARCHAR, code VARCHAR, canonical VARCHAR)")
    cur.executemany("INSERT INTO zt_canon VALUES (?, ?, ?)",
                    [(k, code, canonical) for k, table in CODES.items() for code, canonical in table.items()])


def _stage_issues(cur, ctx, family: str | None, source: str = "zt_norm", dates_kept=DATE_FIELDS,
                  hours_kept=HOUR_TEXTS, classes: bool = False) -> None:
    """stage_issues from the zt_norm rows of `source` (needs `_maps` and zt_canon). Status and resolution: value_maps
    (the PMO's rows for the project, then '*', then the generic defaults) for the label, then for the code, then
    ZenTao's own meaning of the code (CODES). Besides the canonical columns, what the report needs: the text and a
    flag of each date in `dates_kept` that did not parse, of each hour text in `hours_kept` (the others are absent
    from the file), the record number `rownum`, ... classes: `source` has them already as cat_c and res_c
    (_dict_classes).

    Dates: the date columns of `source` are read through _date_text_sql (a CSV's cells as written; zt_norm's texts
    come out unchanged). With the ISO family, a text strptime reads as `%Y-%m-%d %H:%M:%S` (what ZenTao writes) is
    taken so (q_<f>: tests/unit/test_bench_smoke.py checks it is what the general path gives); any other text
    (t_<f>) is normalised and shaped once, then parsed with the family's formats of its shape (ingest/dates.py
    parse_shaped_sql, the same value as parse_sql); an ISO text with an offset (the API's `...Z`) is taken as
    written. The date columns of stage_issues keep the text of the values not taken by the fast path (what the
    report quotes of an unparsable one)."""
    def canon(alias: str, kind: str, expr: str) -> str:
        return f"LEFT JOIN zt_canon {alias} ON {alias}.kind = '{kind}' AND {alias}.code = lower(trim({expr}))"
    fam = family or "iso"
    # (strptime failing costs 5x what it costs to succeed: the zero dates, 19 bytes too, are not tried)
    fast = ("CASE WHEN strlen({0}) = 19 AND NOT starts_with({0}, '0000') THEN try_strptime({0}, '%Y-%m-%d %H:%M:%S') "
            "END" if fam == "iso" else "NULL::TIMESTAMP")
    # (a date column the file does not have is NULL throughout: not parsed)
    quick = ", ".join(f"{fast.format(f)} AS q_{f}" if f in dates_kept else f"NULL::TIMESTAMP AS q_{f}"
                      for f in DATE_FIELDS)
    texts = ", ".join(f"CASE WHEN q_{f} IS NULL THEN {_date_text_sql(f)} END AS t_{f}" if f in dates_kept
                      else f"NULL::VARCHAR AS t_{f}" for f in DATE_FIELDS)
    normed = ", ".join(f"{dates.normalized(f't_{f}')} AS n_{f}" for f in dates_kept) or "NULL AS n_"
    shaped = ", ".join(f"{dates.shape_sql(f'n_{f}')} AS k_{f}" for f in dates_kept) or "NULL AS k_"
    ts = ", ".join(f"CASE WHEN q_{f} IS NOT NULL THEN timezone($tz, q_{f}) "
                   f"WHEN contains(t_{f}, 'T') AND regexp_matches(t_{f}, 'T.*(Z|[+-][0-9]{{2}}:?[0-9]{{2}})$') "
                   f"THEN try_cast(t_{f} AS TIMESTAMPTZ) "
                   f"ELSE timezone($tz, {dates.parse_shaped_sql(f'n_{f}', f'k_{f}', fam)}) END AS {f}_ts"
                   if f in dates_kept else f"NULL::TIMESTAMPTZ AS {f}_ts" for f in DATE_FIELDS)
    hour_of = {"original_txt": "original_h", "remaining_txt": "remaining_h", "spent_txt": "spent_h",
               "points_txt": "points"}
    mapped, joins = "", ""
    if not classes:
        mapped = ("coalesce(ms1.canonical, ms2.canonical, zs.canonical) AS cat_c, "
                  "coalesce(mr1.canonical, mr2.canonical, zr.canonical) AS res_c,")
        joins = "\n".join([join_map('ms1', 'status', 'n.status_raw', 'n.project_key'),
                           join_map('ms2', 'status', 'n.status_code', 'n.project_key'),
                           canon('zs', 'status', 'n.status_code'),
                           join_map('mr1', 'resolution', 'n.resolution_raw', 'n.project_key'),
                           join_map('mr2', 'resolution', 'n.resolution_code', 'n.project_key'),
                           canon('zr', 'resolution', 'n.resolution_code')])
    report = "".join(f", t_{f} AS {f}, t_{f} IS NOT NULL AND {f}_ts IS NULL AS bad_{f}" for f in dates_kept)
    report += "".join(f", {h}, {h} IS NOT NULL AND {hour_of[h]} IS NULL AS bad_{h}" for h in hours_kept)
    _execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        WITH quick AS (
            SELECT *, {quick} FROM {source}
        ), texts AS (
            SELECT *, {texts} FROM quick
        ), normed AS (
            SELECT *, {normed} FROM texts
        ), shaped AS (
            SELECT *, {shaped} FROM normed
        ), m AS (
            SELECT n.*, {ts}, {mapped}
                   {_hours('n.original_txt')} AS original_h, {_hours('n.remaining_txt')} AS remaining_h,
                   {_hours('n.spent_txt')} AS spent_h, {_hours('n.points_txt')} AS points
            FROM shaped n {joins}
        ), d AS (
            SELECT *, coalesce(cat_c, 'todo') AS cat,
                   CASE kind WHEN 'bug' THEN coalesce(resolved_ts, closed_ts)
                             WHEN 'task' THEN coalesce(finished_ts, canceled_ts, closed_ts)
                             ELSE closed_ts END AS done_src
            FROM m
        ), e AS (
            SELECT *, CASE WHEN cat = 'done' THEN coalesce(done_src, updated_ts) END AS done_ts FROM d
        )
        SELECT project_key, CASE kind WHEN 'bug' THEN 'BUG-' WHEN 'task' THEN 'TASK-' ELSE 'STORY-' END || zt_id
                   AS issue_key,
               title, type, type_raw, status_raw, cat AS status_category,
               cat_c IS NULL AND status_raw IS NOT NULL AS status_unmapped,
               resolution_raw,
               CASE WHEN resolution_raw IS NULL THEN NULL ELSE coalesce(res_c, 'delivered') END AS resolution_class,
               resolution_raw IS NOT NULL AND res_c IS NULL AS resolution_unmapped,
               priority, severity, created_ts AS created_at, updated_ts AS updated_at,
               done_ts AS done_at, done_ts AS first_done_at,
               cat = 'done' AND done_src IS NULL AND updated_ts IS NOT NULL AS done_from_updated,
               due_ts AS due_at, points AS story_points, original_h AS original_estimate_h,
               remaining_h AS remaining_estimate_h, spent_h AS time_spent_h, assignee, reporter, components, labels,
               sprints, []::VARCHAR[] AS fix_versions, parent_key, NULL::VARCHAR AS found_phase,
               reopen_count::INTEGER AS reopen_count,
               rownum, kind, is_child, ids_only, project_name{report}
        FROM e""", {"tz": ctx.source_tz})
    # The last record of a key repeated in the file wins (as in the other adapters).
    if cur.execute("SELECT count(*) > count(DISTINCT (project_key, issue_key)) FROM stage_issues").fetchone()[0]:
        cur.execute("DELETE FROM stage_issues WHERE rownum NOT IN "
                    "(SELECT max(rownum) FROM stage_issues GROUP BY project_key, issue_key)")


def _dates_and_issues(cur, ctx, rows: int, source: str = "zt_norm", table: str = "zt_norm",
                      columns: list[str] | None = None, created: str | None = "created",
                      updated: str | None = "updated", rownum: str = "rownum", dates_kept=DATE_FIELDS,
                      hours_kept=HOUR_TEXTS, classes: bool = False):
    """One date family for the file (ingest/dates.py), then stage_issues from `source`. The vote reads the date
    `columns` of `table` (zt_norm, or expressions over zt_cells for a CSV/XLSX); a large file votes on an evenly
    spaced sample (`rownum`: the record number in `table`); the whole file votes instead when the sample's family
    leaves a value unparsed or the day/month order was a tie (the chronology tie-break must see every row)."""
    columns = list(DATE_FIELDS) if columns is None else columns
    sampled = rows > DATE_SAMPLE_ROWS
    if sampled:
        cur.execute(f"CREATE OR REPLACE TEMP VIEW zt_date_sample AS SELECT * FROM {table} "
                    f"WHERE {rownum} % {-(-rows // DATE_SAMPLE_ROWS)} = 0")
    choice = dates.infer_family(cur, "zt_date_sample" if sampled else table, columns, created, updated)
    _stage_issues(cur, ctx, choice.family, source, dates_kept, hours_kept, classes)
    any_bad = " OR ".join(f"bad_{f}" for f in dates_kept) or "false"
    if sampled and (choice.ambiguous or cur.execute(
            f"SELECT coalesce(bool_or({any_bad}), false) FROM stage_issues").fetchone()[0]):
        full = dates.infer_family(cur, table, columns, created, updated)
        if full.family != choice.family:
            _stage_issues(cur, ctx, full.family, source, dates_kept, hours_kept, classes)
        choice = full
    cur.execute("DROP VIEW IF EXISTS zt_date_sample")
    return choice


def _report(cur, rows: int, header: list[str] | None, cols: dict[str, int] | None, dates_kept=DATE_FIELDS,
            hours_kept=HOUR_TEXTS) -> list[dict]:
    """Everything the import understood only partly, as warnings for the import report (dates and hours: those
    stage_issues kept, _stage_issues)."""
    out = []
    kept = cur.execute("SELECT count(*) FROM stage_issues").fetchone()[0]
    if kept < rows:
        out.append(warning("duplicate_keys", count=rows - kept))
    for kind, flag, raw in (("status", "status_unmapped", "status_raw"),
                            ("resolution", "resolution_unmapped", "resolution_raw")):
        values = cur.execute(f"SELECT {raw}, count(*) FROM stage_issues WHERE {flag} AND {raw} IS NOT NULL "
                             "GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        if values:
            out.append(warning(f"unmapped_{kind}", values=[v[0] for v in values], count=sum(v[1] for v in values)))

    def column(field: str, fallback: str) -> str:
        return header[cols[field]] if header and cols and field in cols else fallback
    api_names = {"created": "openedDate", "updated": "lastEditedDate", "due": "deadline", "resolved": "resolvedDate",
                 "closed": "closedDate", "finished": "finishedDate", "canceled": "canceledDate"}
    for f in dates_kept:
        bad = cur.execute(f"SELECT count(*), list(rownum + 2 ORDER BY rownum)[1:10], arg_min({f}, rownum) "
                          f"FROM stage_issues WHERE bad_{f}").fetchone()
        if bad[0]:
            out.append(warning("unparsable_dates", column=column(f, api_names[f]), count=bad[0], rows=bad[1],
                               example=bad[2]))
    for f, field in (*HOUR_FIELDS.items(), ("points_txt", "estimate")):
        if f not in hours_kept:
            continue
        bad = cur.execute(f"SELECT count(*), arg_min({f}, rownum) FROM stage_issues WHERE bad_{f}").fetchone()
        if bad[0]:
            out.append(warning("unparsable_hours", column=column(field, field), count=bad[0], example=bad[1]))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE done_from_updated").fetchone()[0]
    if n:
        out.append(warning("done_date_from_updated", count=n))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE is_child AND parent_key IS NULL").fetchone()[0]
    if n:
        out.append(warning("zentao_child_tasks_unlinked", count=n))
    n = cur.execute("SELECT count(*) FROM stage_issues WHERE ids_only").fetchone()[0]
    if n:
        out.append(warning("zentao_ids_only", count=n))
    # G7: estimate coverage of the estimable kinds (bugs carry no estimate in ZenTao), standard issues (G6).
    pts, hrs, scope = cur.execute(
        "SELECT count(*) FILTER (WHERE story_points IS NOT NULL), count(*) FILTER (WHERE original_estimate_h IS NOT "
        "NULL), count(*) FROM stage_issues WHERE kind <> 'bug' AND type NOT IN ('epic', 'subtask')").fetchone()
    if pts:
        out.append(warning("estimate_coverage", estimated=pts, in_scope=scope))
    elif scope:
        out.append(warning("hours_coverage", estimated=hrs, in_scope=scope))
    return out


def _names_only_sprints(cur) -> None:
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT DISTINCT project_key, unnest(sprints) AS name, NULL::VARCHAR AS state,
               NULL::TIMESTAMPTZ AS start_at, NULL::TIMESTAMPTZ AS end_at, NULL::TIMESTAMPTZ AS completed_at
        FROM stage_issues""")


def _finish(cur, staged: Staged) -> Staged:
    """Project names and the has_* flags. stage_issues keeps the report's columns besides the canonical ones: the
    loader reads those by name (store/load.py), and copying 1M rows to drop the others would cost more."""
    staged.project_names = {k: v for k, v in cur.execute(
        "SELECT project_key, arg_max(project_name, rownum) FROM stage_issues GROUP BY 1").fetchall() if v}
    staged.has_sprints = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0
    staged.tracker = "zentao"
    return staged


def _require_projects(cur, decoded, source: str = "zt_norm") -> list[str]:
    missing = cur.execute(f"SELECT min(rownum) FROM {source} WHERE project_key IS NULL").fetchone()[0]
    if missing is not None:
        raise IngestError("zentao_project_required", decoded.file_name, row=missing + 2)
    return [r[0] for r in cur.execute(f"SELECT DISTINCT project_key FROM {source} ORDER BY 1").fetchall()]


def _stage_table(cur, decoded, ctx, kind: str, header: list[str], cols: dict[str, int], facts: dict,
                 source_format: str, clock: ProfileClock) -> Staged:
    """The shared path of CSV and XLSX once zt_cells holds the cells."""
    if "id" not in cols:
        raise IngestError("missing_column", decoded.file_name, column=FIELDS[kind]["id"][0])
    rows, base = _check_cells(cur, decoded, header, cols)
    _split_dict(cur, kind, cols, ctx)
    if ctx.project_key:         # every record's project, as _norm_sql writes it
        projects = [ctx.project_key]
    else:
        projects = _require_projects(cur, decoded, f"({_norm_sql(kind, cols, facts, ctx, base, project_only=True)})")
    classes = kind == "bug" and len(projects) == 1
    if classes:
        _dict_classes(cur, projects[0])
    else:
        create_map_table(cur, projects)
        _create_canon_table(cur)
    norm = f"({_norm_sql(kind, cols, facts, ctx, base, classes=classes)})"
    clock.mark("ids_and_projects_check")
    _, date_idx = _needed(cols)
    date_cols = {f: _cell(cols[f], date_idx) for f in DATE_FIELDS if f in cols}
    points = kind == "story" and facts.get("points")
    hours = [h for h, field in (("original_txt", "estimate"), ("remaining_txt", "left"), ("spent_txt", "consumed"),
                                ("points_txt", "estimate"))
             if field in cols and (h != "original_txt" or not points) and (h != "points_txt" or points)]
    choice = _dates_and_issues(cur, ctx, rows, norm, "zt_cells", list(date_cols.values()), date_cols.get("created"),
                               date_cols.get("updated"), f"(rowid - {base})", list(date_cols), hours, classes)
    cur.execute("DROP TABLE IF EXISTS zt_cells")
    cur.execute("DROP TABLE IF EXISTS zt_dict")
    clock.mark("date_inference_and_stage_issues")
    warnings = []
    if choice.ambiguous:
        warnings.append(warning("date_order_ambiguous", assumed=choice.family))
    warnings += _report(cur, rows, header, cols, list(date_cols), hours)
    clock.mark("report_queries")
    _names_only_sprints(cur)
    staged = _finish(cur, Staged(source_format=source_format, rows=rows, warnings=warnings))
    clock.mark("staging_sprints_and_finish")
    return staged


def _needed(cols: dict[str, int]) -> tuple[list[int], set[int]]:
    """The columns to keep from the file (at least one), and which of them hold dates."""
    return (sorted(set(cols.values())) or [0]), {cols[f] for f in (*DATE_FIELDS, "activated") if f in cols}


def _profile_sql_log(cur) -> None:
    """PULSE_PROFILE_SQL=DIR: DuckDB's own query log to DIR (times the loader's statements for the benches)."""
    import os
    log_dir = os.environ.get("PULSE_PROFILE_SQL")
    if log_dir:
        cur.execute("CALL enable_logging('QueryLog', storage = 'file', storage_path = ?)", [log_dir])


def _csv_stage(kind: str):
    def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
        _profile_sql_log(cur)
        total, clock = ProfileClock(), ProfileClock()
        try:
            cols, facts = _columns(probe.header, kind)
            _read_cells(cur, decoded, probe, kind, *_needed(cols))
            clock.mark("read_csv_to_zt_cells")
            staged = _stage_table(cur, decoded, ctx, kind, probe.header, cols, facts, f"zentao-{kind}", clock)
        finally:
            _drop_work(cur)
        total.mark("stage_total")
        return staged
    return stage


def stage_xlsx(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    try:
        header = _read_xlsx(cur, decoded)
        kind = kind_of(header)
        if kind is None:
            raise IngestError("unknown_shape", decoded.file_name, seen=", ".join(h for h in header[:8] if h))
        cols, facts = _columns(header, kind)
        needed, date_idx = _needed(cols)
        # zt_csv comes from Arrow in sheet order; a projection keeps it (rowid order = sheet order).
        cur.execute(f"CREATE OR REPLACE TEMP TABLE zt_cells AS SELECT {', '.join(f'c{i}' for i in needed)} FROM zt_csv")
        cur.execute("DROP TABLE zt_csv")
        return _stage_table(cur, decoded, ctx, kind, header, cols, facts, "zentao-xlsx", ProfileClock())
    finally:
        _drop_work(cur)


def stage_json(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    found, _ = _items(probe.document)
    issues = [(k, o) for k, o in found if k != "execution"]
    executions = [o for k, o in found if k == "execution" and not o.get("deleted")]
    if not issues and not executions:
        raise IngestError("no_issues", decoded.file_name)
    try:
        _create_canon_table(cur)
        _load(cur, "zt_norm", [_json_row(n, k, o, ctx) for n, (k, o) in enumerate(issues)], NORM_SCHEMA)
        projects = _require_projects(cur, decoded)
        exec_rows = [{"rownum": n, "project_key": ctx.project_key or (f"ZT{_positive(o.get('project'))}"
                                                                      if _positive(o.get("project")) else None),
                      "name": _text(o.get("name")), "status": _text(o.get("status")),
                      "begin": _date(o.get("begin")), "end": _date(o.get("end")),
                      "real_end": _date(o.get("realEnd")), "closed": _date(o.get("closedDate"))}
                     for n, o in enumerate(executions)]
        if any(r["project_key"] is None for r in exec_rows):
            raise IngestError("zentao_project_required", decoded.file_name)
        _load(cur, "zt_exec", [r for r in exec_rows if r["name"]], SPRINT_SCHEMA)
        create_map_table(cur, sorted(set(projects) | {r["project_key"] for r in exec_rows}))
        _dates_and_issues(cur, ctx, len(issues))
        warnings = _report(cur, len(issues), None, None) if issues else []
        states = "CASE status " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SPRINT_STATES.items()) + " END"
        day_start = "timezone($tz, try_cast({} AS DATE)::TIMESTAMP)"
        day_end = "(timezone($tz, (try_cast({} AS DATE) + 1)::TIMESTAMP) - INTERVAL 1 MILLISECOND)"
        _execute(cur, f"""
            CREATE OR REPLACE TEMP TABLE stage_sprints AS
            SELECT project_key, name, state, start_at, end_at, completed_at FROM (
                SELECT project_key, name, {states} AS state, {day_start.format('"begin"')} AS start_at,
                       {day_end.format('"end"')} AS end_at,
                       CASE WHEN status = 'closed' THEN coalesce({_ts('closed', 'iso')}, {day_end.format('real_end')})
                       END AS completed_at, rownum
                FROM zt_exec
                UNION ALL   -- sprints named by the issues (API task lists may carry executionName)
                SELECT DISTINCT project_key, unnest(sprints), NULL, NULL::TIMESTAMPTZ, NULL::TIMESTAMPTZ,
                       NULL::TIMESTAMPTZ, -1
                FROM stage_issues)
            QUALIFY row_number() OVER (
                PARTITION BY project_key, name
                ORDER BY (start_at IS NOT NULL)::INT + (end_at IS NOT NULL)::INT + (state IS NOT NULL)::INT DESC,
                         rownum DESC) = 1""",
                 {"tz": ctx.source_tz})
        kept = cur.execute("SELECT count(*) FROM stage_sprints WHERE start_at IS NOT NULL OR end_at IS NOT NULL "
                           "OR state IS NOT NULL").fetchone()[0]
        named = sum(1 for r in exec_rows if r["name"])
        if kept < named:
            warnings.append(warning("duplicate_sprints", count=named - kept))
        staged = Staged(source_format="zentao-json", rows=len(issues) + len(executions), warnings=warnings)
        return _finish(cur, staged)
    finally:
        _drop_work(cur)


register(Format("zentao-bug", "csv", "ZenTao bug CSV export", "禅道 Bug CSV 导出", sniff_bug, _csv_stage("bug")))
register(Format("zentao-task", "csv", "ZenTao task CSV export", "禅道任务 CSV 导出", sniff_task, _csv_stage("task")))
register(Format("zentao-story", "csv", "ZenTao story (requirement) CSV export", "禅道需求 CSV 导出", sniff_story,
                _csv_stage("story")))
register(Format("zentao-xlsx", "xlsx", "ZenTao bug / task / story XLSX export", "禅道 Bug/任务/需求 XLSX 导出",
                sniff_xlsx, stage_xlsx))
register(Format("zentao-json", "json", "ZenTao REST API v1 JSON (bugs, tasks, stories, executions)",
                "禅道 REST API v1 JSON（Bug、任务、需求、执行）", sniff_json, stage_json))
