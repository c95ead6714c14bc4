"""Telling a station's responsible staff about a new help request, by template message.

Template messages are WeChat's channel for service notices such as a new case.
Each staff member is told once: a Redis marker is set after each successful
send, so a task retried after a partial failure (or redelivered after a worker
died) skips those already told instead of notifying them twice.
"""

from __future__ import annotations

import logging

import redis
from sqlalchemy.orm import Session

from bot import clock
from bot.models import HelpRequest
from bot.records import directory
from bot.records.directory import short_name
from bot.wechat import notices, templates
from bot.wechat.client import WeChatClient

log = logging.getLogger(__name__)

SENT_MARKER_SECONDS = 30 * 86400


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


def send_help_request(
    session: Session, wechat: WeChatClient, r: redis.Redis, template_id: str, request_id: int
) -> int:
    """Send the notice to each responsible staff member not yet told; return how many now."""
    request = session.get(HelpRequest, request_id)
    if request is None:
        log.warning("help request %s is gone; nobody to tell", request_id)
        return 0
    if not template_id:
        log.error("WECHAT_TEMPLATE_HELP_REQUEST is unset; staff not told of %s", request_id)
        return 0
    staff = directory.responsible_staff(session, request.station)
    if not staff:
        log.warning("no staff bound for station %s (request %s)", request.station_id, request_id)
    data = template_data(request)
    return notices.send_each_once(
        wechat,
        r,
        template_id,
        staff,
        lambda _member: data,
        marker_prefix=f"notify:help:{request_id}",
        marker_seconds=SENT_MARKER_SECONDS,
    )
