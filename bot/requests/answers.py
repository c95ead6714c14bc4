"""The veteran's side of a case: the answer to a question (待补充) and the rating after 办结."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select

from bot.models import CaseEvent, HelpRequest, Veteran
from bot.models.requests import RATINGS
from bot.requests import escalation, notices, routing, sla, timeline
from bot.requests.desk import Desk

# How long after 办结 a bare 1/2/3 from the veteran is read as their rating.
RATING_DAYS = 7
# One tap (the msgmenu's words) or one word; digits too.
RATING_WORDS = {
    "满意": "满意",
    "1": "满意",
    "１": "满意",
    "非常满意": "满意",
    "基本满意": "基本满意",
    "2": "基本满意",
    "２": "基本满意",
    "一般": "基本满意",
    "不满意": "不满意",
    "3": "不满意",
    "３": "不满意",
}


def mine(session, openid: str, veteran: Veteran | None = None):
    """The condition "this follower filed it (or it is on their file)"."""
    cond = HelpRequest.openid == openid
    if veteran is not None:
        cond = or_(cond, HelpRequest.veteran_id == veteran.id)
    return cond


def waiting_question(session, openid: str) -> HelpRequest | None:
    """The follower's case waiting on their answer (the latest asked), if any."""
    return session.scalar(
        select(HelpRequest)
        .where(HelpRequest.openid == openid, HelpRequest.status == "待补充")
        .order_by(HelpRequest.updated_at.desc(), HelpRequest.id.desc())
        .limit(1)
    )


def waiting_rating(session, openid: str, now) -> HelpRequest | None:
    """The follower's latest case resolved in the last RATING_DAYS and not yet rated."""
    return session.scalar(
        select(HelpRequest)
        .where(
            HelpRequest.openid == openid,
            HelpRequest.status == "已办结",
            HelpRequest.resolved_at >= now - timedelta(days=RATING_DAYS),
        )
        .order_by(HelpRequest.resolved_at.desc(), HelpRequest.id.desc())
        .limit(1)
    )


def rating_of(text: str) -> str | None:
    """The rating a message gives (满意 / 基本满意 / 不满意), or None."""
    return RATING_WORDS.get(text.strip().rstrip("。.!！"))


def answer(desk: Desk, request: HelpRequest, text: str) -> None:
    """Attach the veteran's answer; the case goes back to 办理中 and its staff are told."""
    sla.resume(request, desk.now)
    event = timeline.record(
        desk.session,
        desk.cipher,
        request,
        "答复",
        at=desk.now,
        actor="veteran",
        to_status="办理中",
        note=text,
        public=True,
    )
    staff = _handlers(desk, request)
    notices.tell_staff(desk, request, event, staff)


def rate(desk: Desk, request: HelpRequest, rating: str) -> None:
    """Record the rating; 不满意 reopens the case (办理中, a new 办结 period) and escalates it."""
    assert rating in RATINGS
    request.rating, request.rated_at = rating, desk.now
    timeline.record(
        desk.session,
        desk.cipher,
        request,
        "评价",
        at=desk.now,
        actor="veteran",
        to_status="已评价",
        note=rating,
        public=True,
    )
    if rating != "不满意":
        return
    request.resolved_at = None
    request.resolve_due_at = desk.now + desk.settings.resolve_within(request.category)
    timeline.record(
        desk.session,
        desk.cipher,
        request,
        "重开",
        at=desk.now,
        actor="veteran",
        to_status="办理中",
        public=True,
    )
    escalation.escalate(desk, request, "求助人对办理结果不满意，已重新办理，请督促。")


def _handlers(desk: Desk, request: HelpRequest):
    """Who hears the answer: the staff member who last acted on the case, else its staff."""
    last = desk.session.scalar(
        select(CaseEvent)
        .where(
            CaseEvent.request_id == request.id,
            CaseEvent.actor == "staff",
            CaseEvent.staff_id.is_not(None),
        )
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    return [last.staff] if last else routing.responsible(desk.session, request.station)
