"""Station staff work their cases over WeChat: 签收, 回复, 备注, 补充, 办结, 转办 and 待办.

Only a bound staff member is answered here; for anyone else these words
mean nothing special. One message per command, typed or spoken; full-width
digits and letters, spoken 杠 and stray spaces in the number are tolerated:

    签收 QZ000123         回复 QZ000123 <text>     备注 QZ000123 <text>
    补充 QZ000123 <question>    办结 QZ000123 <answer>    转办 QZ000123 <station>
    待办

A staff member may act on the cases of their station and the stations under
it (bot.requests.scope). `帮助`, or anything the bot does not understand from
a bound staff member, lists the commands with an example built from a real
case number of their area.
"""

from __future__ import annotations

import logging
import re
import unicodedata

from flask import current_app
from sqlalchemy import select

from bot import db, queue, store
from bot.care import contacts
from bot.crypto import cipher
from bot.dialogs import menu
from bot.dialogs.reply import Reply, fitted
from bot.dialogs.turn import Turn
from bot.models import HelpRequest, Staff, Station, Veteran
from bot.records import directory
from bot.records.directory import short_name
from bot.requests import scope, sla, workflow
from bot.requests.desk import Desk
from bot.requests.settings import CaseSettings

log = logging.getLogger(__name__)

ACTIONS = ("签收", "回复", "备注", "补充", "办结", "转办")
# Commands that need words after the number, and what to call them in a prompt.
NEEDS_TEXT = {
    "回复": "回复内容",
    "备注": "备注内容",
    "补充": "要求助人补充的问题",
    "办结": "办理结果",
    "转办": "服务站名称或编号",
}
TODO_WORDS = {"待办", "我的待办", "待办求助"}
HELP_WORDS = {"帮助", "帮忙", "怎么用", "命令"}
UP_WORDS = {"上级", "上一级"}
# QZ000123 as typed or spoken: full-width letters and digits, 杠 or dashes between digits.
_GAP = r"[\s\u3000杠\-－—–]*"
CASE_NUMBER = re.compile(rf"(?:[QqＱｑ][ZzＺｚ])?{_GAP}([0-9０-９](?:{_GAP}[0-9０-９])*)")
SEPARATORS = " \t\r\n,，、:：;；。"
SHOWN_CHARS = 300


def make_desk() -> Desk:
    """A desk over this request's session, with the app's settings."""
    return Desk(
        db.session(), cipher(), store.client(), CaseSettings.from_config(current_app.config)
    )


def commit(desk: Desk) -> None:
    """Commit the desk's work; its notices are queued for delivery with the commit."""
    if desk.outbox_ids:  # sent once the session commits (bot.queue)
        queue.enqueue("tasks.outbox.deliver", desk.outbox_ids)
    desk.session.commit()


def case_number(digits: str) -> str | None:
    """QZ and the zero-padded digits of a number as typed (full-width, 杠, dashes); None if long."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKC", digits) if ch.isdigit())
    return f"QZ{int(plain):06d}" if 0 < len(plain) <= 9 else None


def staff_member(openid: str) -> Staff | None:
    """The staff member bound to this openid."""
    return contacts.staff_by_openid(db.session(), openid)


def handle(turn: Turn) -> Reply | None:
    """A case command's reply; None when the text is no command or the sender no staff."""
    text = turn.text.replace("\u3000", " ").strip()
    if text not in TODO_WORDS and not text.startswith(ACTIONS):
        return None  # most messages: no database look-up at all
    member = staff_member(turn.openid)
    if member is None:
        return None
    if text in TODO_WORDS:
        return todo(member)
    action = next(a for a in ACTIONS if text.startswith(a))
    rest = text.removeprefix(action).lstrip(SEPARATORS)
    found = CASE_NUMBER.match(rest)
    number = case_number(found.group(1)) if found else None
    if number is None:
        return Reply(f"请在“{action}”后写上求助编号。\n" + _usage(member))
    words = rest[found.end() :].strip(SEPARATORS)
    if action in NEEDS_TEXT and not words:
        return Reply(f"请在编号后写上{NEEDS_TEXT[action]}，比如：\n{_example(action, number)}")
    return act(member, action, number, words)


def act(member: Staff, action: str, number: str, words: str) -> Reply:
    """Do one command on one case, in the member's area only."""
    desk = make_desk()
    request = desk.session.scalar(select(HelpRequest).where(HelpRequest.number == number))
    if request is None:
        return Reply(f"没有找到求助 {number}，请核对编号。发“待办”看您的求助。")
    if not scope.can_act(member, request):
        # Say nothing of the case: it is outside what this member may see.
        log.info("staff %s refused: case %s is outside their area", member.id, request.id)
        return Reply(f"求助 {number} 不在{short_name(member.station.name)}负责的范围内，不能办理。")
    try:
        done = _do(desk, member, request, action, words)
    except workflow.CaseError as exc:
        desk.session.rollback()
        return Reply(f"{number}：{exc}。")
    if isinstance(done, Reply):
        return done
    commit(desk)
    log.info("staff %s: %s on case %s", member.id, action, request.id)
    return Reply(done)


def _do(desk: Desk, member: Staff, request: HelpRequest, action: str, words: str):
    number = request.number
    if action == "签收":
        workflow.accept(desk, request, member)
        return (
            f"已签收 {number}（{short_name(request.station.name)}，{request.category}）。\n"
            + _case_text(request)
        )
    if action == "回复":
        workflow.reply(desk, request, member, words)
        return f"已回复 {number}，求助人会收到。"
    if action == "备注":
        workflow.note(desk, request, member, words)
        return f"已给 {number} 加备注（只有工作人员能看到）。"
    if action == "补充":
        workflow.ask(desk, request, member, words)
        return f"已请求助人补充 {number}，对方回复后会通知您。"
    if action == "办结":
        workflow.resolve(desk, request, member, words)
        return f"已办结 {number}，已请求助人评价。"
    target = _station(desk, member, request, words)
    if isinstance(target, Reply):
        return target
    workflow.transfer(desk, request, member, target)
    return f"已把 {number} 转到{target.name}，已通知该站工作人员和求助人。"


def _station(desk: Desk, member: Staff, request: HelpRequest, words: str) -> Station | Reply:
    """The station 转办 names: 上级, a code, or a (short) name that matches one station."""
    session = desk.session
    if words in UP_WORDS:
        if request.station.parent is None:
            return Reply("这件求助已在最上一级服务站，不能再往上转。")
        return request.station.parent
    station = directory.by_code(session, words)
    if station is not None:
        return station
    wanted = short_name(words)
    found = [
        s
        for s in session.scalars(select(Station).where(Station.name.contains(wanted)))
        if short_name(s.name) == wanted or s.name == words
    ] or list(session.scalars(select(Station).where(Station.name.contains(wanted)).limit(6)))
    if len(found) == 1:
        return found[0]
    if not found:
        return Reply(f"没有找到“{words}”服务站，请写服务站的名称或编号，或写“上级”。")
    return Reply(fitted("replies/case_stations.txt", "stations", found))


def todo(member: Staff) -> Reply:
    """The member's open cases, overdue first, then by the nearest deadline; capped by bytes."""
    desk = make_desk()
    query = scope.visible(desk.session, member.station).where(HelpRequest.status.in_(workflow.OPEN))
    cases = sorted(desk.session.scalars(query), key=lambda r: sla.urgency(r, desk.now))
    area = short_name(member.station.name)
    if not cases:
        return Reply(f"{area}现在没有待办的求助。")
    rows = [
        {
            "number": r.number,
            "label": sla.label(r, desk.now),
            "station": short_name(r.station.name),
            "category": r.category,
            "text": cut(r.description, 24),
        }
        for r in cases
    ]
    text = fitted(
        "replies/case_todo.txt",
        "cases",
        rows,
        area=area,
        total=len(cases),
        late=sum(sla.overdue(r, desk.now) for r in cases),
        url=desk.settings.public_url + "/console/",
    )
    return Reply(text)


def help_for(member: Staff) -> Reply:
    """The staff commands, with examples built from a real case number of the member's area."""
    return Reply(_usage(member))


def help_or_menu(turn: Turn) -> Reply:
    """帮助: the staff commands for a bound staff member, the menu for everyone else."""
    member = staff_member(turn.openid)
    return help_for(member) if member else menu.show(turn)


def fallback(turn: Turn) -> Reply | None:
    """What a bound staff member gets for text the bot does not understand: the commands."""
    if not turn.text:
        return None
    member = staff_member(turn.openid)
    return None if member is None else Reply("没看懂这条消息。\n" + _usage(member))


def _usage(member: Staff) -> str:
    session = db.session()
    area = scope.station_ids(session, member.station)
    latest = session.scalar(
        select(HelpRequest.number)
        .where(HelpRequest.station_id.in_(area), HelpRequest.status.in_(workflow.OPEN))
        .order_by(HelpRequest.id.desc())
        .limit(1)
    ) or session.scalar(
        select(HelpRequest.number)
        .where(HelpRequest.station_id.in_(area))
        .order_by(HelpRequest.id.desc())
        .limit(1)
    )
    file_no = session.scalar(
        select(Veteran.file_no)
        .where(Veteran.station_id.in_(area), Veteran.erased_at.is_(None))
        .order_by(Veteran.id)
        .limit(1)
    )
    n = latest or "QZ000123"
    lines = [
        f"{short_name(member.station.name)}工作人员可以发：",
        "待办 —— 看待办和超期的求助",
        f"签收 {n}",
        f"回复 {n} 已联系村里，明天上门",
        f"备注 {n} 内部记录，求助人看不到",
        f"补充 {n} 请问您家住几组？",
        f"办结 {n} 已办好，补助下月到账",
        f"转办 {n} 上级（或服务站名称、编号）",
    ]
    if file_no:
        lines.append(f"走访 {file_no} 身体好")
    if latest is None:
        lines.append("（您负责的范围内还没有求助，编号是举例）")
    lines.append("打字或说话都可以。")
    return "\n".join(lines)


def _example(action: str, number: str) -> str:
    samples = {
        "回复": "已联系村里，明天上门",
        "备注": "内部记录",
        "补充": "请问您家住几组？",
        "办结": "已办好，补助下月到账",
        "转办": "上级",
    }
    return f"{action} {number} {samples[action]}"


def _case_text(request: HelpRequest) -> str:
    phone = f"\n求助人手机：{request.contact_phone}" if request.contact_phone else ""
    if request.veteran is not None and request.veteran.phone and not phone:
        phone = f"\n求助人手机：{request.veteran.phone}"
    return f"求助内容：{cut(request.description, SHOWN_CHARS)}{phone}"


def cut(text: str, chars: int) -> str:
    """Text on one line, cut to chars with … when longer."""
    one = " ".join(text.split())
    return one if len(one) <= chars else one[: chars - 1] + "…"
