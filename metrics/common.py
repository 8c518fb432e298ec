"""Small helpers shared by the metric modules.

- project settings (``projects`` row with defaults) and named settings (``settings`` table, project first,
  then the global ``'*'`` row);
- months and days in the project time zone (METRICS.md G1): a month 'YYYY-MM' is the UTC interval
  [first local midnight, next month's first local midnight); a daily point is the state at 23:59:59.999
  local;
- the default month: the month (local) of the project's latest activity, max(created_at, updated_at,
  done_at) over its issues;
- the issue-type groups of G6 and the one severity mapping (free text -> rank 1..4, 1 = most severe);
- a metric option that falls back to a named setting (burndown_mode, reopen_scope).
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_CALENDAR = "CN"

# G6: the issue types that carry points and count as issues. Sub-tasks and epics never do.
STANDARD_TYPES = ("story", "task", "bug", "requirement", "change", "other")

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def project_settings(cur, project_key: str) -> dict:
    """{'timezone', 'calendar', 'size_kloc', 'size_fp'} for a project, defaults filled in.

    A project with no ``projects`` row still gets the defaults (an import may precede the PMO's setup).
    """
    row = cur.execute(
        "SELECT timezone, calendar, size_kloc, size_fp FROM projects WHERE project_key = ?", [project_key]
    ).fetchone()
    tz, cal, kloc, fp = row if row else (None, None, None, None)
    return {
        "timezone": tz or DEFAULT_TZ,
        "calendar": cal or DEFAULT_CALENDAR,
        "size_kloc": kloc,
        "size_fp": fp,
    }


def setting(cur, project_key: str, name: str, default=None):
    """The raw text of a named setting: the project's row, else the global ('*') one, else `default`."""
    row = cur.execute(
        "SELECT value FROM settings WHERE name = ? AND project_key IN (?, '*')"
        " ORDER BY project_key = '*' LIMIT 1",
        [name, project_key],
    ).fetchone()
    return default if row is None or row[0] is None else row[0]


def setting_json(cur, project_key: str, name: str, default=None):
    """A named setting decoded from JSON; `default` when absent or not valid JSON."""
    raw = setting(cur, project_key, name)
    if raw is None:
        return default
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return default


def mode_or_setting(cur, project_key: str, value: str | None, name: str, allowed: tuple[str, ...]):
    """(choice, warnings): the explicit `value`, else the named setting, else allowed[0].

    A setting outside `allowed` falls back to the default with {"code": "setting_invalid", ...}: a typo
    typed on the settings page must not take a chart down.
    """
    if value is not None:
        return value, []
    raw = setting(cur, project_key, name)
    if raw is None:
        return allowed[0], []
    choice = raw.strip().strip('"')   # tolerate a JSON-quoted string
    if choice in allowed:
        return choice, []
    return allowed[0], [{"code": "setting_invalid", "name": name, "value": raw}]


def parse_month(month: str) -> tuple[int, int]:
    m = _MONTH.match(str(month).strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"month must be 'YYYY-MM', got {month!r}")
    return int(m.group(1)), int(m.group(2))


def local_midnight(day: date, tz: str) -> datetime:
    """00:00 local on `day`, as a UTC datetime."""
    return datetime.combine(day, time(0), ZoneInfo(tz)).astimezone(timezone.utc)


def month_bounds(month: str, tz: str = DEFAULT_TZ) -> tuple[datetime, datetime]:
    """[start, end) of a local month as UTC datetimes."""
    year, mon = parse_month(month)
    first = date(year, mon, 1)
    following = date(year + (mon == 12), mon % 12 + 1, 1)
    return local_midnight(first, tz), local_midnight(following, tz)


def end_of_day(day: date, tz: str = DEFAULT_TZ) -> datetime:
    """23:59:59.999 local on `day`, as a UTC datetime (the instant a daily point describes, G1)."""
    return local_midnight(day + timedelta(days=1), tz) - timedelta(milliseconds=1)


def local_date(instant: datetime, tz: str = DEFAULT_TZ) -> date:
    if instant.tzinfo is None:  # DuckDB hands back TIMESTAMPTZ aware; a naive value is UTC by contract
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(ZoneInfo(tz)).date()


def default_month(cur, project_key: str, tz: str = DEFAULT_TZ) -> str | None:
    """'YYYY-MM' of the project's latest activity in its time zone; None when it has no dated issue."""
    row = cur.execute(
        "SELECT strftime(timezone(?, max(greatest(created_at, updated_at, done_at))), '%Y-%m')"
        " FROM issues WHERE project_key = ?",
        [tz, project_key],
    ).fetchone()
    return row[0] if row else None


def resolve_month(cur, project_key: str, month: str | None, tz: str) -> str | None:
    """The month asked for (validated), else the default month."""
    if month:
        parse_month(month)
        return str(month).strip()
    return default_month(cur, project_key, tz)


def ratio(num, den):
    """num/den, None when either is missing or den is 0 (G8: never 0, never infinity)."""
    if num is None or den is None or den == 0:
        return None
    return num / den


# --- Severity -> rank 1..4 (1 = most severe), or NULL when the text means nothing we know. ---------------
# A digit wins: ZenTao's 1..4, "S1".."S4", "Sev 2", "1-致命" all take it. Otherwise the first word decides:
#   1  blocker, critical, fatal, urgent, 致命
#   2  major, serious, high, 严重
#   3  minor, normal, general, moderate, medium, 一般
#   4  trivial, low, cosmetic, suggestion, 轻微, 建议 (a suggestion is the least severe report)
# Jira's five-step Blocker/Critical/Major/Minor/Trivial is folded onto four ranks by pairing Blocker with
# Critical, so Major/Minor/Trivial keep the ranks they have in the four-step Critical/Major/Minor/Trivial.
SEVERITY_WORDS = {
    "blocker": 1, "critical": 1, "fatal": 1, "urgent": 1, "致命": 1,
    "major": 2, "serious": 2, "high": 2, "严重": 2,
    "minor": 3, "normal": 3, "general": 3, "moderate": 3, "medium": 3, "一般": 3,
    "trivial": 4, "low": 4, "cosmetic": 4, "suggestion": 4, "轻微": 4, "建议": 4,
}


def severity_rank_sql(column: str = "severity") -> str:
    """A DuckDB expression giving the rank of `column`; needs the named parameters of `severity_params()`.

    `column` is a column name written by the caller's code, never user input.
    """
    s = f"lower(trim({column}))"
    return (
        f"coalesce(TRY_CAST(regexp_extract({s}, '^(?:s|sev|severity)?[\\s\\-_.:#]*([1-4])(?:\\D|$)', 1)"
        f" AS INTEGER), $sev_ranks[list_position($sev_words, regexp_extract({s}, '[a-z\\p{{Han}}]+'))])"
    )


def severity_params() -> dict:
    return {"sev_words": list(SEVERITY_WORDS), "sev_ranks": list(SEVERITY_WORDS.values())}
