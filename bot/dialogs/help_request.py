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
from bot.dialogs.reply import Reply, fitted
from bot.dialogs.turn import Turn
from bot.models import HelpRequest, Station
from bot.models.requests import CALLBACK, CATEGORIES
from bot.records import directory, files
from bot.records.identity import InvalidInput, normalize_mobile
from bot.requests import answers, recordings, routing, sla, timeline, workflow

log = logging.getLogger(__name__)

MIN_DESCRIPTION = 2
MAX_DESCRIPTION = 500
# 我的求助 lists the latest first, as many as a reply holds (bot.dialogs.reply);
# this only bounds the query for a follower who filed hundreds.
LIST_LATEST = 200
# Filed by registration when an account's file carries another ID number.
CORRECTION = "档案更正"
# The everyday words for each category, as veterans say them ("找工作", not 就业创业).
CATEGORY_WORDS = {
    "就业创业": ("找工作", "工作", "就业", "创业", "打工", "上班", "招聘", "培训", "技能", "贷款"),
    "帮扶解困": ("帮扶", "困难", "生活困难", "救助", "补助", "看病", "住院", "生病", "低保"),
    "信访": ("信访", "上访", "投诉", "反映问题", "举报"),
    "权益保障": ("权益", "维权", "待遇", "优待", "抚恤", "补贴", "保险", "养老"),
    "政策咨询": ("政策", "咨询", "问问"),
    "其他": ("其他", "别的", "其它"),
}
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
    intro = render_template("replies/help_unregistered.txt")
    reply = station.ask_township(current, intro=intro, allow_township=True)
    dialog_state.save(turn.openid, current)
    return reply


def call_back(turn: Turn, voice_ids: list[int]) -> Reply:
    """A 回电 request with the follower's recordings: filed now, or once they say where they are."""
    session = db.session()
    current = {"dialog": "help", "category": CALLBACK, "voice_ids": voice_ids}
    veteran = files.by_openid(session, turn.openid)
    if veteran is not None:
        current.update(veteran_id=veteran.id, station_id=veteran.station_id)
        return submit(turn, current, _callback_description(voice_ids))
    if not directory.of_level(session, "township"):
        dialog_state.clear(turn.openid)
        return Reply(render_template("replies/help_unavailable.txt"))
    intro = render_template("replies/callback_where.txt")
    reply = station.ask_township(current, intro=intro, allow_township=True)
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
        return submit(turn, current, _callback_description(current.get("voice_ids", [])))
    return _ask_category(turn, current)


def _category(turn: Turn, current: dict) -> Reply:
    hit = choices.pick(turn.text, list(CATEGORIES))
    category = CATEGORIES[hit] if hit is not None else category_of(turn.text)
    if category is None:
        return _ask_category(turn, current, problem="not_found")
    current["category"] = category
    return _ask_description(turn, current)


def category_of(text: str) -> str | None:
    """The one category whose everyday words the answer uses, if exactly one."""
    said = choices.normalise(text)
    found = {c for c, words in CATEGORY_WORDS.items() if any(w in said for w in words)}
    return found.pop() if len(found) == 1 else None


def _description(turn: Turn, current: dict) -> Reply:
    text = turn.text.strip()
    if turn.has_location:
        return _ask_description(turn, current, problem="typed_please")
    if len(text) < MIN_DESCRIPTION:
        return _ask_description(turn, current, problem="too_short")
    if len(text) > MAX_DESCRIPTION:
        return _ask_description(turn, current, problem="too_long")
    return submit(turn, current, text)


def submit(turn: Turn, current: dict, description: str) -> Reply:
    """File the request `current` describes (station, category, veteran or phone)."""
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
        voice_ids=current.get("voice_ids", []),
    )
    if desk.outbox_ids:  # sent once the session commits (bot.queue)
        queue.enqueue("tasks.outbox.deliver", desk.outbox_ids)
    for voice in recordings.of_request(session, request.id):
        if voice.state == "waiting":  # its download task lost (Redis emptied): ask again
            queue.enqueue("tasks.bot.fetch_voice", voice.id)
    session.commit()
    dialog_state.clear(turn.openid)
    log.info("help request %s filed at station %s", request.id, place.id)
    done = "replies/callback_done.txt" if request.category == CALLBACK else "replies/help_done.txt"
    # An honest promise: "已通知" only when someone was told; otherwise who will see it.
    return Reply(
        render_template(
            done,
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
