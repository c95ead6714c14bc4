"""求助: category, description, a request number, and staff told by template message (the outbox).

A registered veteran goes straight to the category. Anyone else first says
where they are (township, village or a shared location) and gives a mobile
number, so the station can call back, or is offered 登记 instead.
"""

from __future__ import annotations

import logging

from flask import current_app, render_template
from sqlalchemy import or_, select

from bot import clock, db, queue
from bot.crypto import cipher
from bot.dialogs import choices, station
from bot.dialogs import state as dialog_state
from bot.dialogs.reply import Reply, fitted
from bot.dialogs.turn import Turn
from bot.models import HelpRequest, Station
from bot.models.requests import CALLBACK, CATEGORIES
from bot.records import directory, files
from bot.records.identity import InvalidInput, normalize_mobile
from bot.requests import notices, recordings

log = logging.getLogger(__name__)

MIN_DESCRIPTION = 2
MAX_DESCRIPTION = 500
# 我的求助 lists the latest first, as many as a reply holds (bot.dialogs.reply);
# this only bounds the query for a follower who filed hundreds.
LIST_LATEST = 200
# Timestamps are stored in UTC; veterans read Beijing time.


def number_for(request_id: int) -> str:
    """The request number a veteran quotes: QZ and the zero-padded id."""
    return f"QZ{request_id:06d}"


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


def call_back(turn: Turn, voice_ids: list[int]) -> Reply:
    """A 回电 request with the follower's recordings: filed now, or once they say where they are."""
    session = db.session()
    current = {"dialog": "help", "category": CALLBACK, "voice_ids": voice_ids}
    veteran = files.by_openid(session, turn.openid)
    if veteran is not None:
        current.update(veteran_id=veteran.id, station_id=veteran.station_id)
        return _submit(turn, current, _callback_description(voice_ids))
    if not directory.of_level(session, "township"):
        dialog_state.clear(turn.openid)
        return Reply(render_template("replies/help_unavailable.txt"))
    reply = station.ask_township(current, intro=render_template("replies/callback_where.txt"))
    dialog_state.save(turn.openid, current)
    return reply


def step(turn: Turn, current: dict) -> Reply:
    """Take the answer to the current question and ask the next one."""
    name = current.get("step")
    if name in station.PLACE_STEPS:
        return _place(turn, current)
    return {"phone": _phone, "category": _category}.get(name, _description)(turn, current)


def my_requests(turn: Turn) -> Reply:
    """The follower's latest requests with their status."""
    session = db.session()
    veteran = files.by_openid(session, turn.openid)
    mine = HelpRequest.openid == turn.openid
    if veteran is not None:
        mine = or_(mine, HelpRequest.veteran_id == veteran.id)
    rows = session.scalars(
        select(HelpRequest).where(mine).order_by(HelpRequest.id.desc()).limit(LIST_LATEST)
    )
    items = [
        {
            "number": r.number,
            "category": r.category,
            "status": r.status,
            "date": _month_day(clock.local(r.created_at)),
        }
        for r in rows
    ]
    return Reply(fitted("replies/help_list.txt", "items", items))


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
    if current.get("category") == CALLBACK:
        return _submit(turn, current, _callback_description(current.get("voice_ids", [])))
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
    request = HelpRequest(
        openid=turn.openid,
        veteran_id=current.get("veteran_id"),
        station=place,
        category=current["category"],
        description=description,
        contact_phone=cipher().decrypt(current["phone"]) if current.get("phone") else "",
    )
    session.add(request)
    session.flush()
    request.number = number_for(request.id)
    url = _recordings_link(session, request, current.get("voice_ids", []))
    # The staff's notices are outbox rows in this same commit: no request without them.
    # The worker delivers them once it commits, or the sweep does if that task is lost.
    template_id = current_app.config["WECHAT_TEMPLATE_HELP_REQUEST"]
    if ids := notices.add(session, request, template_id, url=url):
        queue.enqueue("tasks.outbox.deliver", ids)
    session.commit()
    dialog_state.clear(turn.openid)
    log.info("help request %s filed at station %s", request.id, place.id)
    done = "replies/callback_done.txt" if request.category == CALLBACK else "replies/help_done.txt"
    return Reply(
        render_template(
            done,
            number=request.number,
            category=request.category,
            station=choices.short_name(place.name) + "服务站",
            phone=place.phone,
        )
    )


def _recordings_link(session, request: HelpRequest, voice_ids: list[int]) -> str:
    """The signed link to the request's recordings for the staff's notice; "" without any."""
    voices = recordings.attach(session, request, voice_ids)
    for voice in voices:
        if voice.state == "waiting":  # its download task lost (Redis emptied): ask again
            queue.enqueue("tasks.bot.fetch_voice", voice.id)
    if not voices:
        return ""
    cfg = current_app.config
    return recordings.link(cfg["SECRET_KEY"], cfg["PUBLIC_URL"], request.number)


def _callback_description(voice_ids: list[int]) -> str:
    return f"语音留言，请回电（录音{len(voice_ids)}段）"


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
