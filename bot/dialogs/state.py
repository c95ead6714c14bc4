"""Dialog state per follower, kept in Redis with an expiry so it survives restarts."""

from __future__ import annotations

import json

from flask import current_app

from bot import store


def _key(openid: str) -> str:
    return f"dialog:{openid}"


def load(openid: str) -> dict | None:
    """The follower's open dialog (`{"dialog": name, "step": ..., ...}`), or None."""
    raw = store.client().get(_key(openid))
    return json.loads(raw) if raw else None


def save(openid: str, state: dict) -> None:
    """Store the dialog state, restarting its expiry."""
    ttl = current_app.config["DIALOG_TTL_SECONDS"]
    store.client().set(_key(openid), json.dumps(state, ensure_ascii=False), ex=ttl)


def clear(openid: str) -> None:
    """Forget any open dialog."""
    store.client().delete(_key(openid))
