"""The working calendar (METRICS.md G2): overrides > chinese-calendar > holidays > Mon-Fri."""
from __future__ import annotations

from datetime import date

from metrics.calendar import count_workdays, is_workday, working_days


def rows(frame):
    return [tuple(r) for r in frame.itertuples(index=False)]


def test_columns(cur):
    frame = working_days(cur, date(2024, 6, 7), date(2024, 6, 7))
    assert list(frame.columns) == ["day", "is_workday", "source", "note"]


def test_cn_2024_holidays_and_make_up_saturdays(cur):
    assert rows(working_days(cur, date(2024, 2, 3), date(2024, 2, 4))) == [
        (date(2024, 2, 3), False, "chinese-calendar", None),
        (date(2024, 2, 4), True, "chinese-calendar", "make-up workday (Spring Festival)"),
    ]
    assert rows(working_days(cur, date(2024, 2, 18), date(2024, 2, 18))) == [
        (date(2024, 2, 18), True, "chinese-calendar", "make-up workday (Spring Festival)"),
    ]
    assert rows(working_days(cur, date(2024, 6, 7), date(2024, 6, 11))) == [
        (date(2024, 6, 7), True, "chinese-calendar", None),
        (date(2024, 6, 8), False, "chinese-calendar", None),
        (date(2024, 6, 9), False, "chinese-calendar", None),
        (date(2024, 6, 10), False, "chinese-calendar", "Dragon Boat Festival"),
        (date(2024, 6, 11), True, "chinese-calendar", None),
    ]
    # The §1.1 sprint: 06-03..06-14 has 9 working days; the Spring Festival fortnight has its Saturday.
    assert count_workdays(cur, date(2024, 6, 3), date(2024, 6, 14)) == 9
    assert count_workdays(cur, date(2024, 2, 10), date(2024, 2, 18)) == 1   # 02-10..17 off, 02-18 worked


def test_2027_does_not_crash_and_uses_the_holidays_package(cur):
    # chinese-calendar 1.11.0 raises for 2027; the holidays package knows China's 2027 holidays.
    assert rows(working_days(cur, date(2027, 2, 5), date(2027, 2, 8))) == [
        (date(2027, 2, 5), False, "holidays", "Chinese New Year's Eve"),
        (date(2027, 2, 6), False, "holidays", "Chinese New Year (Spring Festival)"),
        (date(2027, 2, 7), False, "holidays", "Chinese New Year (Spring Festival)"),
        (date(2027, 2, 8), False, "holidays", "Chinese New Year (Spring Festival)"),
    ]
    assert rows(working_days(cur, date(2027, 1, 4), date(2027, 1, 4))) == [
        (date(2027, 1, 4), True, "holidays", None)]


def test_dates_no_package_knows_fall_back_without_error(cur):
    far = working_days(cur, date(1899, 12, 29), date(1899, 12, 31))  # Fri, Sat, Sun
    assert list(far["is_workday"]) == [True, False, False]
    assert set(far["source"]) <= {"holidays", "weekday"}
    assert rows(working_days(cur, date(2024, 6, 10), date(2024, 6, 10), calendar="XX")) == [
        (date(2024, 6, 10), True, "weekday", None)]   # unknown country code: Mon-Fri


def test_calendar_none_is_monday_to_friday(cur):
    assert rows(working_days(cur, date(2024, 2, 4), date(2024, 2, 4), calendar="none")) == [
        (date(2024, 2, 4), False, "weekday", None)]
    assert rows(working_days(cur, date(2024, 6, 10), date(2024, 6, 10), calendar="none")) == [
        (date(2024, 6, 10), True, "weekday", None)]


def test_other_country_uses_holidays(cur):
    assert rows(working_days(cur, date(2024, 7, 4), date(2024, 7, 4), calendar="US")) == [
        (date(2024, 7, 4), False, "holidays", "Independence Day")]


def test_override_rows_win(cur):
    cur.execute("INSERT INTO calendar VALUES (?, ?, ?), (?, ?, ?)",
                [date(2024, 6, 10), True, "PMO: release weekend", date(2027, 2, 6), True, "调休 2027"])
    assert rows(working_days(cur, date(2024, 6, 9), date(2024, 6, 10))) == [
        (date(2024, 6, 9), False, "chinese-calendar", None),
        (date(2024, 6, 10), True, "override", "PMO: release weekend"),
    ]
    assert is_workday(cur, date(2027, 2, 6))
    # Overrides apply under calendar 'none' too.
    assert rows(working_days(cur, date(2027, 2, 6), date(2027, 2, 6), calendar="none")) == [
        (date(2027, 2, 6), True, "override", "调休 2027")]
    assert count_workdays(cur, date(2024, 6, 3), date(2024, 6, 14)) == 10


def test_empty_range(cur):
    assert len(working_days(cur, date(2024, 6, 10), date(2024, 6, 9))) == 0
    assert count_workdays(cur, date(2024, 6, 10), date(2024, 6, 9)) == 0
