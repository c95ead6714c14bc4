"""Notices of a case, as outbox rows written in the transaction of the step that causes them.

Staff hear of new, transferred and escalated cases, and of a veteran's answer,
by the help_request category template: number, category, station and when the
case was filed. Its typed fields hold no sentence, so the case's text, the
requester's phone and what happened go behind the notice's link (the case
page, or a call-back's recordings), and the 签收 reply shows them in the chat.
The veteran hears of each step that concerns them by customer-service message
while WeChat's 48-hour window is open (bot.wechat.window), and otherwise by the
case_progress template (number, status, station, time), whose link opens the
case page. Each payload is built by one function here (template_data,
progress_fields; bot.wechat.templates shapes the values), so a change of
template touches one place. Every notice is an outbox row (bot.wechat.outbox)
written in the transaction of the step that causes it, delivered once.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from bot import clock
from bot.models import CaseEvent, HelpRequest, Staff
from bot.records.directory import short_name
from bot.requests import recordings, routing
from bot.requests.desk import Desk
from bot.wechat import outbox, window
from bot.wechat.templates import TemplateSpec

log = logging.getLogger(__name__)


def values(request: HelpRequest) -> dict:
    """What a staff notice says: number, category, station and when the case was filed."""
    return {
        "number": request.number,
        "category": request.category,
        "station": short_name(request.station.name),
        "time": clock.local(request.created_at),
    }


def template_data(template: TemplateSpec, request: HelpRequest) -> dict:
    """A staff notice's template data (help_request), whatever the step."""
    return template.data(values(request))


def progress_fields(
    template: TemplateSpec, number: str, status: str, station: str, at: datetime
) -> dict:
    """The veteran's case-progress template data: number, status, station, time."""
    return template.data({"number": number, "status": status, "station": station, "time": at})


def key_prefix(request_id: int) -> str:
    """The start of every outbox key of a request's new-case notices: help:<request id>:."""
    return f"help:{request_id}:"


def add(session: Session, request: HelpRequest, template: TemplateSpec, url: str = "") -> list[int]:
    """Write a new-case notice for each responsible staff member not yet told (no commit).

    url is where the notice opens (the case page, or a call-back's recordings).
    """
    if not template.template_id:
        # Loud: /healthz shows the template as unset, `veteranbot run` refuses to start.
        log.error("%s is unset; staff not told of request %s", template.setting, request.id)
        return []
    staff = routing.responsible(session, request.station)
    if not staff:
        log.warning("no staff bound for station %s (request %s)", request.station_id, request.id)
    data = template.data(values(request))
    added = [
        outbox.add(
            session,
            f"{key_prefix(request.id)}{member.id}",
            member.openid,
            template.template_id,
            data,
            url,
        )
        for member in staff
    ]
    return [row_id for row_id in added if row_id is not None]


def written(session: Session, request_id: int, template: TemplateSpec) -> list[int]:
    """The ids of a request's notices, written and committed first if they are missing.

    A request filed before the outbox existed (its task queued during a deploy)
    has none; one filed since has them all, and this writes nothing.
    """
    request = session.get(HelpRequest, request_id)
    if request is None:
        log.warning("help request %s is gone; nobody to tell", request_id)
        return []
    add(session, request, template)
    session.commit()
    return outbox.ids_under(session, key_prefix(request_id))


def staff_link(desk: Desk, request: HelpRequest) -> str:
    """Where a staff notice opens: a call-back's recordings when it has any, else the case page."""
    if recordings.of_request(desk.session, request.id):
        settings = desk.settings
        return recordings.link(settings.secret_key, settings.public_url, request.number)
    return desk.settings.case_url(request.number)


def tell_staff(desk: Desk, request: HelpRequest, event: CaseEvent, staff: list[Staff]) -> None:
    """A template notice of this step to each of these staff members (no commit).

    The template shows the case's number, category, station and filing time;
    what the step was (转办, 督办, the veteran's answer) is on the page it opens.
    """
    template = desk.settings.staff_template
    if not template.template_id:
        log.error("%s is unset; staff not told of case %s", template.setting, request.id)
        return
    data = template_data(template, request)
    url = staff_link(desk, request)
    for member in staff:
        key = f"case:{event.id}:{member.id}"
        desk.sent(outbox.add(desk.session, key, member.openid, template.template_id, data, url))


def tell_veteran(
    desk: Desk, request: HelpRequest, event: CaseEvent, text: str, status: str, menu=None
) -> str:
    """Tell the requester of this step; which channel was used: custom, template or none.

    Inside the 48-hour window the whole text goes as a customer-service
    message (with the template as its fallback, should WeChat find the window
    shut); outside it the case-progress template, whose link opens the case.
    menu: tap-to-answer choices for a customer-service message (msgmenu).
    """
    if not request.openid:
        return "none"
    template = desk.settings.progress_template
    station = short_name(request.station.name) + "服务站"
    fields = progress_fields(template, request.number, status, station, clock.local(desk.now))
    url = desk.settings.case_url(request.number)
    key = f"case:{event.id}:v"
    tid = template.template_id
    fallback = {"template_id": tid, "data": fields, "url": url} if tid else None
    if window.is_open(desk.redis, request.openid, clock.now()):
        desk.sent(outbox.add_text(desk.session, key, request.openid, text, fallback, menu=menu))
        return "custom"
    if not tid:
        log.error("%s is unset; case %s's requester not told", template.setting, request.id)
        return "none"
    desk.sent(outbox.add(desk.session, key, request.openid, tid, fields, url))
    return "template"
