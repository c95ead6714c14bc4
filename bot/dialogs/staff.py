"""Station staff's commands over WeChat: log a call or visit, see who is due, condolence lists.

Only a bound staff member (a Staff row with the sender's openid) is answered
here; for anyone else the words mean nothing special and the router carries
on as usual. Each command is one message, typed or spoken:

    走访 <统一编号> [情况]    电话 <统一编号> [情况]    待走访    慰问名单
"""

from __future__ import annotations

import logging
import re

from flask import render_template

from bot import clock, db
from bot.care import contacts
from bot.crypto import cipher
from bot.dialogs.reply import Reply, fitted
from bot.dialogs.turn import Turn
from bot.models import Staff
from bot.records.directory import short_name

log = logging.getLogger(__name__)

KIND_WORDS = {"走访": "visit", "上门": "visit", "电话": "phone"}
DUE_WORDS = {"待走访", "走访名单", "本月名单", "未联系"}
CONDOLENCE_WORDS = {"慰问名单"}
# Between the command, the number and the note: what typing and speech put there.
SEPARATORS = " \t\r\n\u3000,，、:：;；"
NUMBER = re.compile(r"[0-9０-９A-Za-zＡ-Ｚａ-ｚ\-－—–_杠]+")


def handle(turn: Turn) -> Reply | None:
    """A staff command's reply; None when the text is no command or the sender no staff."""
    text = turn.text.replace("\u3000", " ").strip()
    words = (*KIND_WORDS, *DUE_WORDS, *CONDOLENCE_WORDS)
    if not text.startswith(words):
        return None  # most messages: no database look-up at all
    member = contacts.staff_by_openid(db.session(), turn.openid)
    if member is None:
        return None
    if text in DUE_WORDS:
        return due_list(member)
    if text in CONDOLENCE_WORDS:
        return condolence_list(member)
    parsed = parse(text)
    if parsed is None:
        return _format(member)
    return log_contact(member, *parsed)


def parse(text: str) -> tuple[str, str, str] | None:
    """(kind, number, note) from "走访 513429104201-0001 情况"; None without a number."""
    word = next((w for w in KIND_WORDS if text.startswith(w)), None)
    if word is None:
        return None
    rest = text.removeprefix(word).lstrip(SEPARATORS)
    found = NUMBER.match(rest)
    if found is None or not any(ch.isdigit() for ch in found.group()):
        return None
    note = rest[found.end() :].strip(SEPARATORS)
    return KIND_WORDS[word], found.group(), note


def log_contact(member: Staff, kind: str, number: str, note: str) -> Reply:
    """Record the call or visit if the veteran is in the member's area, and say what is left."""
    session = db.session()
    area = member.station
    veteran = contacts.by_file_no(session, number)
    shown = contacts.normalise_file_no(number)
    if veteran is None:
        return Reply(
            render_template("replies/staff_unknown.txt", file_no=shown, example=_example(member))
        )
    if not contacts.in_area(session, area, veteran):
        # Name nobody: the file is outside what this member may see.
        log.info("staff %s refused: veteran %s is outside their area", member.id, veteran.id)
        return Reply(
            render_template("replies/staff_refused.txt", file_no=shown, area=_area(member))
        )
    day = clock.today()
    logged = contacts.record_once(
        session, cipher(), veteran, kind, day, note, staff=member, source="wechat"
    )
    session.commit()
    # The note is never logged: it may hold health or family matters.
    log.info("staff %s recorded a %s with veteran %s", member.id, kind, veteran.id)
    remaining = contacts.due(session, area, day)
    return Reply(
        render_template(
            "replies/staff_logged.txt",
            kind=contacts.KINDS[kind],
            name=veteran.name,
            file_no=veteran.file_no,
            day=day.isoformat(),
            has_note=bool(note),
            still_owed=kind == "phone" and contacts.needs_visit(veteran),
            reason=contacts.Due(veteran, True).reason,
            area=_area(member),
            remaining=len(remaining),
            remaining_visits=sum(d.needs_visit for d in remaining),
            repeated=logged.contact is None,
            earlier=logged.said(),
        )
    )


def due_list(member: Staff) -> Reply:
    """The member's area's veterans not yet contacted this month, visit-owed first."""
    day = clock.today()
    rows = contacts.due(db.session(), member.station, day)
    return Reply(
        fitted(
            "replies/staff_due.txt",
            "rows",
            rows,
            area=_area(member),
            month=f"{day.month}月",
            total=len(rows),
            visits=sum(d.needs_visit for d in rows),
            code=member.station.code,
        )
    )


def condolence_list(member: Staff) -> Reply:
    """The member's area's condolence-visit list for the next Spring Festival or Army Day."""
    rows = contacts.condolence_list(db.session(), member.station)
    on, occasion = contacts.next_occasion(clock.today())
    return Reply(
        fitted(
            "replies/staff_condolence.txt",
            "rows",
            rows,
            area=_area(member),
            occasion=occasion,
            on=on,
            total=len(rows),
            code=member.station.code,
        )
    )


def _format(member: Staff) -> Reply:
    return Reply(render_template("replies/staff_format.txt", example=_example(member)))


def _area(member: Staff) -> str:
    return short_name(member.station.name)


def _example(member: Staff) -> str:
    """A real 统一编号 from the member's area, so the example can be sent as it is."""
    return contacts.example_file_no(db.session(), member.station) or f"{member.station.code}-0001"
