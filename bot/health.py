"""GET /healthz: whether the database and Redis answer."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from bot import db, store

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with each dependency's state when both answer, 503 otherwise."""
    state = {
        "database": _probe(lambda: db.session().execute(text("SELECT 1"))),
        "redis": _probe(lambda: store.client().ping()),
    }
    ok = all(v == "ok" for v in state.values())
    return jsonify(status="ok" if ok else "unavailable", **state), 200 if ok else 503


def _probe(check) -> str:
    try:
        check()
    except Exception as exc:  # a health probe reports any failure instead of raising
        return f"error: {type(exc).__name__}"
    return "ok"
