"""Care reminders to station staff by template message: who is due this month, condolence lists.

Each bound staff member hears about their own area only (see bot.care.contacts).
As with help-request notices (bot.requests.notices), each reminder is an outbox
row (bot.wechat.outbox) keyed by run date (or occasion) and staff member,
care:reminder:<date>:<staff id>: a day's rows are written in one commit, then
delivered, each once. A run retried or redelivered writes only the keys not
yet written, so nobody gets the list twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.care import contacts
from bot.care.occasions import Occasion
from bot.models import Staff, Station
from bot.records.directory import short_name
from bot.wechat import outbox, templates
from bot.wechat.client import WeChatClient
from bot.wechat.templates import FIELD_CHARS

log = logging.getLogger(__name__)

# A template field shows 20 characters (bot.wechat.templates): the first few
# names only (a file number alone is 18), then "等 N 人"; the full list is a reply away.
LIST_NAMES = 5
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


def send_monthly(session: Session, wechat: WeChatClient, template_id: str, day: date) -> int:
    """Remind each staff member of their area's uncontacted veterans, once per day; count sent."""
    lists: dict[int, list[contacts.Due]] = {}

    def message(member: Staff) -> dict | None:
        if member.station_id not in lists:
            lists[member.station_id] = contacts.due(session, member.station, day)
        rows = lists[member.station_id]
        return monthly_data(member.station, rows, day) if rows else None

    return _send_each(session, wechat, template_id, f"care:reminder:{day.isoformat()}", message)


def send_condolence(
    session: Session,
    wechat: WeChatClient,
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

    prefix = f"care:condolence:{occasion.key}:{on.year}"
    return _send_each(session, wechat, template_id, prefix, message)


def _send_each(
    session: Session,
    wechat: WeChatClient,
    template_id: str,
    prefix: str,
    message_for: Callable[[Staff], dict | None],
) -> int:
    """Write a row for each staff member not yet given this run's message, commit, deliver.

    message_for may answer None: nothing worth a notice for that member. Rows
    an earlier run left waiting (a transient error) are delivered too if due;
    the sweep sends the rest. Returns how many were sent now.
    """
    if not template_id:
        log.error("WECHAT_TEMPLATE_CARE_REMINDER is unset; staff not reminded")
        return 0
    written = outbox.keys_under(session, f"{prefix}:")
    bound = select(Staff).where(Staff.unbound_at.is_(None))
    for member in session.scalars(bound.order_by(Staff.station_id, Staff.id)):
        key = f"{prefix}:{member.id}"
        if key not in written and (data := message_for(member)) is not None:
            outbox.add(session, key, member.openid, template_id, data)
    session.commit()
    return outbox.deliver(session, wechat, outbox.ids_under(session, f"{prefix}:")).sent
