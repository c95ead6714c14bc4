"""求助: category, description, a request number, and staff told by template message (the outbox).

A registered veteran goes straight to the category. Anyone else first says
where they are (township, village or a shared location) and gives a mobile
number, so the station can call back, or is offered 登记 instead.
"""

from __future__ import annotations

import logging

from flask import render_template
from sqlalchemy import select

from bot import clock, db, queue
from bot.crypto import cipher
from bot.dialogs import cases, choices, station
from bot.dialogs import state as dialog_state
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn
from bot.models import HelpRequest, Station
from bot.models.requests import CATEGORIES
from bot.records import directory, files
from bot.records.identity import InvalidInput, normalize_mobile
from bot.requests import answers, routing, sla, timeline, workflow

log = logging.getLogger(__name__)

MIN_DESCRIPTION = 2
MAX_DESCRIPTION = 500
LIST_LATEST = 10
# Timestamps are stored in UTC; veterans read Beijing time.


def start(turn: Turn) -> Reply:
    """Ask the category; an unregistered follower first says where they are."""
    session = db.session()
    veteran = files.by_openid(session, turn.openid)
    if veteran is not None:
        current = {"dialog": "help", "veteran_id": veteran.id, "station_id": veteran.station_id}
        return _ask_category(turn, current)
    if not directory.of_level(session, "township"):
        return Reply(render_template("replies/help_unavailable.txt"))
    current = {"dialog": "help"}
    reply = station.ask_township(current, intro=render_template("replies/help_unregistered.txt"))
    dialog_state.save(turn.openid, current)
    return reply


def step(turn: Turn, current: dict) -> Reply:
    """Take the answer to the current question and ask the next one."""
    name = current.get("step")
    if name in station.PLACE_STEPS:
        return _place(turn, current)
    return {"phone": _phone, "category": _category}.get(name, _description)(turn, current)


def my_requests(turn: Turn) -> Reply:
    """The follower's latest requests with their state (超期 shown) and the station's last word."""
    session = db.session()
    veteran = files.by_openid(session, turn.openid)
    mine = answers.mine(session, turn.openid, veteran)
    rows = list(
        session.scalars(
            select(HelpRequest).where(mine).order_by(HelpRequest.id.desc()).limit(LIST_LATEST)
        )
    )
    now = clock.utcnow()
    replies = timeline.last_replies(session, cipher(), [r.id for r in rows])
    items = [
        {
            "number": r.number,
            "category": r.category if r.kind == "求助" else r.kind,
            "status": sla.label(r, now),
            "date": _month_day(clock.local(r.created_at)),
            "reply": cases.cut(replies.get(r.id, ""), 40),
            "rate": r.status == "已办结",
        }
        for r in rows
    ]
    return Reply(render_template("replies/help_list.txt", items=items))


def _place(turn: Turn, current: dict) -> Reply:
    chosen = station.settle_place(turn, current, allow_township=True)
    if isinstance(chosen, Reply):
        return chosen
    return _ask_phone(turn, current, station_name=choices.short_name(chosen.name))


def _phone(turn: Turn, current: dict) -> Reply:
    try:
        phone = normalize_mobile(turn.text.translate(choices.SPOKEN_DIGITS))
    except InvalidInput as exc:
        return _ask_phone(turn, current, problem=str(exc))
    current["phone"] = cipher().encrypt(phone)
    return _ask_category(turn, current)


def _category(turn: Turn, current: dict) -> Reply:
    hit = choices.pick(turn.text, list(CATEGORIES))
    if hit is None:
        return _ask_category(turn, current, problem="not_found")
    current["category"] = CATEGORIES[hit]
    return _ask_description(turn, current)


def _description(turn: Turn, current: dict) -> Reply:
    text = turn.text.strip()
    if turn.has_location:
        return _ask_description(turn, current, problem="typed_please")
    if len(text) < MIN_DESCRIPTION:
        return _ask_description(turn, current, problem="too_short")
    if len(text) > MAX_DESCRIPTION:
        return _ask_description(turn, current, problem="too_long")
    return _submit(turn, current, text)


def _submit(turn: Turn, current: dict, description: str) -> Reply:
    session = db.session()
    place = session.get(Station, current["station_id"])
    desk = cases.make_desk()
    # The staff's notices are outbox rows in this same commit: no request without them.
    # The worker delivers them once it commits, or the sweep does if that task is lost.
    request, told = workflow.open_case(
        desk,
        openid=turn.openid,
        veteran_id=current.get("veteran_id"),
        station=place,
        category=current["category"],
        description=description,
        phone=cipher().decrypt(current["phone"]) if current.get("phone") else "",
    )
    if desk.outbox_ids:  # sent once the session commits (bot.queue)
        queue.enqueue("tasks.outbox.deliver", desk.outbox_ids)
    session.commit()
    dialog_state.clear(turn.openid)
    log.info("help request %s filed at station %s", request.id, place.id)
    # An honest promise: "已通知" only when someone was told; otherwise who will see it.
    return Reply(
        render_template(
            "replies/help_done.txt",
            number=request.number,
            category=request.category,
            station=choices.short_name(place.name) + "服务站",
            phone=routing.contact_station(place).phone,
            told=_nearest_told(place, {s.station_id for s in told}),
            hours=desk.settings.accept_hours,
            above=_above(place),
        )
    )


def _nearest_told(place: Station, told_at: set[int]) -> str:
    """The nearest station on the line whose staff were told ("" when nobody was)."""
    hit = next((s for s in place.lineage() if s.id in told_at), None)
    return choices.short_name(hit.name) + "服务站" if hit else ""


def _above(place: Station) -> str:
    """Who sees an untold case: the county's centre in its console (the top of the line)."""
    top = place.lineage()[-1]
    return choices.short_name(top.name) + ("服务中心" if top.level == "county" else "服务站")


def _ask_phone(turn: Turn, current: dict, problem: str = "", station_name: str = "") -> Reply:
    current["step"] = "phone"
    dialog_state.save(turn.openid, current)
    return Reply(
        render_template("replies/help_ask_phone.txt", problem=problem, station=station_name)
    )


def _ask_category(turn: Turn, current: dict, problem: str = "") -> Reply:
    current["step"] = "category"
    dialog_state.save(turn.openid, current)
    return Reply(
        render_template("replies/help_ask_category.txt", problem=problem, categories=CATEGORIES)
    )


def _ask_description(turn: Turn, current: dict, problem: str = "") -> Reply:
    current["step"] = "description"
    dialog_state.save(turn.openid, current)
    return Reply(
        render_template(
            "replies/help_ask_description.txt",
            problem=problem,
            category=current["category"],
            limit=MAX_DESCRIPTION,
        )
    )


def _month_day(moment) -> str:
    return f"{moment.month}月{moment.day}日"
