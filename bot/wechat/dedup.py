"""Exactly-once handling of WeChat's retries, shared by every web process via Redis.

WeChat retries a message up to three times when it gets no answer in 5 s,
sometimes while the first attempt is still running. The first attempt claims
the key; the others wait for its reply and answer with the same one.

A message costs the first attempt two Redis round trips, and that is the
least exactly-once allows: the claim must be in Redis before any effect
happens (or two overlapping attempts would both act), and the reply can only
be stored once it exists. So everything else the webhook needs from Redis
rides on those two: the claim also reads the keys the handler will need
(the dialog state, the station cards' version), and the stored reply carries
the handler's writes (the new dialog state) in one atomic step. A retry that
finds the reply already stored is answered in one round trip.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import redis
from redis.commands.core import Script

from bot.wechat.transport import Message

PENDING = "\x00pending"
CLAIM_SECONDS = 30
REPLY_SECONDS = 600
WAIT_SECONDS = 4.0

# KEYS[1] is the message's key, KEYS[2..] the keys to read for the attempt that
# claims it. Returns {1, values...} to that attempt; to any other, {0, what the
# key holds now}: the pending mark, the reply, or nil if the claim was released.
_CLAIM = b"""
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
  local values = {1}
  for i = 2, #KEYS do values[i] = redis.call('GET', KEYS[i]) end
  return values
end
return {0, redis.call('GET', KEYS[1])}
"""
# KEYS[1] gets the reply ARGV[1] for ARGV[2] seconds; each further KEYS[i]
# gets the value ARGV[2i-1] for ARGV[2i] seconds, or is deleted when that
# value is empty. One script, so a retry never sees the reply without them.
_STORE = b"""
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for i = 2, #KEYS do
  local value, seconds = ARGV[2 * i - 1], ARGV[2 * i]
  if value == '' then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], value, 'EX', seconds)
  end
end
return 1
"""
# Bytes, so no client is needed to hash them; each call names its client, and
# EVALSHA falls back to loading the script when the server does not know it.
CLAIM = Script(None, _CLAIM)
STORE = Script(None, _STORE)


@dataclass(frozen=True)
class Write:
    """A key the handler changed: its new value (not empty) for `seconds`, or None: delete it."""

    key: str
    value: str | None
    seconds: int = 0


@dataclass(frozen=True)
class Answer:
    """What the first attempt produced: the reply, and the writes stored with it."""

    reply: str
    writes: Sequence[Write] = ()


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
    r: redis.Redis,
    key: str,
    produce: Callable[[Mapping[str, str | None]], Answer],
    reads: Sequence[str] = (),
) -> str:
    """Run produce() once per key and return its reply to every caller of that key.

    produce receives the values of `reads` (None when absent), read with the
    claim; its Answer's writes are stored with the reply.
    """
    claimed, *values = CLAIM(keys=[key, *reads], args=[PENDING, CLAIM_SECONDS], client=r)
    if not claimed:
        return _follow(r, key, values[0], produce, reads)
    try:
        answer = produce(dict(zip(reads, values, strict=True)))
    except BaseException:
        # Let WeChat's next retry try again rather than wait on a dead claim.
        r.delete(key)
        raise
    if not answer.writes:  # most messages: a plain SET costs Redis less than a script
        r.set(key, answer.reply, ex=REPLY_SECONDS)
        return answer.reply
    args: list[str | int] = [answer.reply, REPLY_SECONDS]
    for write in answer.writes:
        args += ["" if write.value is None else write.value, write.seconds]
    STORE(keys=[key, *(w.key for w in answer.writes)], args=args, client=r)
    return answer.reply


def _follow(r: redis.Redis, key: str, value: str | None, produce, reads) -> str:
    """A later attempt: the first one's reply once it is stored."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if value is None:  # the first attempt failed and released its claim
            return once(r, key, produce, reads)
        if value != PENDING:
            return value
        if time.monotonic() >= deadline:
            # The first attempt is still working; WeChat will retry and get its reply.
            return "success"
        time.sleep(0.02)
        value = r.get(key)
