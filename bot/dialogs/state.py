"""Dialog state per follower, kept in Redis with an expiry so it survives restarts.

A webhook call spends no Redis round trip of its own on state: begin() takes
the values it knows already (read with the deduplication claim, or held by
the process), load/save/clear then work on that copy, and writes() hands the
changes over to be stored with the reply, so a retry never sees the reply
without them and a failed attempt leaves the state as it was; read() names
the values the answer was worked out from. Outside a webhook call every
function goes straight to Redis.

The state holds what a follower is typing in (a registrant's name, a help
request's text), so it rests in Redis encrypted with the field cipher as a
whole; the copy keeps the stored (encrypted) values, which the store
compares with Redis as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from flask import current_app, has_request_context, request

from bot import store
from bot.crypto import cipher
from bot.wechat.dedup import Write

_ENVIRON_KEY = "veteranbot.redis_copy"


@dataclass
class _Copy:
    """One webhook call's copy of its Redis keys: as known, as used, and as changed since."""

    known: dict[str, str | None]
    used: dict[str, str | None] = field(default_factory=dict)
    changed: dict[str, str | None] = field(default_factory=dict)


def key(openid: str) -> str:
    """The Redis key of a follower's dialog state."""
    return f"dialog:{openid}"


def begin(values: Mapping[str, str | None]) -> None:
    """Start this webhook call's copy with the Redis values it knows (None: known absent)."""
    request.environ[_ENVIRON_KEY] = _Copy(dict(values))


def read(name: str) -> str | None:
    """A Redis value as this webhook call knows it, else read from Redis now."""
    copy = _copy()
    if copy is None:
        return store.client().get(name)
    if name in copy.changed:
        return copy.changed[name]
    if name not in copy.known:
        copy.known[name] = store.client().get(name)
    copy.used[name] = copy.known[name]
    return copy.known[name]


def load(openid: str) -> dict | None:
    """The follower's open dialog (`{"dialog": name, "step": ..., ...}`), or None."""
    raw = read(key(openid))
    if not raw:
        return None
    # A state saved in the clear before the state was encrypted: a JSON object.
    return json.loads(raw if raw.startswith("{") else cipher().decrypt(raw))


def save(openid: str, state: dict) -> None:
    """Store the dialog state, restarting its expiry."""
    raw = cipher().encrypt(json.dumps(state, ensure_ascii=False))
    copy = _copy()
    if copy is not None:
        copy.changed[key(openid)] = raw
    else:
        store.client().set(key(openid), raw, ex=_ttl())


def clear(openid: str) -> None:
    """Forget any open dialog."""
    copy = _copy()
    name = key(openid)
    if copy is None:
        store.client().delete(name)
    elif name in copy.changed or name not in copy.known or copy.known[name] is not None:
        copy.changed[name] = None  # unless known to be absent: then nothing to delete


def writes() -> list[Write]:
    """This webhook call's changes, to be stored with its reply."""
    copy = _copy()
    if copy is None:
        return []
    ttl = _ttl()
    return [Write(name, value, ttl) for name, value in copy.changed.items()]


def used() -> dict[str, str | None]:
    """The Redis values this webhook call's answer was worked out from."""
    copy = _copy()
    return {} if copy is None else dict(copy.used)


def _ttl() -> int:
    return current_app.config["DIALOG_TTL_SECONDS"]


def _copy() -> _Copy | None:
    # Per request (kept in its WSGI environ), never shared: an app context can
    # outlive a request (tests, tasks), and there every call goes to Redis.
    if not has_request_context():
        return None
    return request.environ.get(_ENVIRON_KEY)
