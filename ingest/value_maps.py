"""Default raw -> canonical mappings (METRICS.md G3 status category, G5 resolution class, issue type).

Keys are compared lower-cased and trimmed. A project's own rows in the `value_maps` table (or rows for
project '*') win over these defaults; a raw value found in neither is reported as unmapped, never guessed.
"""
from __future__ import annotations

import duckdb

STATUS = {
    "todo": ["to do", "todo", "open", "backlog", "new", "reopened", "selected for development", "ready",
             "ready for development", "待办", "新建", "打开", "重新打开", "未开始", "激活", "active", "wait",
             "未完成", "planned", "proposed", "approved", "opened"],
    "in_progress": ["in progress", "in review", "in development", "in testing", "code review", "review",
                    "testing", "in qa", "qa", "dev active", "dev done", "analysis active", "analysis done",
                    "test", "doing", "处理中", "进行中", "开发中", "测试中", "已指派", "started", "active development",
                    "in test", "committed", "ready for test", "ready for review", "blocked", "on hold", "pending",
                    "feedback", "反馈", "in dev", "verification"],
    "done": ["done", "closed", "resolved", "complete", "completed", "finished", "released", "cancelled",
             "canceled", "rejected", "won't do", "完成", "已完成", "已关闭", "已解决", "已取消", "关闭", "解决",
             "已发布", "removed", "已拒绝"],
}
# Jira's own "Status Category" column (Cloud >= 2021), English or localized.
STATUS_CATEGORY = {
    "todo": ["to do", "new", "待办", "新建", "要做"],
    "in_progress": ["in progress", "indeterminate", "进行中", "处理中"],
    "done": ["done", "complete", "完成", "已完成"],
}
RESOLUTION = {
    "delivered": ["fixed", "done", "resolved", "complete", "completed", "已解决", "已修复", "完成", "已完成",
                  "fixed and verified", "closed", "已关闭", "verified", "acceptance tests pass", "work finished"],
    "valid_not_fixed": ["won't fix", "wont fix", "won't do", "wontfix", "willnotfix", "postponed", "later",
                        "deferred", "不予解决", "延期处理", "不修复", "not_planned", "not planned", "cut",
                        "abandoned"],
    "invalid": ["duplicate", "cannot reproduce", "can't reproduce", "not a bug", "works as designed",
                "incomplete", "invalid", "declined", "obsolete", "bydesign", "notrepro", "external", "tostory",
                "重复", "重复bug", "设计如此", "无法重现", "外部原因", "转为需求", "转为研发需求", "不是缺陷",
                "rejected", "已拒绝", "removed", "removed from the backlog", "as designed", "moved"],
}
UNRESOLVED = ["unresolved", "未解决", "none"]
TYPE = {
    "story": ["story", "user story", "new feature", "feature", "improvement", "enhancement", "故事",
              "用户故事", "新功能", "改进", "product backlog item"],
    "task": ["task", "任务", "technical task", "spike", "chore"],
    "bug": ["bug", "defect", "缺陷", "故障", "problem"],
    "subtask": ["sub-task", "subtask", "子任务", "sub-bug", "sub task"],
    "epic": ["epic", "史诗", "史诗故事"],
    "requirement": ["requirement", "需求", "研发需求", "软件需求", "用户需求"],
    "change": ["change request", "change", "变更", "变更请求", "需求变更", "cr"],
}


def _rows(kind: str, table: dict[str, list[str]]):
    return [(kind, raw, canonical) for canonical, raws in table.items() for raw in raws]


def create_map_table(cur: duckdb.DuckDBPyConnection, project_keys: list[str],
                     tracker_defaults: dict[str, dict[str, list[str]]] | None = None) -> None:
    """Temp table `_maps(project_key, kind, raw_value, canonical)`: one winner per raw value and project.

    Precedence: the project's own value_maps rows, then rows for project '*', then the adapter's
    `tracker_defaults` ({kind: {canonical: [raw, ...]}}: where one tracker's word means something else, e.g.
    Azure DevOps "Active" is in progress while a ZenTao bug's "active" is to do), then the defaults above.
    Adapters LEFT JOIN it on (project_key, kind, lower(trim(raw))).
    """
    rows = (_rows("status", STATUS) + _rows("status_category", STATUS_CATEGORY)
            + _rows("resolution", RESOLUTION) + _rows("type", TYPE))
    tracker = {(kind, raw.strip().lower()): canonical for kind, table in (tracker_defaults or {}).items()
               for canonical, raws in table.items() for raw in raws}
    rows = [(k, r, tracker.pop((k, r), c)) for k, r, c in rows] + [(k, r, c) for (k, r), c in tracker.items()]
    cur.execute("CREATE OR REPLACE TEMP TABLE _defaults (kind VARCHAR, raw_value VARCHAR, canonical VARCHAR)")
    cur.executemany("INSERT INTO _defaults VALUES (?, ?, ?)", rows)
    cur.execute("CREATE OR REPLACE TEMP TABLE _projects (project_key VARCHAR)")
    cur.executemany("INSERT INTO _projects VALUES (?)", [[k] for k in project_keys])
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE _maps AS
        SELECT project_key, kind, raw_value, arg_min(canonical, priority) AS canonical FROM (
            SELECT p.project_key, vm.kind, lower(trim(vm.raw_value)) AS raw_value, vm.canonical,
                   CASE WHEN vm.project_key = '*' THEN 2 ELSE 1 END AS priority
            FROM value_maps vm JOIN _projects p ON vm.project_key IN (p.project_key, '*')
            UNION ALL
            SELECT p.project_key, d.kind, d.raw_value, d.canonical, 3 FROM _defaults d CROSS JOIN _projects p
        ) GROUP BY ALL""")


def join_map(alias: str, kind: str, raw_sql: str, project_sql: str) -> str:
    """A LEFT JOIN clause bringing `alias.canonical` for one raw column."""
    return (f"LEFT JOIN _maps {alias} ON {alias}.project_key = {project_sql} AND {alias}.kind = '{kind}'"
            f" AND {alias}.raw_value = lower(trim({raw_sql}))")


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _map_literal(entries: dict) -> str:
    """A DuckDB MAP literal from a dict of str -> str (or str -> nested dict)."""
    items = ", ".join(f"{_sql_str(k)}: {_map_literal(v) if isinstance(v, dict) else _sql_str(v)}"
                      for k, v in entries.items())
    return f"MAP {{{items}}}"


_DEFAULTS = {"status": STATUS, "status_category": STATUS_CATEGORY, "resolution": RESOLUTION, "type": TYPE}


def lookup_sql(cur: duckdb.DuckDBPyConnection, kind: str, raw_sql: str, project_sql: str) -> str:
    """An expression giving the canonical value of one raw column, as `join_map` would, but without a join:
    MAP literals looked up per row. A join does not keep the rows in file order, a projection does, so an
    adapter can stage straight from read_csv in one pass (and a MAP lookup costs about what the join did).

    Same precedence as create_map_table: the row's project's own value_maps rows, then project '*', then the
    defaults; keys compared lower-cased and trimmed (by DuckDB, as the join does). As in the join, several
    rows of one precedence level that differ only in case or spaces leave the winner among them unspecified.
    """
    generic = {raw: canonical for canonical, raws in _DEFAULTS[kind].items() for raw in raws}
    own: dict[str, dict[str, str]] = {}
    for project, raw, canonical in cur.execute(
            "SELECT project_key, lower(trim(raw_value)), canonical FROM value_maps WHERE kind = ? "
            "ORDER BY project_key, raw_value", [kind]).fetchall():
        if project == "*":
            generic[raw] = canonical
        else:
            own.setdefault(project, {}).setdefault(raw, canonical)
    key = f"lower(trim({raw_sql}))"
    found = f"{_map_literal(generic)}[{key}]"
    if own:
        found = f"coalesce({_map_literal(own)}[{project_sql}][{key}], {found})"
    return found
