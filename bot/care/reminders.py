"""Care reminders to station staff by template message: who is due this month, condolence lists.

Each bound staff member hears about their own area only (see bot.care.contacts).
As with help-request notices (bot.requests.notices), a Redis marker is set after each
successful send, keyed by staff member and run date (or occasion), so a task
retried after a partial failure, or redelivered after a worker died, skips
those already told instead of sending them the list twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import redis
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import contacts
from bot.care.occasions import Occasion
from bot.models import Staff, Station
from bot.records.directory import short_name
from bot.wechat import notices, templates
from bot.wechat.client import WeChatClient
from bot.wechat.templates import FIELD_CHARS

log = logging.getLogger(__name__)

# A template field shows 20 characters (bot.wechat.templates): the first few
# names only (a file number alone is 18), then "等 N 人"; the full list is a reply away.
LIST_NAMES = 5
REMINDER_MARKER_SECONDS = 40 * 86400
CONDOLENCE_MARKER_SECONDS = 60 * 86400
# The field texts are macros in bot/templates/reminders/, read without the Flask app.
_TEMPLATES = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
    autoescape=False,
)


def _macro(template: str, name: str):
    return getattr(_TEMPLATES.get_template(template).module, name)


def name_list(entries: list[str], total: int, unit: str = "人") -> str:
    """'甲、乙 等 N 人': the first LIST_NAMES entries that fit one template field."""
    shown: list[str] = []
    for entry in entries[:LIST_NAMES]:
        tail = f" 等 {total} {unit}" if total > len(shown) + 1 else ""
        if len("、".join([*shown, entry]) + tail) > FIELD_CHARS:
            break
        shown.append(entry)
    text = "、".join(shown)
    return f"{text} 等 {total} {unit}".strip() if total > len(shown) else text


def monthly_data(station: Station, rows: list[contacts.Due], day: date) -> dict:
    """The reminder's fields: area, how many are due, the first names, the date, a hint."""
    tpl = "reminders/monthly.txt"
    area = short_name(station.name)
    entries = [d.veteran.name for d in rows]  # visit-owed first, as keyword2 counts them
    visits = sum(d.needs_visit for d in rows)
    return templates.fields(
        first=str(_macro(tpl, "first")(area, day.month)),
        keyword1=area,
        keyword2=str(_macro(tpl, "summary")(len(rows), visits)),
        keyword3=name_list(entries, len(rows)),
        keyword4=day.isoformat(),
        remark=str(_macro(tpl, "remark")(station.code)),
    )


def condolence_data(
    station: Station, rows: list[contacts.Condolence], occasion: Occasion, on: date
) -> dict:
    """The condolence list's fields: area, households, the first names, the day, a hint."""
    tpl = "reminders/condolence.txt"
    area = short_name(station.name)
    entries = [c.veteran.name for c in rows]  # martyrs' families first, as keyword2 counts them
    martyrs = sum(c.reason.startswith(contacts.MARTYR_CATEGORY) for c in rows)
    day = on.isoformat()
    return templates.fields(
        first=str(_macro(tpl, "first")(area, occasion.name)),
        keyword1=area,
        keyword2=str(_macro(tpl, "summary")(len(rows), martyrs)),
        keyword3=name_list(entries, len(rows), "户"),
        keyword4=day,
        remark=str(_macro(tpl, "remark")(occasion.name, day, station.code)),
    )


def send_monthly(
    session: Session, wechat: WeChatClient, r: redis.Redis, template_id: str, day: date
) -> int:
    """Send each staff member their area's uncontacted veterans (once per day); return how many."""
    lists: dict[int, list[contacts.Due]] = {}

    def message(member: Staff) -> dict | None:
        if member.station_id not in lists:
            lists[member.station_id] = contacts.due(session, member.station, day)
        rows = lists[member.station_id]
        return monthly_data(member.station, rows, day) if rows else None

    marker = f"care:reminder:{day.isoformat()}"
    return _send_each(session, wechat, r, template_id, marker, message, REMINDER_MARKER_SECONDS)


def send_condolence(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    template_id: str,
    day: date,
    lead_days: int = contacts.CONDOLENCE_LEAD_DAYS,
) -> int:
    """Within lead_days before 春节 or 建军节, send each staff member their area's list once."""
    due = contacts.occasion_due(day, lead_days)
    if due is None:
        return 0
    on, occasion = due
    lists: dict[int, list[contacts.Condolence]] = {}

    def message(member: Staff) -> dict | None:
        if member.station_id not in lists:
            lists[member.station_id] = contacts.condolence_list(session, member.station)
        rows = lists[member.station_id]
        return condolence_data(member.station, rows, occasion, on) if rows else None

    marker = f"care:condolence:{occasion.key}:{on.year}"
    return _send_each(session, wechat, r, template_id, marker, message, CONDOLENCE_MARKER_SECONDS)


def _staff(session: Session) -> Iterator[Staff]:
    yield from session.scalars(select(Staff).order_by(Staff.station_id, Staff.id))


def _send_each(
    session: Session,
    wechat: WeChatClient,
    r: redis.Redis,
    template_id: str,
    marker_prefix: str,
    message_for: Callable[[Staff], dict | None],
    marker_seconds: int,
) -> int:
    """One template message per staff member not yet marked, as bot.requests.notices sends them."""
    if not template_id:
        log.error("WECHAT_TEMPLATE_CARE_REMINDER is unset; staff not reminded")
        return 0
    return notices.send_each_once(
        wechat,
        r,
        template_id,
        _staff(session),
        message_for,
        marker_prefix=marker_prefix,
        marker_seconds=marker_seconds,
    )
