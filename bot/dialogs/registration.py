"""登记: consent, then name, ID, mobile, station, years, a masked summary and the file number.

Nothing personal is kept before the veteran says 同意. While the dialog is
open, the ID and mobile numbers sit in Redis encrypted with the field cipher,
so a Redis dump or a debugging session never shows them in the clear.
"""

from __future__ import annotations

import logging
import re

from flask import render_template

from bot import clock, db, queue
from bot.crypto import cipher, mask_id, mask_phone
from bot.dialogs import choices, station
from bot.dialogs import state as dialog_state
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn
from bot.models import Station
from bot.records import consent, directory, files
from bot.records.identity import (
    YOUNGEST_ENLISTMENT_AGE,
    InvalidInput,
    normalize_mobile,
    parse_id_number,
)

log = logging.getLogger(__name__)

AGREE = {"同意", "我同意", "同意的", "好的同意", "同意登记"}
CONFIRM = {"确认", "确定", "对", "是", "对的", "没错", "无误", "正确"}
REDO = {"重填", "重新填", "修改", "改", "不对", "重来"}
NAME_PATTERN = re.compile(r"^[\u3400-\u9fffA-Za-z·]+$")


def start(turn: Turn) -> Reply:
    """Open registration with the consent text; nothing is stored until 同意."""
    existing = files.by_openid(db.session(), turn.openid)
    dialog_state.save(turn.openid, {"dialog": "registration", "step": "consent"})
    return Reply(
        render_template(
            "replies/registration_consent.txt", file_no=existing.file_no if existing else ""
        )
    )


def step(turn: Turn, current: dict) -> Reply:
    """Take the answer to the current question and ask the next one."""
    name = current.get("step")
    if name in station.PLACE_STEPS:
        return _place(turn, current)
    if turn.has_location and name == "confirm":
        return _summary(turn, current, problem="typed_please")
    if turn.has_location and name in STEPS and name != "consent":
        return _ask(turn, current, name, problem="typed_please")
    return STEPS.get(name, _consent)(turn, current)


def _consent(turn: Turn, current: dict) -> Reply:
    if turn.text not in AGREE:
        dialog_state.clear(turn.openid)
        return Reply(render_template("replies/registration_declined.txt"))
    session = db.session()
    consent.record(session, turn.openid)
    session.commit()
    return _ask(turn, current, "name", problem="agreed")


def _name(turn: Turn, current: dict) -> Reply:
    value = re.sub(r"\s+", "", turn.text).replace("•", "·").replace("．", "·")
    problem = None
    if len(value) < 2:
        problem = "name_short"
    elif len(value) > 20:
        problem = "name_long"
    elif not NAME_PATTERN.match(value):
        problem = "name_bad"
    if problem:
        return _ask(turn, current, "name", problem=problem)
    current["name"] = value
    return _ask(turn, current, "id")


def _id(turn: Turn, current: dict) -> Reply:
    try:
        parsed = parse_id_number(turn.text.translate(choices.SPOKEN_DIGITS))
    except InvalidInput as exc:
        return _ask(turn, current, "id", problem=str(exc))
    if parsed.birth_date.year > clock.today().year - YOUNGEST_ENLISTMENT_AGE:
        return _ask(turn, current, "id", problem="too_young")
    current["id"] = cipher().encrypt(parsed.value)
    current["birth_year"] = parsed.birth_date.year
    return _ask(turn, current, "phone")


def _phone(turn: Turn, current: dict) -> Reply:
    try:
        phone = normalize_mobile(turn.text.translate(choices.SPOKEN_DIGITS))
    except InvalidInput as exc:
        return _ask(turn, current, "phone", problem=str(exc))
    if not directory.of_level(db.session(), "township"):
        # Only before the directory is first imported; the answers so far are dropped.
        dialog_state.clear(turn.openid)
        return Reply(render_template("replies/registration_unavailable.txt"))
    current["phone"] = cipher().encrypt(phone)
    reply = station.ask_township(current)
    dialog_state.save(turn.openid, current)
    return reply


def _place(turn: Turn, current: dict) -> Reply:
    chosen = station.settle_place(turn, current)
    if isinstance(chosen, Reply):
        return chosen
    return _ask(turn, current, "enlist")


def _enlist(turn: Turn, current: dict) -> Reply:
    year, problem = parse_year(turn.text)
    if problem is None and year < current["birth_year"] + YOUNGEST_ENLISTMENT_AGE:
        problem = "enlist_early"
    if problem:
        return _ask(turn, current, "enlist", problem=problem)
    current["enlist"] = year
    return _ask(turn, current, "discharge")


def _discharge(turn: Turn, current: dict) -> Reply:
    year, problem = parse_year(turn.text)
    if problem is None and year < current["enlist"]:
        problem = "discharge_before"
    if problem:
        return _ask(turn, current, "discharge", problem=problem)
    current["discharge"] = year
    return _summary(turn, current)


def _confirm(turn: Turn, current: dict) -> Reply:
    if turn.text in REDO:
        for key in ("name", "id", "phone", "birth_year", "station_id", "enlist", "discharge"):
            current.pop(key, None)
        return _ask(turn, current, "name", problem="restart")
    if turn.text not in CONFIRM:
        return _summary(turn, current, problem="not_confirmed")
    return _save(turn, current)


def _save(turn: Turn, current: dict) -> Reply:
    session = db.session()
    place = session.get(Station, current["station_id"])
    if place is None:  # the directory changed while the veteran was typing
        reply = station.ask_township(current)
        dialog_state.save(turn.openid, current)
        return reply
    fields = files.FileFields(
        name=current["name"],
        id_number=parse_id_number(cipher().decrypt(current["id"])),
        station=place,
        phone=cipher().decrypt(current["phone"]),
        enlist_year=current["enlist"],
        discharge_year=current["discharge"],
    )
    before = files.find(session, cipher(), fields.id_number.value)
    outcome = "created"
    if before is not None and before.openid not in (None, turn.openid):
        # Knowing an ID number must not be enough to take over someone's file
        # from another WeChat account; the station checks in person.
        dialog_state.clear(turn.openid)
        log.info("registration refused: file %s is bound to another account", before.id)
        return Reply(render_template("replies/registration_taken.txt", station=before.station))
    if before is not None:
        outcome = "updated" if before.openid == turn.openid else "claimed"
    veteran, _created = files.save(session, cipher(), fields, openid=turn.openid)
    queue.enqueue("tasks.bot.tag_veteran", veteran.id)
    session.commit()
    dialog_state.clear(turn.openid)
    # Only ids and the outcome: names, ID and phone numbers never reach the logs.
    log.info("registration saved veteran=%s outcome=%s", veteran.id, outcome)
    return Reply(
        render_template("replies/registration_done.txt", outcome=outcome, file_no=veteran.file_no)
    )


def parse_year(text: str) -> tuple[int | None, str | None]:
    """A four-digit year from "2005", "2005年" or "二零零五年"; or a problem key."""
    value = choices.normalise(text).removesuffix("年")
    year = choices.number(value)
    if year is None or not 1900 <= year <= 2999:
        return None, "year_format"
    if year > clock.today().year:
        return None, "year_future"
    return year, None


def _ask(turn: Turn, current: dict, name: str, problem: str | None = None) -> Reply:
    current["step"] = name
    dialog_state.save(turn.openid, current)
    return Reply(
        render_template(
            f"replies/registration_ask_{name}.txt",
            problem=problem,
            enlist=current.get("enlist"),
            youngest=YOUNGEST_ENLISTMENT_AGE,
        )
    )


def _summary(turn: Turn, current: dict, problem: str | None = None) -> Reply:
    current["step"] = "confirm"
    dialog_state.save(turn.openid, current)
    place = db.session().get(Station, current["station_id"])
    parsed = parse_id_number(cipher().decrypt(current["id"]))
    line = [choices.short_name(s.name) for s in reversed(place.lineage()) if s.level != "county"]
    return Reply(
        render_template(
            "replies/registration_summary.txt",
            name=current["name"],
            gender=parsed.gender,
            birth=f"{parsed.birth_date.year}年",  # what the file keeps: the year only
            id_masked=mask_id(parsed.value),
            phone_masked=mask_phone(cipher().decrypt(current["phone"])),
            station=" ".join(line),
            enlist=current["enlist"],
            discharge=current["discharge"],
            problem=problem,
            youngest=YOUNGEST_ENLISTMENT_AGE,
        )
    )


STEPS = {
    "consent": _consent,
    "name": _name,
    "id": _id,
    "phone": _phone,
    "enlist": _enlist,
    "discharge": _discharge,
    "confirm": _confirm,
}
