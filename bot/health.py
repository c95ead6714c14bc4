"""GET /healthz: whether the database and Redis answer, and how long the outbox has waited."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from bot import clock, db, store
from bot.wechat import outbox

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with each dependency's state when both answer, 503 otherwise.

    outbox_oldest_pending_seconds is the age of the oldest message to a person
    not yet sent (null when none waits, or the database does not answer): a
    number that keeps growing means messages are stuck, whatever the cause.
    """
    state = {
        "database": _probe(lambda: db.session().execute(text("SELECT 1"))),
        "redis": _probe(lambda: store.client().ping()),
    }
    ok = all(v == "ok" for v in state.values())
    waited = _oldest_pending() if state["database"] == "ok" else None
    return jsonify(
        status="ok" if ok else "unavailable", outbox_oldest_pending_seconds=waited, **state
    ), 200 if ok else 503


def _probe(check) -> str:
    try:
        check()
    except Exception as exc:  # a health probe reports any failure instead of raising
        return f"error: {type(exc).__name__}"
    return "ok"


def _oldest_pending() -> int | None:
    try:
        oldest = outbox.oldest_unsent(db.session())
    except Exception:  # reported as unknown; the database probe says what failed
        return None
    if oldest is None:
        return None
    return max(int((clock.utcnow() - oldest).total_seconds()), 0)
