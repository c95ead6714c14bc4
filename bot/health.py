"""GET /healthz: whether the database and Redis answer, the outbox's wait, the templates' state."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from bot import clock, db, store
from bot.config import unset_templates
from bot.wechat import outbox, template_faults

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz():
    """200 with each dependency's state when both answer, 503 otherwise.

    outbox_oldest_pending_seconds is the age of the oldest message to a person
    not yet sent (null when none waits, or the database does not answer): a
    number that keeps growing means messages are stuck, whatever the cause.
    templates is "ok", or says which notice cannot be sent (a template id
    unset, or refused by WeChat with 47003 or 40037): status is then
    "degraded", still 200, since the webhook itself works.
    """
    state = {
        "database": _probe(lambda: db.session().execute(text("SELECT 1"))),
        "redis": _probe(lambda: store.client().ping()),
    }
    ok = all(v == "ok" for v in state.values())
    waited = _oldest_pending() if state["database"] == "ok" else None
    templates = _templates(redis_ok=state["redis"] == "ok")
    status = "unavailable" if not ok else "ok" if templates == "ok" else "degraded"
    return jsonify(
        status=status, outbox_oldest_pending_seconds=waited, templates=templates, **state
    ), 200 if ok else 503


def _templates(redis_ok: bool) -> str | dict:
    """ "ok", or {setting: why} for each notice that cannot be sent."""
    cfg = current_app.config
    problems = {setting: "未设置模板 id" for setting in unset_templates(cfg)}
    refused = template_faults.current(store.client()) if redis_ok else {}
    for spec in cfg["TEMPLATES"].values():
        fault = spec.template_id and refused.get(spec.template_id)
        if fault:
            problems[spec.setting] = f"微信拒收（{fault['code']}），自 {fault['at']} UTC"
    return problems or "ok"


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
