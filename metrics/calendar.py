"""The working calendar (METRICS.md G2; DESIGN.md "Choices already made").

A day is a working day according to the first layer that knows it:

1. ``override``         a row in the ``calendar`` table (the PMO's own entry always wins);
2. ``chinese-calendar`` for calendar "CN", in the years the package knows (2004-2026 in 1.11.0): statutory
                        holidays *and* 调休 make-up workdays (e.g. Saturday 2024-02-04 is a workday);
3. ``holidays``         the ``holidays`` package for the calendar's country code ("CN" -> China): it lists
                        holidays but no make-up workdays, so a make-up Saturday stays a rest day here;
4. ``weekday``          Monday-Friday.

``calendar == "none"`` skips layers 2 and 3 (Mon-Fri plus overrides). Both packages raise for what they do
not know (chinese-calendar: a year outside its table; holidays: an unknown country): that is caught and
the next layer answers, so no date ever makes this module fail.
"""
from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import pandas as pd

SOURCES = ("override", "chinese-calendar", "holidays", "weekday")


def _norm_code(calendar: str | None) -> str:
    code = (calendar or "CN").strip()
    return "none" if code.lower() == "none" else code.upper()


def _chinese_calendar(day: date) -> tuple[bool, str | None] | None:
    """(is_workday, note) from chinese-calendar, or None where it does not know the year."""
    try:
        import chinese_calendar
        is_workday = chinese_calendar.is_workday(day)
        _, name = chinese_calendar.get_holiday_detail(day)
    except (NotImplementedError, ImportError, ValueError):
        return None
    if is_workday and day.weekday() >= 5:
        # 调休: a weekend day worked to bridge a holiday; name the holiday it pays for.
        return True, f"make-up workday ({name})" if name else "make-up workday"
    return is_workday, name


@lru_cache(maxsize=256)
def _holiday_table(country: str, year: int) -> dict | None:
    try:
        import holidays
        table = holidays.country_holidays(country, years=year)
        return dict(table)
    except Exception:  # unknown country code, or a year the package refuses: fall through to Mon-Fri
        return None


def _holidays_pkg(day: date, country: str) -> tuple[bool, str | None] | None:
    table = _holiday_table(country, day.year)
    if not table:
        # An empty year means the package has no rules for it; "weekday" says that more honestly.
        return None
    name = table.get(day)
    if name is not None:
        return False, name
    return day.weekday() < 5, None


def _package_day(day: date, code: str) -> tuple[bool, str, str | None]:
    if code != "none":
        if code == "CN":
            got = _chinese_calendar(day)
            if got is not None:
                return got[0], "chinese-calendar", got[1]
        got = _holidays_pkg(day, code)
        if got is not None:
            return got[0], "holidays", got[1]
    return day.weekday() < 5, "weekday", None


def working_days(cur, start: date, end: date, calendar: str = "CN") -> pd.DataFrame:
    """One row per day in [start, end] (both inclusive): day, is_workday, source, note.

    An empty frame (same columns) when end < start.
    """
    code = _norm_code(calendar)
    overrides = {
        row[0]: (bool(row[1]), row[2])
        for row in cur.execute(
            "SELECT day, is_workday, note FROM calendar WHERE day BETWEEN ? AND ?", [start, end]
        ).fetchall()
    }
    rows = []
    day = start
    while day <= end:
        if day in overrides:
            is_workday, note = overrides[day]
            rows.append((day, is_workday, "override", note))
        else:
            is_workday, source, note = _package_day(day, code)
            rows.append((day, is_workday, source, note))
        day += timedelta(days=1)
    days, flags, sources, notes = zip(*rows) if rows else ((), (), (), ())
    return pd.DataFrame({
        "day": pd.Series(days, dtype=object),
        "is_workday": pd.Series(flags, dtype=bool),
        "source": pd.Series(sources, dtype=object),
        # object, so a missing note stays None (a string column would turn it into NaN)
        "note": pd.Series(notes, dtype=object),
    })


def count_workdays(cur, start: date, end: date, calendar: str = "CN") -> int:
    """Working days in [start, end], both inclusive (0 when end < start)."""
    if end < start:
        return 0
    return int(working_days(cur, start, end, calendar)["is_workday"].sum())


def is_workday(cur, day: date, calendar: str = "CN") -> bool:
    return bool(working_days(cur, day, day, calendar)["is_workday"].iloc[0])
