"""Named settings with defaults (datasette's SETTINGS): one table of what can be tuned, each documented.

Values live in the `settings` table, per project or for every project ('*'); a project's own row wins.
tests/unit/test_docs.py fails when a setting here is not described in README.md.
"""
from __future__ import annotations

import json
from collections import namedtuple

Setting = namedtuple("Setting", ("name", "default", "help"))

SETTINGS = (
    Setting("burndown_mode", "jira", "jira: an issue resolved as invalid in a sprint burns down (Jira parity); "
            "strict: it is a scope removal (METRICS.md 1.1)."),
    Setting("reopen_scope", "bugs", "bugs: reopen rate over valid bugs; all: over every standard issue (5a)."),
    Setting("module_size_kloc", "{}", "JSON object module -> KLOC, for defect density per module (3)."),
    Setting("dre_window_days", "90", "Days after a release in which production defects count as leaked (4); "
            "DRE is provisional until they have passed."),
    Setting("requirement_baseline_date", "", "YYYY-MM-DD requirement baseline for the change rate / stability "
            "index (5c); empty = the latest creation time among the project's first import."),
    Setting("max_upload_mb", "200", "Uploads larger than this many MB are refused with a clear message."),
    Setting("project_name_zh", "", "The project's display name in Chinese (else projects.name)."),
    Setting("project_name_en", "", "The project's display name in English (else projects.name)."),
    Setting("evm_baseline_date", "", "EVM baseline date YYYY-MM-DD: the issues created by the end of that day "
            "are the BAC items, at their estimates of then; empty: the project's first import (7)."),
    Setting("ev_rule", "0/100", "How baseline items earn value: 0/100, 50/50, hours_progress (ZenTao: "
            "estimate x consumed / (consumed + left)) or agile (AgileEVM, story points and sprints) (7)."),
    Setting("planned_sprints", "", "Number of sprints planned for the release, for the agile EV rule's PV; "
            "empty: the number of sprints known (7)."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(cur, name: str, project_key: str = "*"):
    """The setting's value for a project: its own row, else the global row, else the default."""
    row = cur.execute(
        "SELECT value FROM settings WHERE name = ? AND project_key IN (?, '*') "
        "ORDER BY project_key = '*' LIMIT 1", [name, project_key]).fetchone()
    return row[0] if row else _BY_NAME[name].default


def get_json(cur, name: str, project_key: str = "*"):
    return json.loads(get(cur, name, project_key) or "null")


def put(cur, name: str, value, project_key: str = "*") -> None:
    if name not in _BY_NAME:
        raise KeyError(f"unknown setting {name!r}")
    if not isinstance(value, str):
        value = json.dumps(value, ensure_ascii=False)
    cur.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, ?)", [project_key, name, value])
