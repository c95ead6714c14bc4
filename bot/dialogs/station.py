"""联系服务站: a veteran's station contacts; and choosing a station, shared by every dialog.

Choosing a station is a small sub-dialog (township, then village, or a shared
location and a confirmation). Registration and help requests run it too: they
hand their state to take_place() until it returns a Station.
"""

from __future__ import annotations

import functools
import logging

import redis
from flask import Flask, current_app, render_template
from sqlalchemy import event
from sqlalchemy.orm import Session

from bot import db, store
from bot.dialogs import choices
from bot.dialogs import state as dialog_state
from bot.dialogs.reply import Reply, fitted
from bot.dialogs.turn import Turn
from bot.models import Station
from bot.records import directory

log = logging.getLogger(__name__)
_TOUCHED = "bot.station_cards.touched"
PLACE_STEPS = ("township", "village", "nearest")
YES = {"是", "是的", "对", "对的", "确认", "好", "好的", "嗯", "没错", "就是"}
NO = {"不是", "不对", "否", "不", "错了", "重选", "换一个"}
# Answers at the village step that mean "just my township's station, please".
UNSURE = {"不清楚", "不知道", "不晓得", "乡镇", "找乡镇"}


def start(turn: Turn) -> Reply:
    """A registered veteran gets their stations; others are asked where they are."""
    session = db.session()
    seen = dialog_state.read(directory.CARDS_VERSION_KEY)  # read with the webhook's claim
    version = directory.cards_version(store.client(), seen)
    cards = directory.home_cards(
        session, turn.openid, version, current_app.extensions["station_cards"]
    )
    if cards is not None:
        return Reply(_registered_contact(cards))
    if not directory.of_level(session, "township"):
        return Reply(render_template("replies/station_none.txt"))
    current = {"dialog": "station"}
    intro = render_template("replies/station_intro.txt")
    reply = ask_township(current, intro=intro, allow_township=True)
    dialog_state.save(turn.openid, current)
    return reply


def step(turn: Turn, current: dict) -> Reply:
    """Take the township, village or location answer, then show the contacts."""
    chosen = take_place(turn, current, allow_township=True)
    if isinstance(chosen, Reply):
        dialog_state.save(turn.openid, current)
        return chosen
    dialog_state.clear(turn.openid)
    return contact(chosen)


def nearest(turn: Turn) -> Reply:
    """A location shared outside any dialog: the nearest station and its township's."""
    found = _nearest(turn)
    if found is None:
        return Reply(render_template("replies/station_none.txt"))
    station, km = found
    if km > current_app.config["NEAREST_STATION_MAX_KM"]:
        return _far_away(km)
    return contact(station, km=km)


def _far_away(km: float, then: str = "") -> Reply:
    """A place beyond every station's reach: say so, and give the county centres' phones."""
    counties = [c for c in directory.of_level(db.session(), "county") if c.phone]
    return Reply(
        render_template(
            "replies/station_far.txt",
            distance=_distance(km),
            counties=[(choices.short_name(c.name), c.phone) for c in counties],
            then=then,
        )
    )


def contact(station: Station, km: float | None = None) -> Reply:
    """Name, head, phone, address and hours of a station and of its township."""
    line = [s for s in station.lineage() if s.level in ("village", "township")] or [station]
    cards = [directory.Card(*(getattr(s, f) for f in directory.CARD_FIELDS)) for s in line]
    distance = None if km is None else _distance(km)
    return Reply(fitted("replies/station_contact.txt", "stations", cards, distance=distance))


@functools.lru_cache(maxsize=4096)
def _registered_contact(cards: tuple[directory.Card, ...]) -> str:
    # Keyed by the cards' content, so it can never answer with old details;
    # the cards themselves come from the directory's cache on most calls.
    return fitted("replies/station_contact.txt", "stations", cards, registered=True)


def init_app(app: Flask) -> None:
    """Give the app its station-card cache, and drop it after commits that change the cards.

    Every commit made through the app's sessions that touched a station or a
    veteran's file drops the cached cards, in whichever process made it (the
    webhook, a command, a task). An edit made outside the ORM (SQL by hand)
    shows once the web workers restart.
    """
    app.extensions["station_cards"] = directory.CardCache()
    sessions = app.extensions["db"]

    def note_touched(session: Session, _context) -> None:
        if directory.touches_cards(session):
            session.info[_TOUCHED] = True

    def drop_after_commit(session: Session) -> None:
        # A flush that was rolled back may leave the mark: one needless drop, harmless.
        if not session.info.pop(_TOUCHED, False):
            return
        try:
            directory.drop_cards(store.client(app))
        except redis.RedisError:
            # The commit stands; only the cache may lag. Say so without any data.
            log.warning("could not drop the cached station cards: Redis unavailable")

    event.listen(sessions, "after_flush", note_touched)
    event.listen(sessions, "after_commit", drop_after_commit)


# -- choosing a station (shared with registration and help requests) ----------


def ask_township(
    current: dict, note: str = "", intro: str = "", allow_township: bool = False
) -> Reply:
    """Ask for the township: numbered when the list is short, by name otherwise.

    With one township in the directory there is nothing to choose: its villages
    are asked straight away.
    """
    townships = directory.of_level(db.session(), "township")
    if len(townships) == 1 and directory.children(db.session(), townships[0]):
        return ask_village(townships[0], current, allow_township, intro=intro)
    current["step"] = "township"
    listed = len(townships) <= choices.LIST_LIMIT
    current["options"] = [t.id for t in townships] if listed else []
    return _township_prompt(townships if listed else [], townships, note, intro)


def take_place(turn: Turn, current: dict, allow_township: bool = False) -> Station | Reply:
    """Advance the station choice by one answer: the chosen Station, or the next question."""
    if turn.has_location:
        return _offer_nearest(turn, current)
    text = turn.text
    if current.get("step") == "nearest":
        if text in YES:
            return _accept_nearest(current, allow_township)
        if text in NO:
            return ask_township(current, allow_township=allow_township)
        if choices.number(text) is not None or not _names_a_place(text):
            return _confirm_nearest(current, note="yes_or_no")
        # A place's name typed instead of 是/不是 is taken as the answer.
    if current.get("step") == "village":
        return _take_village(text, current, allow_township)
    return _take_township(text, current, allow_township)


def settle_place(turn: Turn, current: dict, allow_township: bool = False) -> Station | Reply:
    """take_place for a host dialog: save it while asking, tidy its keys once chosen."""
    chosen = take_place(turn, current, allow_township)
    if isinstance(chosen, Reply):
        dialog_state.save(turn.openid, current)
        return chosen
    for key in ("options", "township_id", "nearest_id"):
        current.pop(key, None)
    current["station_id"] = chosen.id
    return chosen


def _take_township(text: str, current: dict, allow_township: bool) -> Station | Reply:
    session = db.session()
    townships = directory.of_level(session, "township")
    listed = [s for i in current.get("options") or [] if (s := session.get(Station, i))]
    n = choices.number(text)
    if listed and n is not None:
        found = [listed[n - 1]] if 1 <= n <= len(listed) else []
    else:
        found = [townships[i] for i in choices.matches(text, [t.name for t in townships], False)]
    if len(found) == 1:
        return ask_village(found[0], current, allow_township)
    if len(found) > 1:
        # Same name in two counties: list just those, numbered, and ask again.
        current["step"], current["options"] = "township", [t.id for t in found]
        return _township_prompt(found, townships, "ambiguous")
    # People often name their village straight away; take it when it is unique.
    villages = directory.of_level(session, "village")
    hit = choices.pick(text, [v.name for v in villages], numbered=False)
    if hit is not None:
        return villages[hit]
    return ask_township(current, note="not_found")


def _names_a_place(text: str) -> bool:
    session = db.session()
    return any(
        choices.pick(text, [s.name for s in directory.of_level(session, level)], False) is not None
        for level in ("township", "village")
    )


def _accept_nearest(current: dict, allow_township: bool) -> Station | Reply:
    """The offered station; above village level, the choice goes on below it when needed."""
    chosen = db.session().get(Station, current["nearest_id"])
    if chosen.level == "village" or allow_township:
        return chosen
    if chosen.level == "township":
        return ask_village(chosen, current, allow_township)
    return ask_township(current)


def ask_village(
    township: Station,
    current: dict,
    allow_township: bool = False,
    note: str = "",
    intro: str = "",
) -> Station | Reply:
    """Ask for the village under a township; a township without villages is the answer."""
    villages = directory.children(db.session(), township)
    if not villages:
        return township
    listed = len(villages) <= choices.LIST_LIMIT
    current["step"], current["township_id"] = "village", township.id
    return Reply(
        fitted(
            "replies/station_choose_village.txt",
            "options",
            _labels(villages) if listed else [],
            intro=intro,
            note=note,
            township=choices.short_name(township.name),
            example=choices.short_name(villages[0].name),
            allow_township=allow_township,
        )
    )


def _take_village(text: str, current: dict, allow_township: bool) -> Station | Reply:
    township = db.session().get(Station, current["township_id"])
    if allow_township and (text in UNSURE or choices.number(text) == 0):
        return township
    villages = directory.children(db.session(), township)
    listed = len(villages) <= choices.LIST_LIMIT
    hit = choices.pick(text, _labels(villages), numbered=listed)
    if hit is not None:
        return villages[hit]
    if choices.number(text) is None and text not in NO:
        # A township named instead (a change of mind) starts the choice over.
        townships = directory.of_level(db.session(), "township")
        other = choices.pick(text, [t.name for t in townships], numbered=False)
        if other is not None:
            return _take_township(text, current, allow_township)
    return ask_village(township, current, allow_township, note="not_found")


def _offer_nearest(turn: Turn, current: dict) -> Reply:
    found = _nearest(turn)
    if found is None:
        return ask_township(current, note="no_nearby")
    station, km = found
    if km > current_app.config["NEAREST_STATION_MAX_KM"]:
        ask = ask_township(current)
        return Reply(_far_away(km, then=ask.text).text)
    current["step"], current["nearest_id"], current["nearest_km"] = "nearest", station.id, km
    return _confirm_nearest(current)


def _confirm_nearest(current: dict, note: str = "") -> Reply:
    station = db.session().get(Station, current["nearest_id"])
    township = station.ancestor("township") if station.level == "village" else None
    return Reply(
        render_template(
            "replies/station_confirm_nearest.txt",
            note=note,
            station=choices.short_name(station.name),
            township=choices.short_name(township.name) if township else "",
            distance=_distance(current["nearest_km"]),
        )
    )


def _nearest(turn: Turn) -> tuple[Station, float] | None:
    # Every level: at the county town the county centre is nearer than any village.
    return directory.nearest(db.session(), turn.lat, turn.lon)


def _township_prompt(options: list[Station], townships: list[Station], note: str, intro: str = ""):
    return Reply(
        fitted(
            "replies/station_choose_township.txt",
            "options",
            _labels(options),
            intro=intro,
            note=note,
            example=choices.short_name(townships[0].name) if townships else "九都镇",
        )
    )


def _labels(stations: list[Station]) -> list[str]:
    """Short names; with more than one county, the county follows in brackets."""
    counties = {s.parent_id for s in stations if s.level == "township"}
    if len(counties) <= 1:
        return [choices.short_name(s.name) for s in stations]
    return [
        f"{choices.short_name(s.name)}（{choices.short_name(s.parent.name)}）" for s in stations
    ]


def _distance(km: float) -> str:
    """Distance as people say it: 不到1公里, 约3.2公里, 约25公里."""
    if km < 1:
        return "不到1公里"
    return f"约{km:.1f}公里" if km < 10 else f"约{km:.0f}公里"
