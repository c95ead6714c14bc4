"""The greetings calendar: fixed and lunar dates, leap months, dates set by the prefecture."""

from __future__ import annotations

from datetime import date

import pytest

from bot.care.occasions import (
    OCCASIONS,
    PRIORITY,
    calendar,
    date_of,
    merged_into,
    occasions_on,
    parse_keys,
    parse_set_dates,
)
from bot.config import ConfigError

ALL = tuple(OCCASIONS)


@pytest.mark.parametrize(
    ("year", "spring", "torch", "mid_autumn", "double_ninth"),
    [
        (2026, "2026-02-17", "2026-08-06", "2026-09-25", "2026-10-18"),
        (2027, "2027-02-06", "2027-07-27", "2027-09-15", "2027-10-08"),
        # 2023 has a leap second month: the festivals after it still land right.
        (2023, "2023-01-22", "2023-08-10", "2023-09-29", "2023-10-23"),
        # 2025 has a leap sixth month: the Torch Festival is in the first one.
        (2025, "2025-01-29", "2025-07-18", "2025-10-06", "2025-10-29"),
        # 2020 has a leap fourth month; Mid-Autumn fell on National Day.
        (2020, "2020-01-25", "2020-08-13", "2020-10-01", "2020-10-25"),
        (1900, "1900-01-31", "1900-07-20", "1900-09-08", "1900-10-31"),
        (2100, "2100-02-09", "2100-07-30", "2100-09-18", "2100-10-12"),
    ],
)
def test_lunar_occasions_fall_on_the_right_day(year, spring, torch, mid_autumn, double_ninth):
    assert date_of("spring-festival", year).isoformat() == spring
    assert date_of("torch-festival", year).isoformat() == torch
    assert date_of("mid-autumn", year).isoformat() == mid_autumn
    assert date_of("double-ninth", year).isoformat() == double_ninth


def test_the_leap_sixth_month_of_2025_has_no_second_torch_festival():
    # Lunar leap 6/24 of 2025 is 2025-08-17: nothing to greet that day.
    assert occasions_on(date(2025, 8, 17), ALL) == []
    assert [o.key for o in occasions_on(date(2025, 7, 18), ALL)] == ["torch-festival"]


@pytest.mark.parametrize(
    ("key", "month_day"),
    [
        ("new-year", "01-01"),
        ("army-day", "08-01"),
        ("victory-day", "09-03"),
        ("martyrs-day", "09-30"),
        ("national-day", "10-01"),
    ],
)
def test_fixed_occasions(key, month_day):
    for year in (2024, 2027, 2099):
        assert date_of(key, year).isoformat() == f"{year}-{month_day}"


def test_two_occasions_on_one_day_both_count():
    on = occasions_on(date(2020, 10, 1), ALL)
    assert {o.key for o in on} == {"national-day", "mid-autumn"}
    assert on[0].key == "national-day"  # the higher priority first


def test_yi_new_year_is_skipped_with_a_note_until_set():
    days, notes = calendar(2027, ALL)
    assert "yi-new-year" not in [o.key for _, o in days]
    assert len(notes) == 1 and "彝历新年" in notes[0] and "set-date" in notes[0]
    days, notes = calendar(2027, ALL, {("yi-new-year", 2027): date(2027, 11, 20)})
    assert (date(2027, 11, 20), OCCASIONS["yi-new-year"]) in days and notes == []
    assert [d for d, _ in days] == sorted(d for d, _ in days)


def test_only_active_occasions_are_in_the_calendar():
    days, _ = calendar(2027, parse_keys("army-day,spring-festival"))
    assert [(d.isoformat(), o.name) for d, o in days] == [
        ("2027-02-06", "春节"),
        ("2027-08-01", "建军节"),
    ]


def test_settings_parsing():
    assert parse_keys("") == ALL == parse_keys("all")
    assert parse_keys("none") == ()
    with pytest.raises(ValueError, match="labour-day"):
        parse_keys("army-day,labour-day")
    assert parse_set_dates("2026-11-20, 2027-11-21") == {
        2026: date(2026, 11, 20),
        2027: date(2027, 11, 21),
    }
    with pytest.raises(ValueError):
        parse_set_dates("2026-11-20,2026-11-22")


def test_a_dropped_martyrs_day_is_named_in_the_national_day_greeting():
    active = tuple(k for k in ALL if k != "martyrs-day")
    assert [o.name for o in merged_into("national-day", 2027, active)] == ["烈士纪念日"]
    # Mid-Autumn 2027 is 09-15, two weeks early: not merged even when inactive.
    active = tuple(k for k in active if k != "mid-autumn")
    assert [o.name for o in merged_into("national-day", 2027, active)] == ["烈士纪念日"]
    assert [o.name for o in merged_into("national-day", 2025, active)] == ["烈士纪念日", "中秋"]
    assert merged_into("national-day", 2027, ALL) == []


def test_every_occasion_has_a_priority():
    assert sorted(PRIORITY) == sorted(OCCASIONS)


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"GREETING_OCCASIONS": "army-day,qingming"}, "GREETING_OCCASIONS"),
        ({"GREETING_TIME": "9am"}, "GREETING_TIME"),
        ({"GREETING_TIME": "24:00"}, "GREETING_TIME"),
        ({"YI_NEW_YEAR": "2026-13-01"}, "YI_NEW_YEAR"),
    ],
)
def test_bad_greeting_settings_stop_the_start(make_app, changes, named):
    with pytest.raises(ConfigError, match=named):
        make_app(**changes)
