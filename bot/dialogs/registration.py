"""登记: consent, then name, ID, mobile, station, years, 民族, a masked summary and the 统一编号.

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
from bot.dialogs import choices, help_request, station
from bot.dialogs import state as dialog_state
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn
from bot.models import Station, Veteran
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
REDO = {"重填", "重新填", "全部重填", "重来"}
NAME_PATTERN = re.compile(r"^[\u3400-\u9fffA-Za-z·]+$")
# The common answers in Liangshan, offered by number; any other 民族 may be typed.
ETHNICITIES = ("彝族", "汉族", "藏族")
ETHNICITY_PATTERN = re.compile(r"^[\u3400-\u9fff]{1,14}族$")
# The summary's numbered lines, in order: answering a number (or "改手机号") asks
# that one question again and comes back to the summary.
FIELDS = (
    ("name", ("姓名", "名字")),
    ("id", ("身份证号", "身份证")),
    ("phone", ("手机号", "手机", "电话")),
    ("township", ("服务站", "村", "乡镇", "地址")),
    ("enlist", ("入伍年份", "入伍")),
    ("discharge", ("退役年份", "退役", "退伍")),
    ("ethnicity", ("民族",)),
)
# One wrong answer means another person's file (or a second file) is at stake:
# the account's own file must be corrected by the station, in person.
CORRECTION_YES = {"1", "１", "一", "要", "需要", "好", "好的", "更正"}


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
    if turn.has_location and name in STEPS and name not in ("consent", "correction"):
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
    return _next(turn, current, "id")


def _id(turn: Turn, current: dict) -> Reply:
    try:
        parsed = parse_id_number(turn.text.translate(choices.SPOKEN_DIGITS))
    except InvalidInput as exc:
        return _ask(turn, current, "id", problem=str(exc))
    if parsed.birth_date.year > clock.today().year - YOUNGEST_ENLISTMENT_AGE:
        return _ask(turn, current, "id", problem="too_young")
    session = db.session()
    own = files.by_openid(session, turn.openid)
    if own is not None and own.id_hash != cipher().lookup_hash(parsed.value):
        return _offer_correction(turn, current, own)
    other = files.find(session, cipher(), parsed.value)
    if other is not None and other.openid not in (None, turn.openid):
        return _refuse_taken(turn)
    current["id"] = cipher().encrypt(parsed.value)
    current["birth_year"] = parsed.birth_date.year
    return _next(turn, current, "phone")


def _offer_correction(turn: Turn, current: dict, own) -> Reply:
    """This account holds a file with another ID: no second file; offer the station's help."""
    current["step"], current["own_id"] = "correction", own.id
    dialog_state.save(turn.openid, current)
    log.info("registration stopped: account holds file %s under another ID", own.id)
    return Reply(
        render_template(
            "replies/registration_other_id.txt",
            file_no=own.file_no,
            id_masked=mask_id(cipher().decrypt(own.id_cipher)),
            station=choices.short_name(own.station.name) + "服务站",
        )
    )


def _correction(turn: Turn, current: dict) -> Reply:
    """Answer to the correction offer: 1 files a 档案更正 request at the file's station."""
    dialog_state.clear(turn.openid)
    if choices.normalise(turn.text) not in CORRECTION_YES:
        return Reply(render_template("replies/cancelled.txt"))
    own = db.session().get(Veteran, current["own_id"])
    request = {"dialog": "help", "veteran_id": own.id, "station_id": own.station_id}
    request["category"] = help_request.CORRECTION
    return help_request.submit(turn, request, "登记时发现身份证号与档案不一致，请核实更正。")


def _refuse_taken(turn: Turn) -> Reply:
    """The ID's file belongs to another account: say so now, not where that file is."""
    # Knowing an ID number must not be enough to take over someone's file from
    # another WeChat account, nor to learn where its owner lives; the station
    # checks in person. The veteran is helped to find their own station next.
    log.info("registration refused at the ID step: the file is bound to another account")
    if not directory.of_level(db.session(), "township"):
        dialog_state.clear(turn.openid)
        return Reply(render_template("replies/registration_taken.txt"))
    current = {"dialog": "station"}
    reply = station.ask_township(
        current,
        intro=render_template("replies/registration_taken.txt", ask_place=True),
        allow_township=True,
    )
    dialog_state.save(turn.openid, current)
    return reply


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
    if current.get("fixing"):
        return _next(turn, current, "township")
    reply = station.ask_township(current)
    dialog_state.save(turn.openid, current)
    return reply


def _place(turn: Turn, current: dict) -> Reply:
    chosen = station.settle_place(turn, current)
    if isinstance(chosen, Reply):
        return chosen
    return _next(turn, current, "enlist")


def _enlist(turn: Turn, current: dict) -> Reply:
    year, problem = parse_year(turn.text, current["birth_year"])
    if problem is None and year < current["birth_year"] + YOUNGEST_ENLISTMENT_AGE:
        problem = "enlist_early"
    if problem:
        return _ask(turn, current, "enlist", problem=problem)
    current["enlist"] = year
    return _next(turn, current, "discharge")


def _discharge(turn: Turn, current: dict) -> Reply:
    year, problem = parse_year(turn.text, current["birth_year"])
    if problem is None and year < current["enlist"]:
        problem = "discharge_before"
    if problem:
        return _ask(turn, current, "discharge", problem=problem)
    current["discharge"] = year
    return _next(turn, current, "ethnicity")


def _ethnicity(turn: Turn, current: dict) -> Reply:
    said = choices.normalise(turn.text)
    if f"{said}族" in ETHNICITIES:  # "彝", "藏": one character names them
        said += "族"
    hit = choices.pick(said, [*ETHNICITIES, "其他"])
    if hit is not None and hit < len(ETHNICITIES):
        current["ethnicity"] = ETHNICITIES[hit]
    elif ETHNICITY_PATTERN.match(said):
        current["ethnicity"] = said
    else:
        other = hit == len(ETHNICITIES)
        return _ask(turn, current, "ethnicity", problem="ethnicity_name" if other else "unclear")
    return _summary(turn, current)


def _next(turn: Turn, current: dict, name: str) -> Reply:
    """Ask the next question, or, while fixing one answer, go back to the summary.

    A fixed answer may leave a later one impossible (an ID whose birth year is
    after the enlistment): that question is asked again first.
    """
    if not current.get("fixing"):
        return _ask(turn, current, name)
    if name == "township" and "station_id" not in current:
        reply = station.ask_township(current)
        dialog_state.save(turn.openid, current)
        return reply
    if current["enlist"] < current["birth_year"] + YOUNGEST_ENLISTMENT_AGE:
        return _ask(turn, current, "enlist", problem="enlist_early")
    if current["discharge"] < current["enlist"]:
        return _ask(turn, current, "discharge", problem="discharge_before")
    return _summary(turn, current)


def _confirm(turn: Turn, current: dict) -> Reply:
    if turn.text in REDO:
        for key in (*(name for name, _ in FIELDS), "birth_year", "station_id", "fixing"):
            current.pop(key, None)
        return _ask(turn, current, "name", problem="restart")
    if turn.text in CONFIRM:
        return _save(turn, current)
    field = _field_to_fix(turn.text)
    if field is None:
        return _summary(turn, current, problem="not_confirmed")
    current["fixing"] = True
    if field == "township":
        current.pop("station_id", None)
        reply = station.ask_township(current)
        dialog_state.save(turn.openid, current)
        return reply
    return _ask(turn, current, field)


def _field_to_fix(text: str) -> str | None:
    """The summary line an answer picks: its number, or "改手机号", "手机号错了"…"""
    value = choices.normalise(text).removeprefix("改").removeprefix("修改")
    n = choices.number(value)
    if n is not None:
        return FIELDS[n - 1][0] if 1 <= n <= len(FIELDS) else None
    hits = {name for name, words in FIELDS if any(value.startswith(w) for w in words)}
    return hits.pop() if len(hits) == 1 else None


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
        ethnicity=current.get("ethnicity", ""),
        enlist_year=current["enlist"],
        discharge_year=current["discharge"],
    )
    before = files.find(session, cipher(), fields.id_number.value)
    outcome = "created"
    if before is not None and before.openid not in (None, turn.openid):
        # Knowing an ID number must not be enough to take over someone's file
        # from another WeChat account; the station checks in person.
        # Checked at the ID step too; this catches a binding made meanwhile.
        dialog_state.clear(turn.openid)
        log.info("registration refused: file %s is bound to another account", before.id)
        return Reply(render_template("replies/registration_taken.txt"))
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


def parse_year(text: str, born: int) -> tuple[int | None, str | None]:
    """A year from "2005", "2005年", "二零零五年", or "98年"/"九八年" when only one century fits.

    `born` is the birth year the ID gave: a year before it is said to be wrong,
    not asked for in another format.
    """
    value = choices.normalise(text).removesuffix("年")
    year = choices.number(value)
    this_year = clock.today().year
    if year is not None and len(value) == 2:
        fits = [c + year for c in (1900, 2000) if born <= c + year <= this_year]
        if len(fits) != 1:
            return None, "year_two_digits"
        year = fits[0]
    if year is None or not 1000 <= year <= 9999:
        return None, "year_format"
    if year > this_year:
        return None, "year_future"
    if year < born:
        return None, "year_before_birth"
    return year, None


def _ask(turn: Turn, current: dict, name: str, problem: str | None = None) -> Reply:
    current["step"] = name
    dialog_state.save(turn.openid, current)
    return Reply(
        render_template(
            f"replies/registration_ask_{name}.txt",
            problem=problem,
            enlist=current.get("enlist"),
            born=current.get("birth_year"),
            youngest=YOUNGEST_ENLISTMENT_AGE,
            ethnicities=ETHNICITIES,
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
            ethnicity=current.get("ethnicity", ""),
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
    "ethnicity": _ethnicity,
    "confirm": _confirm,
    "correction": _correction,
}
