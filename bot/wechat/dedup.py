"""Exactly-once handling of WeChat's retries, shared by every web process via Redis.

WeChat retries a message up to three times when it gets no answer in 5 s,
sometimes while the first attempt is still running. The first attempt claims
the key; the others wait for its reply and answer with the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis

from bot.wechat.transport import Message

PENDING = "\x00pending"
CLAIM_SECONDS = 30
REPLY_SECONDS = 600
WAIT_SECONDS = 4.0


def message_key(message: Message) -> str:
    """MsgId for messages; sender, time, event and key for events (which have no MsgId)."""
    fields = message.fields
    msg_id = fields.get("MsgId")
    if message.type != "event" and msg_id:
        return f"dedup:m:{msg_id}"
    # Job events share sender, time and event when several jobs finish in the
    # same second: MsgID tells MASSSENDJOBFINISH apart (one per county tag),
    # publish_id tells PUBLISHJOBFINISH apart. A message without a MsgId is
    # keyed the same way, so it can never be answered with another sender's reply.
    info = fields.get("PublishEventInfo")
    publish_id = info.get("publish_id") if isinstance(info, dict) else None
    parts = (message.source, fields.get("CreateTime"), fields.get("Event"))
    parts += (fields.get("EventKey"), fields.get("MsgID"), publish_id)
    return "dedup:e:" + "|".join(str(p or "") for p in parts)


def once(
    r: redis.Redis, key: str, produce: Callable[[str | None], str], prefetch: str | None = None
) -> str:
    """Run produce() once per key and return its result to every caller of that key.

    prefetch names a Redis key read in the same round trip as the claim (the
    follower's dialog state); produce receives its value, which saves the
    webhook a round trip on every message.
    """
    pipe = r.pipeline(transaction=False)
    pipe.set(key, PENDING, nx=True, ex=CLAIM_SECONDS)
    pipe.get(prefetch or key)
    claimed, prefetched = pipe.execute()
    if claimed:
        try:
            result = produce(prefetched if prefetch else None)
        except BaseException:
            # Let WeChat's next retry try again rather than wait on a dead claim.
            r.delete(key)
            raise
        r.set(key, result, ex=REPLY_SECONDS)
        return result
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        value = r.get(key)
        if value is None:  # the first attempt failed and released its claim
            return once(r, key, produce, prefetch)
        if value != PENDING:
            return value
        time.sleep(0.02)
    # The first attempt is still working; WeChat will retry and get its reply.
    return "success"
