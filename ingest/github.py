"""GitHub issues (REST JSON and `gh issue list --json`) and issue events / timeline JSON.

Reads FORMATS.md section 4 and 8, METRICS.md G3-G5 and 5a.

* `github-json`: GET /repos/{o}/{r}/issues (snake_case: `number`, `html_url`, `state` open/closed,
  `state_reason`, `closed_at`, `labels[].name`, `milestone.title`, `user.login`, `assignees[].login`, `type.name`
  where issue types are on) or `gh issue list --json ...` output (camelCase: `number`, `url`, `state`
  OPEN/CLOSED, `stateReason`, `createdAt`, `closedAt`, `labels[{name}]`, `author{login}`, `assignees[{login}]`,
  `milestone{title}`, `issueType{name}`). Pull requests are skipped (`pull_request` with a link, or a `/pull/`
  URL; the 2012-era API sent `pull_request` with all-null links on every plain issue, so a bare key is not
  enough) and counted in `pull_requests_skipped`. issue_key `#<number>`; project --project, else `owner/repo`
  from the URLs. Labels fill type/priority/severity/status/sprints/components as in ingest/gitlab.py; an
  issue type object wins over labels. Status: `closed` -> done, `open` -> to do (or a status label).
  Resolution of a closed issue: `state_reason` (completed -> delivered, not_planned -> valid_not_fixed,
  duplicate -> invalid), except that a plain "completed" (or none) gives way to a label saying `duplicate`,
  `invalid` or `wontfix` (the way such issues were closed before GitHub had close reasons). milestone ->
  fix_versions; closed_at -> done_at.
* `github-events-json`: GET /repos/{o}/{r}/issues/events, /issues/{n}/events or /issues/{n}/timeline (a
  list, pages as a list of lists, JSON Lines; objects that are not events, such as a repository object, are
  ignored). `closed` and `reopened` become changes: `status` (open <-> closed), `status_category`
  (todo -> done on close, done -> todo on reopen, through the same value maps as the issues) and
  `resolution_class` where a close carries `state_reason`. A timeline's events name no issue: its number is
  read from the comments' `issue_url` (refused when the file does not say).

Reopen counts and import order. The history lives in the `changes` table; reopen_count, first_done_at and
done_at are derived from it in SQL, the same way by both formats, so the issues and their events may be
imported in either order and any number of times:
  * an issue's reopen count is known once the history holds a close or reopen of it (assumed: an events
    export that holds a close holds the reopens before it -- a cut-off page of older events would undercount);
    it is then the number of done -> not-done changes, never below what the issue row already said. Otherwise it stays unknown (NULL) -- except an open issue whose
    state_reason is `reopened`, which has been reopened at least once (1, a lower bound; FORMATS.md 4);
  * first_done_at is the earliest close in the history (or closed_at), done_at the issue's closed_at.
An events import stages issue rows for every issue its events touch: the project's current row, or, when
newer (by updated_at) or absent, the issue object the repository events API embeds in each event (the same
REST shape as `github-json`). Each row is then given the history's reopen count and first close; a close or
reopen later than the row's updated_at that contradicts it (events newer than the issues export) also moves
its status, done_at (the last close) and resolution (the close's state_reason) (G4). Events whose issue is neither imported nor embedded (timelines) keep their
changes for a later issues import, reported as `events_for_unknown_issues`; a file with no issue row at all
to update is refused (`github_events_no_issues`).
"""
from __future__ import annotations

import re
from typing import Any

import duckdb
import pyarrow as pa

from ingest.detect import Format, Probe, register
from ingest.errors import IngestError, warning
from ingest.gitlab import (execute, finish_issues, iso_ts, label_facets, load_rows, report,
                           top_level_items as items_of)
from ingest.value_maps import create_map_table
from store.load import ISSUE_COLUMNS, Staged

STATE_EVENTS = ("closed", "reopened")
_REPO_API = re.compile(r"/repos/([^/]+/[^/]+?)(?:/|$)")
_REPO_HTML = re.compile(r"^https?://[^/]+/([^/]+/[^/]+)/(?:issues|pull)/[0-9]+")
_ISSUE_URL = re.compile(r"/issues/([0-9]+)(?:[#?].*)?$")


# --- Shapes ------------------------------------------------------------------------------------------

def _is_rest_issue(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("number"), int) and obj.get("state") in ("open", "closed")
            and ("html_url" in obj or "repository_url" in obj) and "event" not in obj)


def _is_gh_issue(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("number"), int) and obj.get("state") in ("OPEN", "CLOSED")
            and any(k in obj for k in ("createdAt", "url", "title", "stateReason", "closedAt")))


def _is_issue(obj: Any) -> bool:
    return _is_rest_issue(obj) or _is_gh_issue(obj)


def is_pull_request(obj: dict) -> bool:
    pr = obj.get("pull_request")
    if isinstance(pr, dict) and any(v for v in pr.values()):
        return True
    return "/pull/" in str(obj.get("html_url") or obj.get("url") or "") or obj.get("isPullRequest") is True


def _is_event(obj: Any) -> bool:
    return (isinstance(obj, dict) and isinstance(obj.get("event"), str) and "created_at" in obj
            and "number" not in obj)


def sniff_issues(p: Probe) -> bool:
    items = items_of(p.document)[:200]
    return bool(items) and all(_is_issue(x) for x in items)


def sniff_events(p: Probe) -> bool:
    items = [x for x in items_of(p.document) if isinstance(x, dict)]
    events = [x for x in items if _is_event(x)]
    if not events or any(_is_issue(x) for x in items):
        return False
    # GitHub's own marks: an embedded issue with a number, an API URL, or an actor login.
    return any(isinstance(e.get("issue"), dict) and "number" in e["issue"]
               or "/repos/" in str(e.get("url") or "")
               or (isinstance(e.get("actor"), dict) and "login" in e["actor"]) for e in events)


# --- Flattening ----------------------------------------------------------------------------------------

def _text(v: Any) -> str | None:
    if v is None:
        return None
    s = str(v).strip()
    return s or None


def _login(v: Any) -> str | None:
    if isinstance(v, dict):
        return _text(v.get("login")) or _text(v.get("name"))
    return _text(v)


def _name(v: Any) -> str | None:
    if isinstance(v, dict):
        return _text(v.get("name")) or _text(v.get("title"))
    return _text(v)


def repo_of(obj: dict) -> str | None:
    """`owner/repo` from an issue's or event's URLs."""
    for k in ("repository_url", "url", "html_url", "issue_url"):
        v = str(obj.get(k) or "")
        m = _REPO_API.search(v) if "/repos/" in v else _REPO_HTML.match(v)
        if m:
            return m.group(1)
    return None


ISSUE_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("project_key", pa.string()), ("issue_key", pa.string()), ("title", pa.string()),
    ("state", pa.string()), ("state_reason", pa.string()), ("type_name", pa.string()),
    ("labels", pa.list_(pa.string())), ("milestone", pa.string()), ("created", pa.string()),
    ("updated", pa.string()), ("closed", pa.string()), ("assignee", pa.string()), ("author", pa.string()),
])


def _issue_row(rownum: int, it: dict, project_key: str) -> dict:
    labels = []
    for lab in it.get("labels") or []:
        name = _name(lab)
        if name and name not in labels:
            labels.append(name)
    assignees = [a for a in (_login(a) for a in it.get("assignees") or []) if a]
    reason = _text(it.get("state_reason") if "state_reason" in it else it.get("stateReason"))
    return {
        "rownum": rownum, "project_key": project_key, "issue_key": f"#{it['number']}", "title": _text(it.get("title")),
        "state": str(it.get("state")).lower(), "state_reason": reason.lower() if reason else None,
        "type_name": _name(it.get("type") if isinstance(it.get("type"), dict) else it.get("issueType")),
        "labels": labels, "milestone": _name(it.get("milestone")),
        "created": _text(it.get("created_at") or it.get("createdAt")),
        "updated": _text(it.get("updated_at") or it.get("updatedAt")),
        "closed": _text(it.get("closed_at") or it.get("closedAt")),
        "assignee": ", ".join(assignees) or _login(it.get("assignee")),
        "author": _login(it.get("user") or it.get("author")),
    }


# --- SQL shared by both formats ---------------------------------------------------------------------------

def _stage_issue_rows(cur, table: str, params: dict) -> list[dict]:
    """stage_issues (with the report's flag columns) from flattened issue rows in `table` (needs `_maps`)."""
    label_facets(cur, table)
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE gh_base AS
        SELECT g.rownum, g.project_key, g.issue_key, g.title,
               coalesce(g.type_name, l.type_scoped, l.type_label) AS type_raw,
               CASE WHEN g.state = 'closed' THEN 'closed' ELSE coalesce(l.status_label, 'open') END AS status_raw,
               CASE WHEN g.state <> 'closed' THEN l.status_label_alt END AS status_alt,
               CASE WHEN g.state <> 'closed' THEN NULL
                    WHEN g.state_reason IS NOT NULL AND g.state_reason <> 'completed' THEN g.state_reason
                    ELSE coalesce(l.resolution_label, g.state_reason) END AS resolution_raw,
               l.priority_label AS priority, l.severity_label AS severity,
               {iso_ts('g.created')} AS created_at, {iso_ts('g.updated')} AS updated_at,
               {iso_ts('g.closed')} AS done_candidate, NULL::TIMESTAMPTZ AS first_done_candidate,
               NULL::TIMESTAMPTZ AS due_at, NULL::DOUBLE AS story_points, NULL::DOUBLE AS original_estimate_h,
               NULL::DOUBLE AS remaining_estimate_h, NULL::DOUBLE AS time_spent_h, g.assignee, g.author AS reporter,
               l.component_labels AS components, g.labels, l.sprint_labels AS sprints,
               CASE WHEN g.milestone IS NULL THEN []::VARCHAR[] ELSE [g.milestone] END AS fix_versions,
               NULL::VARCHAR AS parent_key, NULL::VARCHAR AS found_phase,
               CASE WHEN g.state = 'open' AND g.state_reason = 'reopened' THEN 1 END AS reopen_count
        FROM {table} g JOIN lbl l USING (rownum)""", params)
    warnings = []
    for raw, column in (("created", "created_at"), ("updated", "updated_at"), ("closed", "closed_at")):
        n, keys, example = execute(
            cur, f"SELECT count(*), list(issue_key ORDER BY rownum)[1:10], arg_min({raw}, rownum) FROM {table} "
                 f"WHERE {raw} IS NOT NULL AND ({iso_ts(raw)}) IS NULL", params).fetchone()
        if n:
            warnings.append(warning("unparsable_dates", column=column, count=n, rows=keys, example=example))
    finish_issues(cur, "gh_base")
    for t in ("gh_base", "lbl"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return warnings


def _history(cur, projects: list[str], with_stage: bool) -> None:
    """Temp table gh_hist: per issue, what the status-category history (the changes table, plus this file's
    stage_changes) says: reopens, first/last close, whether the history is known, the latest state change."""
    cur.execute("CREATE OR REPLACE TEMP TABLE gh_projects (project_key VARCHAR)")
    cur.executemany("INSERT INTO gh_projects VALUES (?)", [[p] for p in projects])
    stage = ("UNION SELECT project_key, issue_key, changed_at, from_value, to_value FROM stage_changes "
             "WHERE field = 'status_category'") if with_stage else ""
    cur.execute(f"""
        CREATE OR REPLACE TEMP TABLE gh_hist AS
        SELECT project_key, issue_key,
               count(*) FILTER (WHERE from_value = 'done' AND to_value IS DISTINCT FROM 'done') AS reopens,
               min(changed_at) FILTER (WHERE to_value = 'done') AS first_done,
               max(changed_at) FILTER (WHERE to_value = 'done') AS last_done,
               max(changed_at) FILTER (WHERE from_value = 'done' AND to_value IS DISTINCT FROM 'done') AS last_reopen,
               max(changed_at) AS last_at, arg_max(to_value, changed_at) AS last_to, NULL::VARCHAR AS last_reason
        FROM (SELECT project_key, issue_key, changed_at, from_value, to_value FROM changes
              WHERE field = 'status_category' AND project_key IN (SELECT project_key FROM gh_projects)
              {stage})
        WHERE from_value = 'done' OR to_value = 'done'
        GROUP BY ALL""")


def _apply_history(cur, table: str) -> None:
    """Fold gh_hist into issue rows: reopen_count and first_done_at always; status, done_at and resolution
    when the history's last state change is newer than the row and disagrees with it (G4); done_at when the
    row is done but was reopened and closed again after its close."""
    cur.execute(f"""
        UPDATE {table} t SET
            reopen_count = greatest(h.reopens, coalesce(t.reopen_count, 0))::INTEGER,
            first_done_at = least(t.first_done_at, h.first_done)
        FROM gh_hist h WHERE h.project_key = t.project_key AND h.issue_key = t.issue_key""")
    cur.execute(f"""
        UPDATE {table} t SET
            status_category = h.last_to,
            status_raw = CASE WHEN h.last_to = t.status_category THEN t.status_raw
                              WHEN h.last_to = 'done' THEN 'closed' ELSE 'open' END,
            done_at = CASE WHEN h.last_to = 'done' THEN greatest(t.done_at, h.last_done) END,
            first_done_at = least(t.first_done_at, h.first_done),
            resolution_raw = CASE WHEN h.last_to = 'done' THEN h.last_reason END,
            resolution_class = CASE WHEN h.last_to = 'done' AND h.last_reason IS NOT NULL THEN coalesce(
                (SELECT canonical FROM _maps m WHERE m.project_key = t.project_key AND m.kind = 'resolution'
                 AND m.raw_value = h.last_reason), 'delivered') END,
            updated_at = h.last_at
        FROM gh_hist h WHERE h.project_key = t.project_key AND h.issue_key = t.issue_key
          AND h.last_at > coalesce(t.updated_at, '-infinity'::TIMESTAMPTZ) AND h.last_to IS NOT NULL
          AND h.last_to IS DISTINCT FROM t.status_category""")
    # Still done, but reopened and closed again after the row's close: done_at is the last close (G4).
    cur.execute(f"""
        UPDATE {table} t SET done_at = h.last_done, updated_at = greatest(t.updated_at, h.last_done)
        FROM gh_hist h WHERE h.project_key = t.project_key AND h.issue_key = t.issue_key
          AND t.status_category = 'done' AND h.last_to = 'done' AND h.last_reopen > t.done_at""")


# --- github-json -------------------------------------------------------------------------------------------

def stage_issues(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    items = items_of(probe.document)
    issues = [x for x in items if _is_issue(x) and not is_pull_request(x)]
    skipped = len(items) - len(issues)
    if not issues:
        raise IngestError("no_issues", decoded.file_name)
    rows = []
    for n, it in enumerate(issues):
        pk = ctx.project_key or repo_of(it)
        if not pk:
            raise IngestError("project_unknown", decoded.file_name, row=n + 1)
        rows.append(_issue_row(n, it, pk))
    load_rows(cur, "gh_raw", rows, ISSUE_SCHEMA)
    projects = sorted({r["project_key"] for r in rows})
    create_map_table(cur, projects)
    params = {"tz": ctx.source_tz}
    warnings: list[dict] = []
    if skipped:
        warnings.append(warning("pull_requests_skipped", count=skipped))
    warnings += _stage_issue_rows(cur, "gh_raw", params)
    _history(cur, projects, with_stage=False)
    _apply_history(cur, "stage_issues")
    warnings += report(cur, len(issues), coverage=False)
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE stage_sprints AS
        SELECT DISTINCT project_key, unnest(sprints) AS name, NULL::VARCHAR AS state, NULL::TIMESTAMPTZ AS start_at,
               NULL::TIMESTAMPTZ AS end_at, NULL::TIMESTAMPTZ AS completed_at FROM stage_issues""")
    has_sprints = cur.execute("SELECT count(*) FROM stage_sprints").fetchone()[0] > 0
    for t in ("gh_raw", "gh_hist", "gh_projects"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return Staged(source_format="github-json", rows=len(items), warnings=warnings, tracker="github",
                  has_sprints=has_sprints)


# --- github-events-json ------------------------------------------------------------------------------------

EVENT_SCHEMA = pa.schema([
    ("rownum", pa.int64()), ("issue_key", pa.string()), ("event", pa.string()), ("created", pa.string()),
    ("actor", pa.string()), ("state_reason", pa.string()),
])


def _timeline_number(items: list[dict]) -> int | None:
    numbers = set()
    for x in items:
        m = _ISSUE_URL.search(str(x.get("issue_url") or ""))
        if m:
            numbers.add(int(m.group(1)))
    return numbers.pop() if len(numbers) == 1 else None


def stage_events(cur: duckdb.DuckDBPyConnection, decoded, probe: Probe, ctx) -> Staged:
    items = [x for x in items_of(probe.document) if isinstance(x, dict)]
    events = [x for x in items if _is_event(x)]
    timeline_no = None
    if any(not isinstance(e.get("issue"), dict) for e in events):
        timeline_no = _timeline_number(events)
        if timeline_no is None:
            raise IngestError("github_timeline_issue_unknown", decoded.file_name)
    project = ctx.project_key
    if not project:
        for e in events:
            project = repo_of(e["issue"]) if isinstance(e.get("issue"), dict) else None
            project = project or repo_of(e)
            if project:
                break
    if not project:
        raise IngestError("project_unknown", decoded.file_name)

    event_rows, embedded, prs = [], {}, 0
    for n, e in enumerate(events):
        issue = e.get("issue") if isinstance(e.get("issue"), dict) else None
        if issue is not None:
            if is_pull_request(issue):
                prs += 1
                continue
            number = issue.get("number")
            if not isinstance(number, int):
                continue
            if issue.get("state") in ("open", "closed"):          # a full issue object, not a bare reference
                prev = embedded.get(number)
                if prev is None or str(issue.get("updated_at") or "") >= str(prev.get("updated_at") or ""):
                    embedded[number] = issue
        else:
            number = timeline_no
        reason = _text(e.get("state_reason"))
        event_rows.append({"rownum": n, "issue_key": f"#{number}", "event": e["event"],
                           "created": _text(e.get("created_at")), "actor": _login(e.get("actor")),
                           "state_reason": reason.lower() if reason else None})
    create_map_table(cur, [project])
    params = {"tz": ctx.source_tz, "p": project}
    warnings: list[dict] = []
    if prs:
        warnings.append(warning("pull_requests_skipped", count=prs))

    # Changes: each close / reopen, in time order per issue.
    load_rows(cur, "gh_ev", event_rows, EVENT_SCHEMA)
    cat = ("coalesce((SELECT canonical FROM _maps WHERE project_key = $p AND kind = 'status' AND raw_value = {v}), "
           "'todo')")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE gh_state AS
        SELECT issue_key, {iso_ts('created')} AS changed_at, event, actor, rownum, state_reason,
               CASE WHEN event = 'closed' AND state_reason IS NOT NULL
                    THEN coalesce((SELECT canonical FROM _maps WHERE project_key = $p AND kind = 'resolution'
                                   AND raw_value = state_reason), 'delivered') END AS class_after
        FROM gh_ev WHERE event IN {STATE_EVENTS}""", params)
    bad = cur.execute("SELECT count(*), list(issue_key ORDER BY rownum)[1:10] FROM gh_state "
                      "WHERE changed_at IS NULL").fetchone()
    if bad[0]:
        warnings.append(warning("unparsable_dates", column="created_at", count=bad[0], rows=bad[1],
                                example=cur.execute("SELECT any_value(created) FROM gh_ev g JOIN gh_state s "
                                                    "USING (rownum) WHERE s.changed_at IS NULL").fetchone()[0]))
    closed, opened = cat.format(v="'closed'"), cat.format(v="'open'")
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_changes AS
        WITH s AS (
            SELECT *, lag(class_after) OVER (PARTITION BY issue_key ORDER BY changed_at, rownum) AS class_before
            FROM gh_state WHERE changed_at IS NOT NULL
        )
        SELECT $p AS project_key, issue_key, changed_at, 'status' AS field,
               CASE event WHEN 'closed' THEN 'open' ELSE 'closed' END AS from_value,
               CASE event WHEN 'closed' THEN 'closed' ELSE 'open' END AS to_value, actor AS author
        FROM s
        UNION ALL
        SELECT $p, issue_key, changed_at, 'status_category',
               CASE event WHEN 'closed' THEN {opened} ELSE {closed} END,
               CASE event WHEN 'closed' THEN {closed} ELSE {opened} END, actor
        FROM s
        UNION ALL
        SELECT $p, issue_key, changed_at, 'resolution_class', class_before, class_after, actor
        FROM s WHERE class_before IS DISTINCT FROM class_after""", params)
    cur.execute("DELETE FROM stage_changes WHERE field = 'status_category' AND from_value = to_value")

    # Issue rows: the embedded REST issue objects, staged exactly as github-json stages them ...
    load_rows(cur, "gh_raw", [_issue_row(n, it, project) for n, it in enumerate(embedded.values())], ISSUE_SCHEMA)
    warnings += _stage_issue_rows(cur, "gh_raw", params)
    cur.execute("ALTER TABLE stage_issues RENAME TO gh_embedded")
    # ... against the project's current rows: the newer (by updated_at) wins, the current row on a tie.
    cols = ", ".join(ISSUE_COLUMNS)
    touched = "(SELECT DISTINCT issue_key FROM gh_ev)"
    execute(cur, f"""
        CREATE OR REPLACE TEMP TABLE stage_issues AS
        SELECT {cols} FROM (
            SELECT {cols}, 0 AS pref FROM issues WHERE project_key = $p AND issue_key IN {touched}
            UNION ALL
            SELECT {cols}, 1 FROM gh_embedded)
        QUALIFY row_number() OVER (PARTITION BY issue_key
                                   ORDER BY updated_at DESC NULLS LAST, pref) = 1""", {"p": project})
    _history(cur, [project], with_stage=True)
    cur.execute("""
        UPDATE gh_hist h SET last_reason = r.state_reason
        FROM (SELECT issue_key, arg_max(state_reason, (changed_at, rownum)) AS state_reason FROM gh_state
              WHERE event = 'closed' AND changed_at IS NOT NULL GROUP BY 1) r
        WHERE r.issue_key = h.issue_key""")
    _apply_history(cur, "stage_issues")
    if cur.execute("SELECT count(*) FROM stage_issues").fetchone()[0] == 0:
        raise IngestError("github_events_no_issues", decoded.file_name, project=project,
                          count=cur.execute(f"SELECT count(*) FROM {touched}").fetchone()[0])
    unknown = [r[0] for r in cur.execute(
        f"SELECT issue_key FROM {touched} WHERE issue_key NOT IN (SELECT issue_key FROM stage_issues) "
        "ORDER BY try_cast(substr(issue_key, 2) AS INTEGER)").fetchall()]
    if unknown:
        warnings.append(warning("events_for_unknown_issues", count=len(unknown), issues=unknown[:10]))
    for kind in ("status", "resolution"):
        values = cur.execute(f"SELECT {kind}_raw, count(*) FROM gh_embedded WHERE {kind}_unmapped "
                             f"AND {kind}_raw IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        if values:
            warnings.append(warning(f"unmapped_{kind}", values=[v[0] for v in values],
                                    count=sum(v[1] for v in values)))
    has_changes = cur.execute("SELECT count(*) FROM stage_changes").fetchone()[0] > 0
    for t in ("gh_ev", "gh_state", "gh_raw", "gh_embedded", "gh_hist", "gh_projects"):
        cur.execute(f"DROP TABLE IF EXISTS {t}")
    return Staged(source_format="github-events-json", rows=len(events), warnings=warnings, tracker="github",
                  has_changes=has_changes)


register(Format("github-json", "json", "GitHub issues JSON (REST or gh issue list --json)",
                "GitHub 议题 JSON（REST 或 gh issue list --json）", sniff_issues, stage_issues))
register(Format("github-events-json", "json", "GitHub issue events / timeline JSON", "GitHub 议题事件/时间线 JSON",
                sniff_events, stage_events))
