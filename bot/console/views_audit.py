"""审计: reveals, exports, sign-ins, bindings and edits in my scope, for administrators."""

from __future__ import annotations

from flask import g, render_template, request

from bot import db
from bot.console import audit
from bot.console.blueprint import admin, bp


@bp.get("/audit")
@admin
def audit_log():
    """The newest entries first, one action or all, a page of 100 at a time."""
    action = request.args.get("action", "")
    action = action if action in audit.ACTIONS else ""
    entries = audit.latest(
        db.session(), g.scope, action or None, request.args.get("before", type=int)
    )
    return render_template(
        "console/audit.html",
        title="审计",
        entries=entries,
        action=action,
        actions=audit.ACTIONS,
        more=len(entries) == audit.PAGE_SIZE,
    )
