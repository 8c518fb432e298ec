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
    """SQL normalising a raw date text: trim, Chinese AM/PM and month markers (`08/9月/21 2:02 下午`).

    A text of printable ASCII words joined by single spaces (nearly every date a tracker writes) is already
    normal: it skips the replacements, which cost five times the check on a 1M-row file."""
    return (f"CASE WHEN regexp_full_match({expr}, '[!-~]+( [!-~]+)*') THEN {expr} ELSE "
            f"regexp_replace(replace(replace(replace(trim({expr}), '上午', 'AM'), '下午', 'PM'), '月', ''),"
            f" '\\s+', ' ', 'g') END")


def parse_sql(expr: str, family: str) -> str:
    """SQL turning a raw text into a naive TIMESTAMP with the chosen family (NULL when it does not parse)."""
    if family == "offset":
        return f"try_cast(try_cast(trim({expr}) AS TIMESTAMPTZ) AS TIMESTAMP)"
    fmts = ", ".join(f"'{f}'" for f in FAMILIES[family])
    return f"try_strptime({normalized(expr)}, [{fmts}])"


def _shape_of_format(fmt: str) -> int:
    """The shape (see shape_sql) every text this format parses has: a format's ':' and '/' are literals that
    no specifier consumes, and it ends in AM/PM (%p) or in a digit (every other specifier used here)."""
    return fmt.count(":") * 100 + fmt.count("/") * 10 + (0 if fmt.endswith("%p") else 1)


def shape_sql(norm: str) -> str:
    """SQL of a normalised text's shape: its ':' count * 100 + '/' count * 10 + (1 if its last non-space
    character is a digit). A format parses only texts of its own shape (_shape_of_format)."""
    return (f"((strlen({norm}) - strlen(replace({norm}, ':', ''))) * 100"
            f" + (strlen({norm}) - strlen(replace({norm}, '/', ''))) * 10"
            f" + CASE WHEN regexp_matches({norm}, '[0-9] *$') THEN 1 ELSE 0 END)")


def _sql_list(fmts: list[str]) -> str:
    return ", ".join(f"'{f}'" for f in fmts)


def parse_shaped_sql(norm: str, shape: str, family: str) -> str:
    """The same value as parse_sql(x, family) given norm = normalized(x) and shape = shape_sql(norm), both
    computed once (columns of a subquery): only the family's formats of the text's own shape are tried (in the
    family's order), so a typical value costs one strptime instead of failing through the whole list.
    tests/unit/test_bench_smoke.py checks the two agree on a spread of well- and ill-formed texts."""
    if family == "offset":
        return f"try_cast(try_cast(trim({norm}) AS TIMESTAMPTZ) AS TIMESTAMP)"
    groups: dict[int, list[str]] = {}
    for fmt in FAMILIES[family]:
        groups.setdefault(_shape_of_format(fmt), []).append(fmt)
    whens = " ".join(f"WHEN {shape} = {k} THEN try_strptime({norm}, [{_sql_list(fmts)}])"
                     for k, fmts in groups.items())
    return f"CASE {whens} END"


@dataclass
class DateChoice:
    family: str | None
    ambiguous: bool = False
    # True when only a sample voted (sample_vote): the caller must check that the family parses every value
    # of the file, and otherwise let every value vote (infer_family).
    sampled: bool = False


# How many leading records of a large file vote on its date family (sample_vote).
SAMPLE_ROWS = 4000


def _counts(cur, table: str, columns: list[str], families) -> tuple[int, dict[str, int]]:
    """Non-null values of `columns` in `table`, and how many of them each family parses (one scan; each value
    is normalised and shaped once for all families)."""
    values = " UNION ALL ".join(f"SELECT {c} AS v FROM {table} WHERE {c} IS NOT NULL" for c in columns)
    probes = ", ".join(f"count({parse_shaped_sql('n', 'k', f)}) AS {f}" for f in families)
    row = cur.execute(f"SELECT count(*) AS n, {probes} FROM (SELECT n, {shape_sql('n')} AS k FROM "
                      f"(SELECT {normalized('v')} AS n FROM ({values})))").fetchone()
    return row[0], dict(zip(families, row[1:]))


def infer_family(cur: duckdb.DuckDBPyConnection, table: str, columns: list[str],
                 created: str | None = None, updated: str | None = None) -> DateChoice:
    """Pick the family that parses the most values of `columns` in `table`; break D/M ties by chronology."""
    if not columns:
        return DateChoice(None)
    total, counts = _counts(cur, table, columns, list(FAMILIES))
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


def sample_vote(cur: duckdb.DuckDBPyConnection, sample: str, columns: list[str]) -> DateChoice | None:
    """The family a sample of a file's rows (table `sample`) clearly prefers, marked `sampled`; None when the
    sample cannot tell (no date parses, or a tie such as D/M vs M/D), and every value must vote.

    Why checking the family on the whole file afterwards is enough: if it parses every value, the families
    the full vote would tie at the top are those parsing every value; each of them parses the whole sample,
    so it was among the sample's winners, where it is alone. The full vote would have chosen it, unambiguous.
    """
    if not columns:
        return DateChoice(None)
    total, counts = _counts(cur, sample, columns, list(FAMILIES))
    best = max(counts.values()) if total else 0
    winners = [f for f, n in counts.items() if n == best]
    if best == 0 or len(winners) != 1:
        return None
    return DateChoice(winners[0], sampled=True)


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
