"""The veteran answers their case: the reply to a question (待补充), or a rating after 办结.

With no dialog open, a follower whose case waits on their answer has their
next message attached to it, with a clear confirmation; words that open a
dialog and 取消 keep their meaning (the router sees them first). After 办结
one tap or word rates the case: 满意 / 基本满意 / 不满意, or 1 / 2 / 3.
"""

from __future__ import annotations

import logging

from bot import db
from bot.dialogs.cases import commit, make_desk
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn
from bot.requests import answers
from bot.requests.wording import station_words

log = logging.getLogger(__name__)
MIN_ANSWER = 1


def take(turn: Turn) -> Reply | None:
    """Attach an answer or a rating; None when the follower owes neither (or sent a location)."""
    if not turn.text or turn.has_location:
        return None
    session = db.session()
    rating = answers.rating_of(turn.text)
    if rating is not None:
        desk = make_desk()
        request = answers.waiting_rating(session, turn.openid, desk.now)
        if request is not None:
            return _rate(desk, request, rating)
    request = answers.waiting_question(session, turn.openid)
    if request is None:
        return None
    desk = make_desk()
    answers.answer(desk, request, turn.text)
    commit(desk)
    log.info("case %s: the requester answered", request.id)
    station = station_words(request.station.name)
    return Reply(
        f"已收到您的补充，已转给{station}（求助编号 {request.number}）。"
        "\n有新进展会通知您；回复“我的求助”可以查看进度。"
    )


def _rate(desk, request, rating: str) -> Reply:
    answers.rate(desk, request, rating)
    commit(desk)
    log.info("case %s rated", request.id)
    if rating == "不满意":
        return Reply(
            f"很抱歉这次没有办好。求助 {request.number} 已重新办理，并已报上一级服务站督办，"
            "会有人尽快联系您。"
        )
    return Reply(
        f"谢谢您的评价（{rating}）！求助 {request.number} 已完成。还需要办什么事？请回复“菜单”。"
    )
