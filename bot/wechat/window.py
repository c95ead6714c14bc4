"""WeChat's customer-service window: 48 hours after a follower last wrote to the account.

Inside it the account may send that follower customer-service messages
(message/custom/send); outside it WeChat answers 45015 and only a template
message (a service notice) gets through (../shared/docs/wechat-platform.md).
The webhook notes each follower's last message in Redis, stored with the
reply in the same round trip (bot.wechat.views), so keeping it costs nothing.
Losing it (Redis flushed) only makes a notice go as a template message, which
is always allowed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import redis

from bot import clock
from bot.wechat.dedup import Write

WINDOW = timedelta(hours=48)
# A notice is written now and sent within a minute or two (the outbox); one that
# would reach WeChat just after the window closed goes as a template instead.
MARGIN = timedelta(minutes=10)
# Inbound messages and the events WeChat counts as an interaction that opens it.
OPENING_EVENTS = frozenset({"subscribe", "scan", "click"})


def key(openid: str) -> str:
    """The Redis key holding when the follower last wrote (Unix seconds)."""
    return f"window:{openid}"


def opened(openid: str, at: datetime | None = None) -> Write:
    """The write that records a message from the follower now; kept as long as it counts."""
    moment = at or clock.now()
    return Write(key(openid), str(int(moment.timestamp())), int(WINDOW.total_seconds()))


def opens(msg_type: str, event: str = "") -> bool:
    """Whether a message (or event) of this type opens the window."""
    return msg_type != "event" or event.lower() in OPENING_EVENTS


def is_open(r: redis.Redis, openid: str, now: datetime | None = None) -> bool:
    """Whether a customer-service message sent now still reaches the follower."""
    raw = r.get(key(openid))
    if not raw:
        return False
    since = datetime.fromtimestamp(int(raw), tz=(now or clock.now()).tzinfo)
    return (now or clock.now()) - since < WINDOW - MARGIN
