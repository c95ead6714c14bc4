"""求助: the case list with its filters, and a case page with its timeline and every action."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, render_template, request, url_for

from bot import clock, db, queue, store
from bot.console import audit, cases
from bot.console import scope as scopes
from bot.console.blueprint import bp, personal
from bot.crypto import cipher
from bot.models import Station
from bot.models.requests import CATEGORIES, KINDS, STATUSES
from bot.records.directory import subtree_ids
from bot.requests import rights, sla, timeline, workflow
from bot.requests.desk import Desk
from bot.requests.settings import CaseSettings

# The steps a form may ask for, and the word each needs (None: no text).
STEPS = {
    "签收": None,
    "回复": "回复内容",
    "备注": "备注内容",
    "补充": "要求补充的内容",
    "办结": "办理结果",
}
TEXT_MAX = 1000


@bp.get("/requests")
@personal
def requests():
    """Cases in my scope, filtered by state, category, kind, station and lateness."""
    session = db.session()
    station_id = request.args.get("station", type=int)
    station_ids = None
    if station_id:
        station_ids = tuple(subtree_ids(session, scopes.station(session, g.scope, station_id)))
    wanted = cases.Filter(
        state=request.args.get("state", "open"),
        category=request.args.get("category", ""),
        kind=request.args.get("kind", ""),
        station_ids=station_ids,
        overdue=request.args.get("overdue") == "1",
        page=request.args.get("page", 1, type=int),
    )
    now = clock.utcnow()
    rows, total = cases.find(session, g.scope, wanted, now)
    return render_template(
        "console/requests.html",
        title="求助",
        rows=rows,
        total=total,
        wanted=wanted,
        station_id=station_id,
        statuses=STATUSES,
        categories=CATEGORIES,
        kinds=KINDS,
        stations=scopes.stations_in(session, g.scope),
        pages=(total + cases.PAGE_SIZE - 1) // cases.PAGE_SIZE,
        now=now,
        overdue=sla.overdue,
    )


@bp.get("/requests/<number>")
@personal
def request_page(number: str):
    """One case: who asked and what, its deadlines, the whole timeline, and the actions."""
    session = db.session()
    found = scopes.help_request(session, g.scope, number)
    now = clock.utcnow()
    return render_template(
        "console/request.html",
        title=found.number,
        r=found,
        entries=timeline.entries(session, cipher(), found),
        now=now,
        late=sla.overdue(found, now),
        due=sla.next_due(found),
        is_open=found.status in workflow.OPEN,
        steps=STEPS,
        allowed=workflow.ALLOWED,
        targets=_transfer_targets(session, found),
    )


def _transfer_targets(session, found) -> list[Station]:
    """Where a case may go: up a level, or any other station in my scope."""
    targets = [] if found.station.parent is None else [found.station.parent]
    targets += [s for s in scopes.stations_in(session, g.scope) if s.id != found.station_id]
    return list({s.id: s for s in targets}.values())


def _desk() -> Desk:
    settings = CaseSettings.from_config(current_app.config)
    return Desk(db.session(), cipher(), store.client(), settings)


def _done(desk: Desk) -> None:
    # The notices are delivered once the rows they come from are committed (bot.queue).
    if desk.outbox_ids:
        queue.enqueue("tasks.outbox.deliver", desk.outbox_ids)
    desk.session.commit()


@bp.post("/requests/<number>/step")
@personal
def request_step(number: str):
    """签收, 回复, 备注, 补充 or 办结, as the case's state allows."""
    session = db.session()
    found = scopes.help_request(session, g.scope, number)
    action = request.form.get("action", "")
    text = request.form.get("text", "").strip()[:TEXT_MAX]
    back = redirect(url_for("console.request_page", number=found.number))
    if action not in STEPS:
        flash("没有这个操作")
        return back
    if STEPS[action] and not text:
        flash(f"请填写{STEPS[action]}")
        return back
    desk = _desk()
    try:
        if action == "签收":
            workflow.accept(desk, found, g.staff)
        else:
            step = {"回复": workflow.reply, "备注": workflow.note, "补充": workflow.ask}.get(
                action, workflow.resolve
            )
            step(desk, found, g.staff, text)
    except workflow.CaseError as exc:
        session.rollback()
        flash(str(exc))
        return back
    _done(desk)
    flash(f"已{action}")
    return back


@bp.post("/requests/<number>/transfer")
@personal
def request_transfer(number: str):
    """转办: to the station above, or another station in my scope."""
    session = db.session()
    found = scopes.help_request(session, g.scope, number)
    back = redirect(url_for("console.request_page", number=found.number))
    target_id = request.form.get("to", type=int)
    target = next((s for s in _transfer_targets(session, found) if s.id == target_id), None)
    if target is None:
        flash("请选择要转去的服务站")
        return back
    desk = _desk()
    try:
        workflow.transfer(desk, found, g.staff, target, request.form.get("why", "")[:200])
    except workflow.CaseError as exc:
        session.rollback()
        flash(str(exc))
        return back
    _done(desk)
    flash(f"已转办到{target.name}")
    # The case may now be outside my scope (转办 up a level): back to the list then.
    if not g.scope.covers(target.id):
        return redirect(url_for("console.requests"))
    return back


@bp.post("/requests/<number>/erase")
@personal
def request_erase(number: str):
    """Carry out a 删除 case: erase the veteran's personal data, keep the tombstone."""
    session = db.session()
    found = scopes.help_request(session, g.scope, number)
    back = redirect(url_for("console.request_page", number=found.number))
    veteran = found.veteran
    if found.kind != "删除" or veteran is None or veteran.erased_at is not None:
        flash("这件求助不是待办的删除申请")
        return back
    if request.form.get("confirm") != veteran.file_no:
        flash("请输入统一编号确认删除")
        return back
    desk = _desk()
    file_no, station_id = veteran.file_no, veteran.station_id
    rights.erase_veteran(desk, veteran, audit.actor(g.staff), g.staff)
    audit.record(session, g.staff, "erase", station_id, file_no=file_no, case=found.number)
    _done(desk)
    flash(f"已删除 {file_no} 的个人信息，并告知本人")
    return back
