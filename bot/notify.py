"""Telling a station's responsible staff about a new help request, by template message.

Template messages are WeChat's channel for service notices such as a new case.
Each staff member is told once: a Redis marker is set after each successful
send, so a task retried after a partial failure (or redelivered after a worker
died) skips those already told instead of notifying them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import redis
from sqlalchemy.orm import Session

from bot import directory
from bot.dialogs.choices import short_name
from bot.models import HelpRequest, Staff
from bot.wechat.client import WeChatClient
from bot.wechat.errors import Unsubscribed, WeChatError

log = logging.getLogger(__name__)

SENT_MARKER_SECONDS = 30 * 86400
# Template sends in flight at once; the client's HTTP pool holds as many connections.
SEND_THREADS = 16
BEIJING = timedelta(hours=8)


def template_data(request: HelpRequest) -> dict:
    """The template fields of a new-request notice: number, category, station and time."""
    filed = (request.created_at + BEIJING).strftime("%Y-%m-%d %H:%M")
    values = {
        "first": f"新的求助：{request.number}",
        "keyword1": request.number,
        "keyword2": request.category,
        "keyword3": short_name(request.station.name),
        "keyword4": filed,
        "remark": "请尽快签收，并与求助人联系。",
    }
    return {key: {"value": value} for key, value in values.items()}


def send_help_request(
    session: Session, client: WeChatClient, r: redis.Redis, template_id: str, request_id: int
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
    return send_each_once(
        client,
        r,
        template_id,
        staff,
        lambda _member: data,
        marker_prefix=f"notify:help:{request_id}",
        marker_seconds=SENT_MARKER_SECONDS,
    )


def send_each_once(
    client: WeChatClient,
    r: redis.Redis,
    template_id: str,
    staff: Iterable[Staff],
    message_for: Callable[[Staff], dict | None],
    *,
    marker_prefix: str,
    marker_seconds: int,
) -> int:
    """Send one template message to each staff member not yet marked; return how many now.

    A Redis marker (marker_prefix:staff id) is set after each send, so a task
    retried after a partial failure, or redelivered after its worker died, skips
    those already told. Messages are built here, in this thread (they read the
    database); only the HTTP calls run in parallel, since a monthly reminder to
    thousands of staff would otherwise wait on each round trip in turn. A member
    who unfollowed is skipped; after every send has been tried, a transient error
    is raised for the task to retry the rest, else the first permanent one.
    message_for may answer None: nothing worth a notice for that member.
    """
    todo = []
    for member in staff:
        marker = f"{marker_prefix}:{member.id}"
        if not r.exists(marker) and (data := message_for(member)) is not None:
            todo.append((member, marker, data))

    def send(item) -> bool | WeChatError:
        member, marker, data = item
        try:
            client.send_template(member.openid, template_id, data)
        except Unsubscribed:
            log.warning("staff %s has unfollowed; %s not sent", member.id, marker_prefix)
            return False
        except WeChatError as exc:
            log.error("%s to staff %s failed: %s", marker_prefix, member.id, exc)
            return exc
        r.set(marker, "1", ex=marker_seconds)
        return True

    with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
        outcomes = list(pool.map(send, todo))
    errors = [o for o in outcomes if isinstance(o, WeChatError)]
    if errors:
        raise next((e for e in errors if e.transient), errors[0])
    return outcomes.count(True)
