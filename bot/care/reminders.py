"""Care reminders to station staff by template message: who is due this month, condolence lists.

A template field holds 20 characters, so the notice carries the area, the task,
the count and the day, and its link opens the full list (a signed page,
bot/notice_page.py), drawn from the database when it is opened.

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
from bot.models import Staff, Station
from bot.records.directory import short_name
from bot.wechat import outbox
from bot.wechat.client import WeChatClient
from bot.wechat.links import Links
from bot.wechat.templates import TemplateSpec

log = logging.getLogger(__name__)

# The field texts are macros in bot/templates/reminders/, read without the Flask app;
# the notice page (bot/notice_page.py) shows them above the full list.
_TEMPLATES = Environment(
    loader=FileSystemLoader(str(Path(__file__).resolve().parent.parent / "templates")),
    autoescape=False,
)
MONTHLY_TASK = "待联系"
CONDOLENCE_TASK = "慰问"


def macro(template: str, name: str):
    """A field-text macro of bot/templates/reminders/<template>."""
    return getattr(_TEMPLATES.get_template(template).module, name)


def monthly_values(station: Station, rows: list[contacts.Due], day: date) -> dict:
    """The monthly reminder's fields: area, task, how many, the day (names: behind the link)."""
    return {
        "station": short_name(station.name),
        "task": MONTHLY_TASK,
        "count": len(rows),
        "date": day,
    }


def condolence_values(station: Station, rows: list[contacts.Condolence], on: date) -> dict:
    """The condolence list's fields: area, what to do, how many households, the occasion's day."""
    return {
        "station": short_name(station.name),
        "task": CONDOLENCE_TASK,
        "count": len(rows),
        "date": on,
    }


def send_monthly(
    session: Session, wechat: WeChatClient, template: TemplateSpec, links: Links, day: date
) -> int:
    """Remind each staff member of their area's uncontacted veterans, once per day; count sent."""
    lists: dict[int, list[contacts.Due]] = {}

    def message(member: Staff) -> tuple[dict, str] | None:
        if member.station_id not in lists:
            lists[member.station_id] = contacts.due(session, member.station, day)
        rows = lists[member.station_id]
        if not rows:
            return None
        url = links.url(kind="care", staff=member.id, day=day.isoformat())
        return template.data(monthly_values(member.station, rows, day)), url

    return _send_each(session, wechat, template, f"care:reminder:{day.isoformat()}", message)


def send_condolence(
    session: Session,
    wechat: WeChatClient,
    template: TemplateSpec,
    links: Links,
    day: date,
    lead_days: int = contacts.CONDOLENCE_LEAD_DAYS,
) -> int:
    """Within lead_days before 春节 or 建军节, send each staff member their area's list once."""
    due = contacts.occasion_due(day, lead_days)
    if due is None:
        return 0
    on, occasion = due
    lists: dict[int, list[contacts.Condolence]] = {}

    def message(member: Staff) -> tuple[dict, str] | None:
        if member.station_id not in lists:
            lists[member.station_id] = contacts.condolence_list(session, member.station)
        rows = lists[member.station_id]
        if not rows:
            return None
        url = links.url(kind="condolence", staff=member.id, occasion=occasion.key, on=str(on))
        return template.data(condolence_values(member.station, rows, on)), url

    prefix = f"care:condolence:{occasion.key}:{on.year}"
    return _send_each(session, wechat, template, prefix, message)


def _send_each(
    session: Session,
    wechat: WeChatClient,
    template: TemplateSpec,
    prefix: str,
    message_for: Callable[[Staff], tuple[dict, str] | None],
) -> int:
    """Write a row for each staff member not yet given this run's message, commit, deliver.

    message_for answers the template data and the link to the full list, or
    None: nothing worth a notice for that member. Rows
    an earlier run left waiting (a transient error) are delivered too if due;
    the sweep sends the rest. Returns how many were sent now.
    """
    if not template.template_id:
        # Loud: /healthz shows the template as unset, `veteranbot run` refuses to start.
        log.error("%s is unset; staff not reminded", template.setting)
        return 0
    written = outbox.keys_under(session, f"{prefix}:")
    bound = select(Staff).where(Staff.unbound_at.is_(None))
    for member in session.scalars(bound.order_by(Staff.station_id, Staff.id)):
        key = f"{prefix}:{member.id}"
        if key not in written and (message := message_for(member)) is not None:
            data, url = message
            outbox.add(session, key, member.openid, template.template_id, data, url)
    session.commit()
    return outbox.deliver(session, wechat, outbox.ids_under(session, f"{prefix}:")).sent
