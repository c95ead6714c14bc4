"""Telling a station's responsible staff about a new help request, by template message.

Template messages are WeChat's channel for service notices such as a new case.
The notices are outbox rows (bot.wechat.outbox), one per staff member, written
in the transaction that files the request: a request is never filed without
them, and each is delivered once.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from bot import clock
from bot.models import HelpRequest
from bot.records import directory
from bot.records.directory import short_name
from bot.wechat import outbox, templates

log = logging.getLogger(__name__)


def template_data(request: HelpRequest) -> dict:
    """The template fields of a new-request notice: number, category, station and time."""
    filed = clock.local(request.created_at).strftime("%Y-%m-%d %H:%M")
    return templates.fields(
        first=f"新的求助：{request.number}",
        keyword1=request.number,
        keyword2=request.category,
        keyword3=short_name(request.station.name),
        keyword4=filed,
        remark="请尽快签收，并与求助人联系。",
    )


def key_prefix(request_id: int) -> str:
    """The start of every outbox key of a request's notices: help:<request id>:."""
    return f"help:{request_id}:"


def add(session: Session, request: HelpRequest, template_id: str, url: str = "") -> list[int]:
    """Write a notice for each responsible staff member not yet told (no commit); the new ids.

    url, when given, is where the notice opens (a call-back's recordings).
    """
    if not template_id:
        log.error("WECHAT_TEMPLATE_HELP_REQUEST is unset; staff not told of %s", request.id)
        return []
    staff = directory.responsible_staff(session, request.station)
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
