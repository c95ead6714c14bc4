"""The monthly mass-send quota, counted in one place for the column and the greetings alike.

WeChat lets a service account reach each follower at most MASS_QUOTA_PER_MONTH
(4) times a calendar month. The column's `mass` stories and the holiday
greetings go to the same veterans, so they share that budget: a month's sends
(Asia/Shanghai), in time order, take it first come, first served. What counts:

- a column story whose WeChat mode is `mass`, unless its WeChat channel failed
  (a refused or failed story sent nothing); a story whose file is gone still
  counts through its saved state;
- a greeting that is switched on, or that went out (or may have) this year even
  if it has since been switched off, at GREETING_TIME on its day.

The column's refusal (bot.column.publishing), the greetings' refusal
(bot.care.greetings_send) and `greetings plan` (bot.care.plan) all ask here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import greetings
from bot.care.occasions import OCCASIONS, calendar
from bot.care.settings import CareSettings
from bot.clock import SHANGHAI, month_of
from bot.models import PublishState
from publisher.story import Story, load_all

Month = tuple[int, int]


@dataclass(frozen=True, order=True)
class MassSend:
    """One mass send a follower receives: when, which (its identity) and its name for people."""

    at: datetime  # timezone-aware
    key: str  # "greeting:<occasion>" or "story:<slug>"; ties in time go to greetings first
    label: str  # 建军节, 专栏《slug》


def greeting_send(settings: CareSettings, key: str, day: date) -> MassSend:
    """The greeting for occasion key on day, at GREETING_TIME."""
    at = datetime.combine(day, settings.greeting_time, SHANGHAI)
    return MassSend(at, f"greeting:{key}", OCCASIONS[key].name)


def story_send(slug: str, at: datetime) -> MassSend:
    """The column story slug mass-sent at its publish_at."""
    return MassSend(at, f"story:{slug}", f"专栏《{slug}》")


def greeting_sends(session: Session, settings: CareSettings, year: int) -> list[MassSend]:
    """The year's greetings that count: switched on, or sent (or being sent) this year."""
    sent = greetings.sent_this_year(session, year)
    keys = tuple(dict.fromkeys((*settings.occasions, *sent)))
    days, _notes = calendar(year, keys, greetings.set_dates(session, settings))
    return [greeting_send(settings, o.key, day) for day, o in days]


def column_sends(
    session: Session, settings: CareSettings, stories: Iterable[Story] | None = None
) -> list[MassSend]:
    """The column's mass stories that count: sent or queued, not failed; the saved state wins."""
    if stories is None:
        stories = load_all(settings.content_dir).stories
    rows = session.scalars(select(PublishState).where(PublishState.channel == "wechat"))
    saved = {row.slug: row for row in rows}
    found = {
        row.slug: story_send(row.slug, row.publish_at.replace(tzinfo=UTC))
        for row in saved.values()
        if row.mode == "mass" and row.state != "failed" and row.publish_at
    }
    for story in stories:
        row = saved.get(story.slug)
        if story.wechat_mode == "mass" and (row is None or row.state != "failed"):
            found.setdefault(story.slug, story_send(story.slug, story.publish_at))
    return list(found.values())


def by_month(
    session: Session, settings: CareSettings, year: int, stories: Iterable[Story] | None = None
) -> dict[Month, list[MassSend]]:
    """Every counted mass send of year, by Asia/Shanghai month, in time order."""
    months: dict[Month, list[MassSend]] = defaultdict(list)
    sends = (
        *greeting_sends(session, settings, year),
        *column_sends(session, settings, stories),
    )
    for send in sends:
        if month_of(send.at)[0] == year:
            months[month_of(send.at)].append(send)
    return {month: sorted(sends) for month, sends in sorted(months.items())}


def refusal(
    session: Session,
    settings: CareSettings,
    send: MassSend,
    stories: Iterable[Story] | None = None,
) -> str | None:
    """Why send may not go out, or None: its place among its month's sends, against the quota."""
    month = month_of(send.at)
    others = by_month(session, settings, month[0], stories).get(month, [])
    plan = sorted([s for s in others if s.key != send.key] + [send])
    quota = settings.mass_quota
    if plan.index(send) < quota:
        return None
    earlier = "、".join(s.label for s in plan[:quota])
    return f"群发额度不足：{month[0]}-{month[1]:02d} 每月最多群发 {quota} 次，已排 {earlier}"
