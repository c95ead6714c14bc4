"""Notices of a case, as outbox rows written in the transaction of the step that causes them.

Staff hear of new, transferred and escalated cases by template message
(WECHAT_TEMPLATE_HELP_REQUEST), with the case's text cut to what a field
shows and a link to its page. The veteran hears of each step that concerns
them by customer-service message while WeChat's 48-hour window is open
(bot.wechat.window), and otherwise by the case-progress template
(WECHAT_TEMPLATE_CASE_PROGRESS), whose link opens the case page. Each notice's
template fields are built by one function here (template_data,
progress_fields), so a change of template touches one place.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot import clock
from bot.models import CaseEvent, HelpRequest, Staff
from bot.records.directory import short_name
from bot.requests import routing
from bot.requests.desk import Desk
from bot.wechat import outbox, templates, window

log = logging.getLogger(__name__)


def template_data(request: HelpRequest, headline: str = "新的求助", remark: str = "") -> dict:
    """A staff notice's fields: number, category, station, time, the request's text, phone."""
    filed = clock.local(request.created_at).strftime("%Y-%m-%d %H:%M")
    phone = f"求助人手机：{request.contact_phone}。" if request.contact_phone else ""
    return templates.fields(
        first=f"{headline}：{request.number}",
        keyword1=request.number,
        keyword2=request.category,
        keyword3=short_name(request.station.name),
        keyword4=filed,
        keyword5=request.description,  # cut to what the field shows; the page has it all
        remark=phone + (remark or "请尽快签收，并与求助人联系。"),
    )


def progress_fields(number: str, status: str, station: str, at: str) -> dict:
    """The veteran's case-progress template fields: number, state, station, time."""
    return templates.fields(
        first=f"您的求助 {number} 有新进展",
        keyword1=number,
        keyword2=status,
        keyword3=station,
        keyword4=at,
    )


def key_prefix(request_id: int) -> str:
    """The start of every outbox key of a request's new-case notices: help:<request id>:."""
    return f"help:{request_id}:"


def add(session: Session, request: HelpRequest, template_id: str, url: str = "") -> list[int]:
    """Write a new-case notice for each responsible staff member not yet told (no commit)."""
    if not template_id:
        log.error("WECHAT_TEMPLATE_HELP_REQUEST is unset; staff not told of %s", request.id)
        return []
    staff = routing.responsible(session, request.station)
    if not staff:
        log.warning("no staff bound for station %s (request %s)", request.station_id, request.id)
    data = template_data(request)
    added = [
        outbox.add(
            session, f"{key_prefix(request.id)}{member.id}", member.openid, template_id, data, url
        )
        for member in staff
    ]
    return [row_id for row_id in added if row_id is not None]


def written(session: Session, request_id: int, template_id: str) -> list[int]:
    """The ids of a request's notices, written and committed first if they are missing.

    A request filed before the outbox existed (its task queued during a deploy)
    has none; one filed since has them all, and this writes nothing.
    """
    request = session.get(HelpRequest, request_id)
    if request is None:
        log.warning("help request %s is gone; nobody to tell", request_id)
        return []
    add(session, request, template_id)
    session.commit()
    return outbox.ids_under(session, key_prefix(request_id))


def tell_staff(
    desk: Desk,
    request: HelpRequest,
    event: CaseEvent,
    staff: list[Staff],
    headline: str,
    remark: str,
) -> None:
    """A template notice of this step to each of these staff members (no commit)."""
    template = desk.settings.staff_template
    if not template:
        log.error("WECHAT_TEMPLATE_HELP_REQUEST is unset; staff not told of case %s", request.id)
        return
    data = template_data(request, headline, remark)
    url = desk.settings.case_url(request.number)
    for member in staff:
        key = f"case:{event.id}:{member.id}"
        desk.sent(outbox.add(desk.session, key, member.openid, template, data, url))


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
    fields = progress_fields(
        request.number, status, station, clock.local(desk.now).strftime("%Y-%m-%d %H:%M")
    )
    url = desk.settings.case_url(request.number)
    key = f"case:{event.id}:v"
    fallback = {"template_id": template, "data": fields, "url": url} if template else None
    if window.is_open(desk.redis, request.openid, clock.now()):
        desk.sent(outbox.add_text(desk.session, key, request.openid, text, fallback, menu=menu))
        return "custom"
    if not template:
        log.error(
            "WECHAT_TEMPLATE_CASE_PROGRESS is unset; case %s's requester not told", request.id
        )
        return "none"
    desk.sent(outbox.add(desk.session, key, request.openid, template, fields, url))
    return "template"
