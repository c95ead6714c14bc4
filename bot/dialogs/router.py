"""One table from message type, keyword and menu key to the handler that answers it."""

from __future__ import annotations

from bot.dialogs import (
    case_replies,
    cases,
    events,
    help_request,
    menu,
    registration,
    rights,
    staff,
    state,
    station,
    voice,
)
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Event, Turn
from bot.wechat.transport import Message

# Words (typed, spoken or clicked) that open a dialog, whatever was open before.
KEYWORDS = {
    "登记": registration.start,
    "注册": registration.start,
    "求助": help_request.start,
    "我的求助": help_request.my_requests,
    "进度": help_request.my_requests,
    "找服务站": station.start,
    # The menu button's old name: people keep saying what they learnt.
    "联系服务站": station.start,
    "服务站": station.start,
    "菜单": menu.show,
    # Bound staff get their commands; everyone else the menu.
    "帮助": cases.help_or_menu,
    "我的信息": rights.show,
    "更正": rights.start_correction,
    "删除我的信息": rights.start_deletion,
}
# Custom-menu CLICK keys reach the same handlers as the words.
MENU_KEYS = {
    "REGISTER": registration.start,
    "HELP": help_request.start,
    "STATION": station.start,
    "MY_REQUESTS": help_request.my_requests,
}
# An open dialog's name -> the function that takes its next answer.
DIALOGS = {
    "registration": registration.step,
    "help": help_request.step,
    "station": station.step,
    "rights": rights.step,
}
# With no dialog open, the menu's numbers choose its lines.
MENU_NUMBERS = {
    "1": registration.start,
    "2": help_request.start,
    "3": station.start,
    "4": help_request.my_requests,
}
CANCEL_WORDS = {"取消", "退出"}
# Speech recognition ends sentences with punctuation the follower never "said".
TRAILING = " \t\r\n。，！？.,!?"
_FRESH_STARTS = {*KEYWORDS, *CANCEL_WORDS}


def handle(message: Message) -> Reply:
    """Answer any message or event; text that matches nothing gets the menu."""
    openid, kind = message.source, message.type
    if kind == "event":
        name, key = message.text("Event").lower(), message.text("EventKey")
        return _event(Event(openid, name, key, message.fields))
    if kind == "location":
        lat, lon = float(message.text("Location_X")), float(message.text("Location_Y"))
        return _continue(Turn(openid, lat=lat, lon=lon, label=message.text("Label")))
    if kind == "text":
        text = message.text("Content").strip()
    elif kind == "voice":
        text = message.text("Recognition").strip(TRAILING)
        media_id, fmt = message.text("MediaId"), message.text("Format")
        if not text and media_id:
            heard = voice.hear(media_id, fmt)
            text = heard.text.strip(TRAILING)
            if not text:
                return voice.offer(openid, media_id, fmt, heard.audio)
        if not text:
            return menu.voice_unrecognised()
    else:
        return menu.unsupported(kind)
    return _text(Turn(openid, text=text))


def reads_only(message: Message) -> bool:
    """True when the answer needs no dialog state and writes nothing but dialog state.

    Words that open a dialog (typed, spoken or clicked) and the cancel words:
    their handlers only read the database and start the dialog afresh, so the
    webhook may work the answer out before claiming the message.
    """
    kind = message.type
    if kind == "text":
        return message.text("Content").strip() in _FRESH_STARTS
    if kind == "voice":
        return message.text("Recognition").strip(TRAILING) in _FRESH_STARTS
    if kind == "event":
        return message.text("Event").lower() == "click" and message.text("EventKey") in MENU_KEYS
    return False


def _text(turn: Turn) -> Reply:
    # Staff commands (走访/电话 <统一编号> …) first; for anyone else they are plain words.
    if (reply := staff.handle(turn)) is not None:
        return reply
    if (reply := cases.handle(turn)) is not None:
        return reply
    if turn.text in CANCEL_WORDS:
        state.clear(turn.openid)
        return menu.cancelled()
    if starter := KEYWORDS.get(turn.text):
        state.clear(turn.openid)
        return starter(turn)
    return _continue(turn)


def _continue(turn: Turn) -> Reply:
    current = state.load(turn.openid)
    if current and current.get("dialog") == "voice":
        # The call-back offer takes "1"; anything else goes to what the voice interrupted.
        if (reply := voice.step(turn, current)) is not None:
            return reply
        current = state.load(turn.openid)
    if current and current.get("dialog") in DIALOGS:
        return DIALOGS[current["dialog"]](turn, current)
    # A case waiting on the follower's answer or rating takes their next message.
    if (reply := case_replies.take(turn)) is not None:
        return reply
    if turn.has_location:
        return station.nearest(turn)
    if starter := MENU_NUMBERS.get(turn.text):
        return starter(turn)
    return cases.fallback(turn) or menu.show(turn)


def _event(event: Event) -> Reply:
    if event.name == "click":
        starter = MENU_KEYS.get(event.key)
        turn = Turn(event.openid)
        if starter:
            state.clear(turn.openid)
            return starter(turn)
        return menu.show(turn)
    handler = events.HANDLERS.get(event.name)
    return handler(event) if handler else Reply.silent()
