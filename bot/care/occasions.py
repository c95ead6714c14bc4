"""The greetings calendar: which occasions there are, and on which day each falls in a year.

Lunar dates come from borax (1900–2100), never from a table. A lunar occasion
is always the ordinary month's day (leap=0): in a year with a leap sixth month
(2025) the Torch Festival is lunar 6/24 of the first sixth month only.
彝历新年 is decided by the prefecture each year, so its date comes from
settings (YI_NEW_YEAR) or an OccasionDate row; without one it is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from borax.calendars.lunardate import LunarDate


@dataclass(frozen=True)
class Occasion:
    """One occasion: a stable key, its Chinese name and how its date is found."""

    key: str
    name: str
    month: int = 0
    day: int = 0
    lunar: bool = False

    @property
    def set_each_year(self) -> bool:
        """True when the prefecture sets the date each year (no month/day rule)."""
        return not self.month


OCCASIONS: dict[str, Occasion] = {
    o.key: o
    for o in (
        Occasion("new-year", "元旦", 1, 1),
        Occasion("spring-festival", "春节", 1, 1, lunar=True),
        Occasion("torch-festival", "火把节", 6, 24, lunar=True),
        Occasion("army-day", "建军节", 8, 1),
        Occasion("victory-day", "抗战胜利纪念日", 9, 3),
        Occasion("martyrs-day", "烈士纪念日", 9, 30),
        Occasion("national-day", "国庆节", 10, 1),
        Occasion("mid-autumn", "中秋", 8, 15, lunar=True),
        Occasion("double-ninth", "重阳", 9, 9, lunar=True),
        Occasion("yi-new-year", "彝历新年"),
    )
}

# Which greeting to keep when a month has more than the mass quota, most important first:
# 建军节 and 春节 are the bureau's own days of condolence visits; 国庆 and 烈士纪念日
# next; then Liangshan's own festivals; the rest are the first to go.
PRIORITY = (
    "army-day",
    "spring-festival",
    "national-day",
    "martyrs-day",
    "yi-new-year",
    "torch-festival",
    "mid-autumn",
    "double-ninth",
    "victory-day",
    "new-year",
)

# (absorbed, into, most days apart): one greeting can name both occasions.
# 烈士纪念日 is always the eve of 国庆; 中秋 often falls in or just before the
# National Day week (2025-10-06, 2026-09-25).
MERGES = (
    ("martyrs-day", "national-day", 1),
    ("mid-autumn", "national-day", 7),
)

FIRST_YEAR, LAST_YEAR = 1900, 2100
# Dates set by hand, by (occasion key, year).
SetDates = dict[tuple[str, int], date]


def parse_keys(setting: str) -> tuple[str, ...]:
    """GREETING_OCCASIONS: comma-separated keys; empty or "all" means all, "none" none."""
    if not isinstance(setting, str):  # already parsed (an app built from a loaded config)
        setting = ",".join(setting)
    wanted = [k.strip() for k in (setting or "").split(",") if k.strip()]
    if not wanted or wanted == ["all"]:
        return tuple(OCCASIONS)
    if wanted == ["none"]:
        return ()
    unknown = [k for k in wanted if k not in OCCASIONS]
    if unknown:
        raise ValueError(f"unknown occasion {', '.join(unknown)} (known: {', '.join(OCCASIONS)})")
    return tuple(k for k in OCCASIONS if k in wanted)


def parse_set_dates(setting: str) -> dict[int, date]:
    """YI_NEW_YEAR: "YYYY-MM-DD[,YYYY-MM-DD…]" → {year: date}; one date per year."""
    found: dict[int, date] = {}
    for part in (setting or "").split(","):
        if part.strip():
            day = date.fromisoformat(part.strip())
            if day.year in found:
                raise ValueError(f"two dates for {day.year}")
            found[day.year] = day
    return found


def date_of(key: str, year: int, set_dates: SetDates | None = None) -> date | None:
    """The day the occasion falls on in year; None for a set-each-year date not yet set."""
    occasion = OCCASIONS[key]
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"year {year}: only {FIRST_YEAR}–{LAST_YEAR} are supported")
    if occasion.set_each_year:
        return (set_dates or {}).get((key, year))
    if occasion.lunar:
        # leap=0: the ordinary month, never a leap month of the same number.
        return LunarDate(year, occasion.month, occasion.day, 0).to_solar_date()
    return date(year, occasion.month, occasion.day)


def calendar(
    year: int, keys: tuple[str, ...], set_dates: SetDates | None = None
) -> tuple[list[tuple[date, Occasion]], list[str]]:
    """The active occasions of year in date order, and notes on those skipped."""
    days, notes = [], []
    for key in keys:
        day = date_of(key, year, set_dates)
        if day is None:
            notes.append(
                f"{OCCASIONS[key].name}（{key}）{year} 年的日期尚未设定，跳过；"
                f"用 veteranbot greetings set-date {key} YYYY-MM-DD 或 YI_NEW_YEAR 设定"
            )
        else:
            days.append((day, OCCASIONS[key]))
    days.sort(key=lambda item: (item[0], PRIORITY.index(item[1].key)))
    return days, notes


def occasions_on(
    day: date, keys: tuple[str, ...], set_dates: SetDates | None = None
) -> list[Occasion]:
    """The active occasions falling on day."""
    return [o for d, o in calendar(day.year, keys, set_dates)[0] if d == day]


def merged_into(
    key: str, year: int, keys: tuple[str, ...], set_dates: SetDates | None = None
) -> list[Occasion]:
    """Inactive occasions a greeting for key should also name, because they merge into it."""
    here = date_of(key, year, set_dates)
    found = []
    for absorbed, into, days in MERGES:
        if into != key or absorbed in keys or here is None:
            continue
        other = date_of(absorbed, year, set_dates)
        if other is not None and abs((here - other).days) <= days:
            found.append(OCCASIONS[absorbed])
    return found
