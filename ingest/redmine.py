"""Redmine issues CSV export (English or Chinese column captions) onto the canonical model.

Reads FORMATS.md section 6 and METRICS.md G3-G5. No real export exists (FORMATS.md 9): the shape is from
Redmine's source (`query_to_csv`, locale files), tested on our own fixtures. The first header cell is `#`;
the separator is `,` (en, zh) or `;` (de, fr: then decimals use a comma, `1,50` = 1.5 h); UTF-8 with BOM, or
the locale's encoding (GB18030 for zh, decoded before reading).

* issue_key `#<id>` (Redmine ids are global); project = --project, else the Project / 项目 column.
* Tracker / 跟踪 -> type (Bug/缺陷 -> bug, Feature/功能 -> story, Support/支持 -> task, others reported).
* Status / 状态 -> status_category: New/新建 -> to do, In Progress/进行中 and Feedback/反馈 -> in progress,
  Resolved/已解决, Closed/已关闭, Rejected/已拒绝 -> done. Redmine has no resolution field: a done issue's
  status is its resolution (Resolved/Closed -> delivered, Rejected -> invalid).
* Estimated time / 预期时间, Estimated remaining time, Spent time / 耗时 -> hours (`1.50`, `1,50`, or `1:30` in
  Redmine's h:mm time-span format). Target version / 目标版本 -> fix_versions (and sprints when its name says
  Sprint / Iteration / 迭代 / 冲刺, as Redmine agile teams name versions). Category / 类别 -> components.
  Parent task / 父任务 -> parent_key `#<id>`. Assignee / 指派给 -> assignee, Author / 作者 -> reporter. Custom
  fields by name: Severity / 严重程度, Story points / 故事点, Found in / 发现阶段.
* Dates follow the user's locale (`03/12/2024 03:05 PM`, `2024-03-12 15:05`, `12.03.2024 15:05`): one family
  per file, read in the source time zone. done_at = Closed / 结束日期 (else Updated, reported).
* Reopens: `Closed` keeps the last closing time when an issue is reopened (FORMATS.md 6), so an open issue
  with a Closed date has been reopened at least once (reopen_count 1, a lower bound); a custom field counting
  reopens (`被重新打开次数`, `Reopen count`, `Times reopened`) gives the exact number. Otherwise unknown (NULL).
"""
from __future__ import annotations

import duckdb

from ingest import dates
from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, warning
from ingest.gitlab import (SPRINT_NAME_RE, bad_values, execute, finish_issues, header_index, hours_sql, infer_dates,
                           literal, names_only_sprints, number_sql, read_raw, report)
from ingest.value_maps import create_map_table
from store.load import Staged

SINGLE = {
    "id": ["#"], "project": ["project", "项目"], "tracker": ["tracker", "跟踪"],
    "parent": ["parent task", "父任务"], "status": ["status", "状态"], "priority": ["priority", "优先级"],
    "subject": ["subject", "主题"], "author": ["author", "作者"], "assignee": ["assignee", "assigned to", "指派给"],
    "updated": ["updated", "更新于"], "category": ["category", "类别"], "version": ["target version", "目标版本"],
    "start": ["start date", "开始日期"], "due": ["due date", "计划完成日期"],
    "estimated": ["estimated time", "预期时间"], "remaining": ["estimated remaining time", "预计剩余时间"],
    "spent": ["spent time", "耗时"], "created": ["created", "创建于"], "closed": ["closed", "结束日期"],
    "severity": ["severity", "严重程度", "严重级别", "严重性"], "story_points": ["story points", "故事点"],
    "found_phase": ["found in", "phase found", "发现阶段"],
    "reopens": ["被重新打开次数", "重新打开次数", "reopen count", "reopened count", "times reopened"],
}
SECONDARY = {"tracker", "跟踪", "subject", "主题", "status", "状态"}
DATE_FIELDS = ("created", "updated", "closed", "due")

TRACKER_DEFAULTS = {
    "type": {"task": ["support", "支持"], "story": ["功能"]},
    "status": {"in_progress": ["feedback", "反馈"], "done": ["rejected", "已拒绝"]},
}


def sniff(p: Probe) -> bool:
    header = [h.strip().lower() for h in p.header or []]
    return bool(header) and header[0] == "#" and bool(SECONDARY & set(header))


def stage(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    header = probe.header
    col_i = header_index(header, SINGLE)
    rows = read_raw(cur, decoded, probe, sorted(set(col_i.values())))
    comma = probe.delimiter == ";"

    def col(field: str) -> str:
        return f"c{col_i[field]}" if field in col_i else "NULL"

    key = col("id")
    missing = cur.execute(f"SELECT min(rowid) - (SELECT min(rowid) FROM raw) FROM raw WHERE {key} IS NULL").fetchone()[0]
    if missing is not None:
        raise IngestError("empty_key", decoded.file_name, row=missing + 2, column="#")
    bad = cur.execute(f"SELECT rowid - (SELECT min(rowid) FROM raw), {key} FROM raw WHERE NOT regexp_full_match(trim({key}), '#?[0-9]+') "
                      "ORDER BY rowid LIMIT 1").fetchall()
    if bad:
        raise IngestError("bad_issue_id", decoded.file_name, row=bad[0][0] + 2, column="#", value=bad[0][1])
    project_sql = literal(ctx.project_key) if ctx.project_key else col("project")
    cur.execute(f"CREATE OR REPLACE TEMP VIEW raw_p AS SELECT rowid - (SELECT min(rowid) FROM raw) AS rownum, {project_sql} AS project_key, * FROM raw")
    no_project = cur.execute("SELECT min(rownum) FROM raw_p WHERE project_key IS NULL").fetchone()[0]
    if no_project is not None:
        raise IngestError("project_unknown", decoded.file_name, row=no_project + 2,
                          column=header[col_i["project"]] if "project" in col_i else None)
    projects = [r[0] for r in cur.execute("SELECT DISTINCT project_key FROM raw_p ORDER BY 1").fetchall()]
    create_map_table(cur, projects, TRACKER_DEFAULTS)
    warnings: list[dict] = []

    date_cols = {f: col(f) for f in DATE_FIELDS if f in col_i}
    family, w = infer_dates(cur, "raw_p", date_cols, col("created") if "created" in col_i else None,
                            col("updated") if "updated" in col_i else None)
    warnings += w

    def ts(field: str) -> str:
        if field not in col_i or family is None:
            return "NULL::TIMESTAMPTZ"
        return f"timezone($tz, {dates.parse_sql(col(field), family)})"

    def hours(field: str) -> str:
        return hours_sql(col(field), unit="hours", decimal_comma=comma) if field in col_i else "NULL::DOUBLE"

    version = col("version")
    reopens = (f"coalesce(try_cast({col('reopens')} AS INTEGER), "
               f"CASE WHEN coalesce(m.canonical, 'todo') <> 'done' AND {col('closed')} IS NOT NULL THEN 1 END)")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE rm_base AS
        SELECT r.rownum, r.project_key, '#' || ltrim(trim({key}), '#') AS issue_key, {col('subject')} AS title,
               {col('tracker')} AS type_raw, {col('status')} AS status_raw, NULL::VARCHAR AS status_alt,
               CASE WHEN m.canonical = 'done' THEN {col('status')} END AS resolution_raw,
               {col('priority')} AS priority, {col('severity')} AS severity,
               {ts('created')} AS created_at, {ts('updated')} AS updated_at, {ts('closed')} AS done_candidate,
               NULL::TIMESTAMPTZ AS first_done_candidate, {ts('due')} AS due_at,
               {number_sql(col('story_points'), comma)} AS story_points,
               {hours('estimated')} AS original_estimate_h, {hours('remaining')} AS remaining_estimate_h,
               {hours('spent')} AS time_spent_h, {col('assignee')} AS assignee, {col('author')} AS reporter,
               CASE WHEN {col('category')} IS NULL THEN []::VARCHAR[] ELSE [{col('category')}] END AS components,
               []::VARCHAR[] AS labels,
               CASE WHEN regexp_matches(coalesce({version}, ''), '{SPRINT_NAME_RE}') THEN [{version}]
                    ELSE []::VARCHAR[] END AS sprints,
               CASE WHEN {version} IS NULL THEN []::VARCHAR[] ELSE [{version}] END AS fix_versions,
               CASE WHEN {col('parent')} IS NOT NULL THEN '#' || regexp_extract({col('parent')}, '([0-9]+)', 1) END
                   AS parent_key,
               {col('found_phase')} AS found_phase, {reopens} AS reopen_count
        FROM raw_p r
        LEFT JOIN _maps m ON m.project_key = r.project_key AND m.kind = 'status'
             AND m.raw_value = lower(trim({col('status')}))""", {"tz": ctx.source_tz})
    for field in date_cols:
        parsed = dates.parse_sql(col(field), family) if family else "NULL"
        warnings += bad_values(cur, "raw_p", col(field), parsed, header[col_i[field]])
    for field in ("estimated", "remaining", "spent"):
        if field in col_i:
            warnings += bad_values(cur, "raw_p", col(field), hours(field), header[col_i[field]], "unparsable_numbers")
    versions = [r[0] for r in cur.execute(
        f"SELECT DISTINCT {version} FROM raw_p WHERE regexp_matches(coalesce({version}, ''), '{SPRINT_NAME_RE}') "
        "ORDER BY 1").fetchall()] if "version" in col_i else []
    if versions:
        warnings.append(warning("milestones_as_sprints", count=len(versions), names=versions[:10]))
    if "parent" in col_i:
        n = cur.execute("SELECT count(*) FROM rm_base b WHERE parent_key IS NOT NULL AND NOT EXISTS "
                        "(SELECT 1 FROM rm_base p WHERE p.issue_key = b.parent_key)").fetchone()[0]
        if n:
            warnings.append(warning("parent_not_in_file", count=n))
    finish_issues(cur, "rm_base")
    warnings += report(cur, rows)
    has_sprints = names_only_sprints(cur)
    cur.execute("DROP TABLE IF EXISTS rm_base")
    cur.execute("DROP VIEW IF EXISTS raw_p")
    return Staged(source_format="redmine-csv", rows=rows, warnings=warnings, tracker="redmine",
                  has_sprints=has_sprints)


register(Format("redmine-csv", "csv", "Redmine issues CSV export", "Redmine 问题 CSV 导出", sniff, stage))
