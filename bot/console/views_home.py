"""工作台: my open, late and untaken cases; this month's veterans still to contact."""

from __future__ import annotations

from flask import g, redirect, render_template, url_for

from bot import clock, db
from bot.console import cases, ledger
from bot.console.blueprint import bp


@bp.get("/")
def home():
    """The first page after signing in (editors go to the statistics)."""
    if not g.scope.personal:
        return redirect(url_for("console.stats_page"))
    session, now, today = db.session(), clock.utcnow(), clock.today()
    due, due_total = ledger.still_to_contact(session, g.scope, today)
    return render_template(
        "console/home.html",
        title="工作台",
        counts=cases.counts(session, g.scope, now),
        now=now,
        urgent=cases.urgent(session, g.scope, now),
        due=due,
        due_total=due_total,
        month=today,
    )
