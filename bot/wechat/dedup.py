"""Exactly-once handling of WeChat's retries, shared by every web process via Redis.

WeChat retries a message up to three times when it gets no answer in 5 s,
sometimes while the first attempt is still running. Every attempt answers
with the reply stored under the message's key, and only the attempt that
stores it applies its writes, so a message has one effect and one reply.

Round trips to Redis, the webhook's largest cost after Flask itself:
- once(): an answer that may change anything (the database, a task queued)
  must claim the key before it starts, or two overlapping attempts would both
  act, and can store its reply only once it exists: two round trips, the least
  exactly-once allows for it. Everything else the call needs from Redis rides
  on those two: the claim also reads the keys it names (the dialog state, the
  station cards' version), and the reply carries the call's writes (the new
  dialog state) in one atomic step.
- ahead(): an answer that only reads (the caller vouches for it) is worked
  out first and stored in one round trip, only if the key is still free and
  the Redis values it was worked out from still hold. Two attempts may both
  work it out; one stores it, and both answer with that one.
A retry that finds the reply stored costs one round trip.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import redis
from redis.commands.core import Script

from bot.wechat.transport import Message

PENDING = "\x00pending"
# Every webhook call answers within this, "busy" included: WeChat gives up at 5 s.
# Its parts, with each Redis call at most bot.store.TIMEOUT_SECONDS (1 s): the
# claim waits LOCK_WAIT_SECONDS plus one call, the database gets what is left
# but one call (bot.wechat.views), and the store is that last call.
BUDGET_SECONDS = 4.0
CLAIM_SECONDS = 30
REPLY_SECONDS = 600
# A retry waits this long for the first attempt's reply, plus one call.
WAIT_SECONDS = 2.0
# Rounds of ahead() when the values it read keep changing under it.
AHEAD_ROUNDS = 3
# One follower's messages are handled one at a time: twenty at once at the
# last step of 求助 filed two requests. The lock outlives any answer (each is
# done within BUDGET_SECONDS) but frees a dead process's follower soon; a
# message that cannot get it within the wait answers "busy" and WeChat retries it.
LOCK_MILLISECONDS = 5000
LOCK_WAIT_SECONDS = 1.5

# KEYS[1] is the message's key, KEYS[2] the follower's lock, KEYS[3..] the keys
# to read for the attempt that claims the message. The message is claimed only
# with the lock (token ARGV[3] for ARGV[4] ms). Returns {1, values...} to that
# attempt; {0, what the key holds} when it is claimed or answered already (the
# pending mark or the reply); {2} when another message of the follower holds the lock.
_CLAIM = b"""
local held = redis.call('GET', KEYS[1])
if held then return {0, held} end
if not redis.call('SET', KEYS[2], ARGV[3], 'NX', 'PX', ARGV[4]) then return {2} end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
local values = {1}
for i = 3, #KEYS do values[i - 1] = redis.call('GET', KEYS[i]) end
return values
"""
# Stores the reply ARGV[1] under KEYS[1] for ARGV[2] seconds with the writes,
# and releases the follower's lock KEYS[2] when it still holds token ARGV[3].
# ARGV[4] = n > 0 makes it ahead()'s store: KEYS[3 .. 2 + n] must still hold
# ARGV[5 .. 4 + n] ('' for none), else {2, their values now}; the follower's
# lock must be free, else {3}; and KEYS[1] must be free, else {0, what it holds}.
# Then KEYS[i] (i > 2 + n) gets the value ARGV[2i - 1] for ARGV[2i] seconds,
# or is deleted when the value is empty.
_STORE = b"""
local n = tonumber(ARGV[4])
for i = 1, n do
  if (redis.call('GET', KEYS[2 + i]) or '') ~= ARGV[4 + i] then
    local now = {2}
    for j = 1, n do now[1 + j] = redis.call('GET', KEYS[2 + j]) end
    return now
  end
end
if ARGV[5 + n] == 'free' then
  if redis.call('EXISTS', KEYS[2]) == 1 then return {3} end
  if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then
    return {0, redis.call('GET', KEYS[1])}
  end
else
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
end
for i = 3 + n, #KEYS do
  local at = 4 + n + 2 * (i - 2 - n)
  if ARGV[at] == '' then
    redis.call('DEL', KEYS[i])
  else
    redis.call('SET', KEYS[i], ARGV[at], 'EX', ARGV[at + 1])
  end
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return {1}
"""
# Releases the message's claim KEYS[1] and the follower's lock KEYS[2] if it holds ARGV[1].
_RELEASE = b"""
redis.call('DEL', KEYS[1])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
"""
# Bytes, so no client is needed to hash them; each call names its client, and
# EVALSHA falls back to loading the script when the server does not know it.
CLAIM = Script(None, _CLAIM)
STORE = Script(None, _STORE)
RELEASE = Script(None, _RELEASE)


class Busy(Exception):
    """Another message of the same follower held the lock for the whole wait."""


@dataclass(frozen=True)
class Write:
    """A key the handler changed: its new value (not empty) for `seconds`, or None: delete it."""

    key: str
    value: str | None
    seconds: int = 0


@dataclass(frozen=True)
class Answer:
    """What an attempt produced: the reply, the writes stored with it, the values it read."""

    reply: str
    writes: Sequence[Write] = ()
    # Redis keys the answer was worked out from, with the values it saw; ahead()
    # stores the answer only while they still hold.
    read: Mapping[str, str | None] = field(default_factory=dict)


Produce = Callable[[Mapping[str, str | None]], Answer]


def message_key(message: Message) -> str:
    """Sender and MsgId for messages; sender, time, event and key for events (no MsgId)."""
    fields = message.fields
    if message.type != "event":
        # MsgId alone is not enough: a reused or forged one must never hand one
        # follower another's reply. transport refuses a message without one.
        return f"dedup:m:{message.source}|{fields['MsgId']}"
    # Job events share sender, time and event when several jobs finish in the
    # same second: MsgID tells MASSSENDJOBFINISH apart (one per county tag),
    # publish_id tells PUBLISHJOBFINISH apart.
    info = fields.get("PublishEventInfo")
    publish_id = info.get("publish_id") if isinstance(info, dict) else None
    parts = (message.source, fields.get("CreateTime"), fields.get("Event"))
    parts += (fields.get("EventKey"), fields.get("MsgID"), publish_id)
    return "dedup:e:" + "|".join(str(p or "") for p in parts)


def follower_lock(message: Message) -> str:
    """The key of the lock that keeps one follower's messages one at a time."""
    return f"dedup:lock:{message.source}"


def once(r: redis.Redis, key: str, lock: str, produce: Produce, reads: Sequence[str] = ()) -> str:
    """Claim the key, run produce() once, and return its reply to every caller of that key.

    The claim also takes the follower's lock (raising Busy when it stays
    held past LOCK_WAIT_SECONDS). produce receives the values of `reads`
    (None when absent), read with the claim; its Answer's writes are stored
    with the reply, and the lock released, in one step.
    """
    token = secrets.token_hex(8)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        status, *values = CLAIM(
            keys=[key, lock, *reads],
            args=[PENDING, CLAIM_SECONDS, token, LOCK_MILLISECONDS],
            client=r,
        )
        if status != 2:
            break
        if time.monotonic() >= deadline:
            raise Busy
        time.sleep(0.02)
    if not status:
        return _follow(r, key, lock, values[0], produce, reads)
    try:
        answer = produce(dict(zip(reads, values, strict=True)))
    except BaseException:
        # Let WeChat's next retry try again rather than wait on a dead claim.
        RELEASE(keys=[key, lock], args=[token], client=r)
        raise
    _store(r, key, lock, answer, token=token)
    return answer.reply


def ahead(
    r: redis.Redis,
    key: str,
    lock: str,
    produce: Produce,
    known: Mapping[str, str | None],
    reads: Sequence[str] = (),
) -> str:
    """Work the answer out first, then store it unless another attempt stored one first.

    produce must change nothing (no commit, no task, no call out) but Redis
    keys through its writes. known: Redis values the caller holds already,
    checked at the store like every value produce reads; reads: what once()
    reads should the message turn out released by a failed attempt. While
    another message of the follower holds its lock, the answer goes through once().
    """
    for _ in range(AHEAD_ROUNDS):
        answer = produce(known)
        status, *values = _store(r, key, lock, answer)
        if status == 1:
            return answer.reply
        if status == 0:  # another attempt stored its reply first (or is still at it)
            return _follow(r, key, lock, values[0], produce, reads)
        if status == 3:  # the follower's previous message is still being answered
            break
        # What it read moved on (an import dropped the station cards): again, from the new values.
        known = dict(zip(answer.read, values, strict=True))
    return once(r, key, lock, produce, reads)


def _store(r: redis.Redis, key: str, lock: str, answer: Answer, token: str = "") -> list:
    """Store the reply with the writes and release the lock (ahead, no token: only while
    the key and the lock are free and its reads hold)."""
    read = answer.read if not token else {}
    args: list[str | int] = [answer.reply, REPLY_SECONDS, token, len(read)]
    args += ["" if value is None else value for value in read.values()]
    args.append("claimed" if token else "free")
    for write in answer.writes:
        args += ["" if write.value is None else write.value, write.seconds]
    keys = [key, lock, *read, *(w.key for w in answer.writes)]
    return STORE(keys=keys, args=args, client=r)


def _follow(r: redis.Redis, key: str, lock: str, value: str | None, produce: Produce, reads) -> str:
    """A later attempt: the first one's reply once it is stored."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        if value is None:  # the first attempt failed and released its claim
            return once(r, key, lock, produce, reads)
        if value != PENDING:
            return value
        if time.monotonic() >= deadline:
            # The first attempt is still working; WeChat will retry and get its reply.
            return "success"
        time.sleep(0.02)
        value = r.get(key)
