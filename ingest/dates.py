"""Infer one date format per file, then parse every date column with it in DuckDB SQL.

Trackers write dates in the exporting user's pattern (Jira: `dd/MMM/yy h:mm AM`), and a spreadsheet
re-save turns them into M/D/YYYY or D/M/YYYY or YYYY/M/D. Day-vs-month order is decided once for the whole
file from all its values (a day above 12 settles it; else the order that keeps created <= updated and
nothing in the future), never row by row (which would silently mix 03/04 and 04/03).
"""
from __future__ import annotations

from dataclasses import dataclass

import duckdb

_HM = ["%H:%M", "%H:%M:%S", "%I:%M %p", "%I:%M:%S %p"]


def _with_times(day: str) -> list[str]:
    return [f"{day} {t}" for t in _HM] + [day]


# Family name -> strptime formats (DuckDB syntax). Order within a family does not matter.
FAMILIES: dict[str, list[str]] = {
    "jira": _with_times("%d/%b/%y") + _with_times("%d/%b/%Y") + _with_times("%d-%b-%Y") + _with_times("%d-%b-%y"),
    "iso": _with_times("%Y-%m-%d") + ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f"],
    "ymd_slash": _with_times("%Y/%m/%d"),
    "mdy": _with_times("%m/%d/%Y") + _with_times("%m/%d/%y"),
    "dmy": _with_times("%d/%m/%Y") + _with_times("%d/%m/%y"),
    "dmy_dot": _with_times("%d.%m.%Y") + _with_times("%d.%m.%y"),
}


def normalized(expr: str) -> str:
    """SQL normalising a raw date text: trim, Chinese AM/PM and month markers (`08/9月/21 2:02 下午`)."""
    return (f"regexp_replace(replace(replace(replace(trim({expr}), '上午', 'AM'), '下午', 'PM'), '月', ''),"
            f" '\\s+', ' ', 'g')")


def parse_sql(expr: str, family: str) -> str:
    """SQL turning a raw text into a naive TIMESTAMP with the chosen family (NULL when it does not parse)."""
    if family == "offset":
        return f"try_cast(try_cast(trim({expr}) AS TIMESTAMPTZ) AS TIMESTAMP)"
    fmts = ", ".join(f"'{f}'" for f in FAMILIES[family])
    return f"try_strptime({normalized(expr)}, [{fmts}])"


@dataclass
class DateChoice:
    family: str | None
    ambiguous: bool = False


def infer_family(cur: duckdb.DuckDBPyConnection, table: str, columns: list[str],
                 created: str | None = None, updated: str | None = None) -> DateChoice:
    """Pick the family that parses the most values of `columns` in `table`; break D/M ties by chronology."""
    if not columns:
        return DateChoice(None)
    values = " UNION ALL ".join(f"SELECT {c} AS v FROM {table} WHERE {c} IS NOT NULL" for c in columns)
    probes = ", ".join(f"count({parse_sql('v', f)}) AS {f}" for f in FAMILIES)
    row = cur.execute(f"SELECT count(*) AS n, {probes} FROM ({values})").fetchone()
    total, counts = row[0], dict(zip(FAMILIES, row[1:]))
    if total == 0:
        return DateChoice(None)
    best = max(counts.values())
    if best == 0:
        return DateChoice(None)
    winners = [f for f, n in counts.items() if n == best]
    if len(winners) == 1:
        return DateChoice(winners[0])
    if set(winners) >= {"mdy", "dmy"}:
        return DateChoice(_chronology_tiebreak(cur, table, created, updated), ambiguous=True)
    return DateChoice(winners[0])


def _chronology_tiebreak(cur, table: str, created: str | None, updated: str | None) -> str:
    """Both orders parse everything: prefer the one that breaks created <= updated and 'not in the future'
    least often; a full tie falls back to month/day, the order Excel writes in most locales, with a warning."""
    if not created:
        return "mdy"
    scores = {}
    for fam in ("mdy", "dmy"):
        c = parse_sql(created, fam)
        u = parse_sql(updated, fam) if updated else "NULL"
        scores[fam] = cur.execute(
            f"SELECT count(*) FILTER (WHERE {c} > {u}) + count(*) FILTER (WHERE {c} > now()::TIMESTAMP) "
            f"FROM {table}").fetchone()[0]
    return "dmy" if scores["dmy"] < scores["mdy"] else "mdy"
