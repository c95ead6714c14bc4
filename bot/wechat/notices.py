"""Sending one template message to each of many staff members, each exactly once.

Every staff notice (a new help request, a care reminder, an editor's notice)
goes through send_each_once: a Redis marker per recipient is set after each
successful send, so a task retried after a partial failure, or redelivered after
its worker died, skips those already told instead of telling them twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import redis

from bot.models import Staff
from bot.wechat.client import WeChatClient
from bot.wechat.errors import Unsubscribed, WeChatError

log = logging.getLogger(__name__)

# Template sends in flight at once; the client's HTTP pool holds as many connections.
SEND_THREADS = 16


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
