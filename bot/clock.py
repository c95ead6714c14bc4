"""The one clock: "now" in UTC, and the date and month as Liangshan keeps them (Asia/Shanghai).

Timestamps are stored as naive UTC so SQLite and PostgreSQL agree. Stations,
greetings and the mass-send quota all count days and months in Asia/Shanghai,
which has had no daylight saving since 1991, so a fixed UTC+8 offset is exact.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, timezone

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")
# How far this process's clock runs ahead of the wall clock: zero except inside
# travel(), the seam tests use to let a day pass without waiting for it.
_ahead = timedelta(0)


def now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC) + _ahead


@contextmanager
def travel(by: timedelta) -> Iterator[None]:
    """Run the block with every now() of this process `by` later (tests: deadlines pass).

    Only what reads this module moves: Redis expiries, the webhook's signature
    window (time.time()) and the WeChat emulator keep the wall clock.
    """
    global _ahead
    before = _ahead
    _ahead = before + by
    try:
        yield
    finally:
        _ahead = before


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo, as every timestamp column stores it."""
    return now().replace(tzinfo=None)


def local(moment: datetime) -> datetime:
    """A moment in Asia/Shanghai; a naive one is taken as stored (UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(SHANGHAI)


def today(at: datetime | None = None) -> date:
    """The date in Asia/Shanghai, where stations keep their calendar."""
    return local(at or now()).date()


def month_of(moment: datetime) -> tuple[int, int]:
    """(year, month) of a moment in Asia/Shanghai: the month a mass send counts against."""
    moment = local(moment)
    return moment.year, moment.month
