"""Dialog state per follower, kept in Redis with an expiry so it survives restarts.

The webhook reads a follower's state in the same Redis round trip as its
deduplication claim and hands it over with remember(); within that request,
load() and clear() then use what was read instead of asking Redis again.
Outside a request every call goes to Redis.
"""

from __future__ import annotations

import json

from flask import current_app, has_request_context, request

from bot import store


def key(openid: str) -> str:
    """The Redis key of a follower's dialog state."""
    return f"dialog:{openid}"


def remember(openid: str, raw: str | None) -> None:
    """Note the follower's stored state as already read in this request."""
    _known()[openid] = raw


def load(openid: str) -> dict | None:
    """The follower's open dialog (`{"dialog": name, "step": ..., ...}`), or None."""
    known = _known()
    raw = known[openid] if openid in known else store.client().get(key(openid))
    return json.loads(raw) if raw else None


def save(openid: str, state: dict) -> None:
    """Store the dialog state, restarting its expiry."""
    ttl = current_app.config["DIALOG_TTL_SECONDS"]
    raw = json.dumps(state, ensure_ascii=False)
    store.client().set(key(openid), raw, ex=ttl)
    _known()[openid] = raw


def clear(openid: str) -> None:
    """Forget any open dialog."""
    known = _known()
    if openid in known and known[openid] is None:
        return  # read as absent at the start of this request: nothing to delete
    store.client().delete(key(openid))
    known[openid] = None


def _known() -> dict[str, str | None]:
    # Per request (kept in its WSGI environ), never shared: an app context can
    # outlive a request (tests, tasks), and there every read goes to Redis.
    if not has_request_context():
        return {}
    return request.environ.setdefault("veteranbot.dialog_states", {})
