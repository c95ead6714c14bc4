"""求助: the case list with its filters, and a case page."""

from __future__ import annotations

from flask import g, render_template, request

from bot import clock, db
from bot.console import cases
from bot.console import scope as scopes
from bot.console.blueprint import bp, personal
from bot.models.requests import CATEGORIES, STATUSES
from bot.records.directory import subtree_ids


@bp.get("/requests")
@personal
def requests():
    """Cases in my scope, filtered by state, category, station and lateness."""
    session = db.session()
    station_id = request.args.get("station", type=int)
    station_ids = None
    if station_id:
        station_ids = tuple(subtree_ids(session, scopes.station(session, g.scope, station_id)))
    wanted = cases.Filter(
        state=request.args.get("state", "open"),
        category=request.args.get("category", ""),
        station_ids=station_ids,
        overdue=request.args.get("overdue") == "1",
        page=request.args.get("page", 1, type=int),
    )
    rows, total = cases.find(session, g.scope, wanted, clock.utcnow())
    return render_template(
        "console/requests.html",
        title="求助",
        rows=rows,
        total=total,
        wanted=wanted,
        station_id=station_id,
        statuses=STATUSES,
        categories=CATEGORIES,
        stations=scopes.stations_in(session, g.scope),
        pages=(total + cases.PAGE_SIZE - 1) // cases.PAGE_SIZE,
    )


@bp.get("/requests/<int:request_id>")
@personal
def request_page(request_id: int):
    """One case: who asked, what, where it stands."""
    session = db.session()
    found = scopes.help_request(session, g.scope, request_id)
    return render_template("console/request.html", title=found.number, r=found)
