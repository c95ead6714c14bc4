"""The case lifecycle: states, what each staff action may do, and the steps themselves.

    已提交 ──签收──▶ 已签收 ──▶ 办理中 ──办结──▶ 已办结 ──评价──▶ 已评价
                        └─补充─▶ 待补充 ─(the veteran answers)─▶ 办理中
    转办: to another station (back to 已提交 there); 督办: bot/requests/escalation.py

Every step is a timeline row (bot.requests.timeline) and its notices outbox
rows (bot.requests.notices), added to the desk's session; the caller commits
them together. A step the case's state does not allow raises CaseError with
the reason in plain words.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import HelpRequest, Staff, Station
from bot.requests import notices, recordings, routing, sla, timeline, wording
from bot.requests.desk import Desk

OPEN = ("已提交", "已签收", "办理中", "待补充")
# Staff actions and the states they may start from; one on an untaken case takes it first.
ALLOWED = {
    "签收": ("已提交",),
    "回复": OPEN,
    "备注": OPEN,
    "补充": OPEN,
    "办结": OPEN,
    "转办": OPEN,
}
# The state an action leaves the case in (None: as it was, but 已签收 becomes 办理中).
TARGET = {"签收": "已签收", "补充": "待补充", "办结": "已办结", "转办": "已提交"}


class CaseError(Exception):
    """A step the case does not allow now; str() says why, for the staff member."""


def open_case(
    desk: Desk,
    *,
    openid: str,
    station: Station,
    category: str,
    description: str,
    veteran_id: int | None = None,
    phone: str = "",
    kind: str = "求助",
    voice_ids: Sequence[int] = (),
) -> tuple[HelpRequest, list[Staff]]:
    """File a case, set its deadlines and tell its staff (no commit); the case and who was told.

    voice_ids: the requester's recordings, filed with a call-back; its staff
    notices then open the recordings (bot.requests.notices.staff_link).
    """
    request = HelpRequest(
        openid=openid,
        veteran_id=veteran_id,
        station=station,
        category=category,
        description=description,
        contact_phone=phone,
        kind=kind,
        created_at=desk.now,
    )
    desk.session.add(request)
    desk.session.flush()
    request.number = f"QZ{request.id:06d}"
    sla.start(desk.settings, request, desk.now)
    timeline.record(
        desk.session, desk.cipher, request, "提交", at=desk.now, actor="veteran", to_status="已提交"
    )
    recordings.attach(desk.session, request, list(voice_ids))
    told = routing.responsible(desk.session, station)
    url = notices.staff_link(desk, request)
    for row_id in notices.add(desk.session, request, desk.settings.staff_template, url):
        desk.sent(row_id)
    return request, told if desk.settings.staff_template.template_id else []


def accept(desk: Desk, request: HelpRequest, member: Staff) -> None:
    """签收: the station takes the case; the veteran hears who has it."""
    _check(request, "签收")
    _take(desk, request, member)


def reply(desk: Desk, request: HelpRequest, member: Staff, text: str) -> None:
    """回复: a word to the veteran, kept in the timeline."""
    _check(request, "回复")
    _take_if_new(desk, request, member)
    event = _step(desk, request, member, "回复", text, public=True)
    station = wording.station_words(request.station.name)
    notices.tell_veteran(
        desk, request, event, wording.replied(request.number, station, text), "办理中"
    )


def note(desk: Desk, request: HelpRequest, member: Staff, text: str) -> None:
    """备注: an internal note; the veteran never sees it."""
    _check(request, "备注")
    _take_if_new(desk, request, member)
    _step(desk, request, member, "备注", text, public=False)


def ask(desk: Desk, request: HelpRequest, member: Staff, question: str) -> None:
    """补充: ask the veteran for more; their next message is the answer (clock paused)."""
    _check(request, "补充")
    _take_if_new(desk, request, member)
    event = _step(desk, request, member, "补充", question, public=True)
    sla.pause(request, desk.now)
    station = wording.station_words(request.station.name)
    text = wording.asked(request.number, station, question)
    notices.tell_veteran(desk, request, event, text, "待补充")


def resolve(desk: Desk, request: HelpRequest, member: Staff, answer: str) -> None:
    """办结: the answer to the veteran, who is asked to rate it."""
    _check(request, "办结")
    _take_if_new(desk, request, member)
    event = _step(desk, request, member, "办结", answer, public=True)
    request.resolved_at, request.paused_at = desk.now, None
    station = wording.station_words(request.station.name)
    text = wording.resolved(request.number, station, answer)
    notices.tell_veteran(desk, request, event, text, "已办结", menu=list(wording.RATING_CHOICES))


def transfer(desk: Desk, request: HelpRequest, member: Staff, to: Station, why: str = "") -> None:
    """转办: the case moves to another station, which must 签收 it anew; both sides are told."""
    _check(request, "转办")
    if to.id == request.station_id:
        raise CaseError("这件求助已经在该服务站")
    request.station = to
    request.accepted_at, request.accept_escalated_at = None, None
    request.accept_due_at = desk.now + desk.settings.accept_within
    event = timeline.record(
        desk.session,
        desk.cipher,
        request,
        "转办",
        at=desk.now,
        actor="staff",
        staff=member,
        to_status="已提交",
        note=why,
        station=to,
    )
    staff = routing.responsible(desk.session, to)
    notices.tell_staff(desk, request, event, staff)
    text = wording.transferred(request.number, wording.station_words(to.name))
    notices.tell_veteran(desk, request, event, text, "已转办")


def _check(request: HelpRequest, action: str) -> None:
    if request.status not in ALLOWED[action]:
        raise CaseError(f"这件求助现在是“{request.status}”，不能{action}")


def _take_if_new(desk: Desk, request: HelpRequest, member: Staff) -> None:
    if request.status == "已提交":
        _take(desk, request, member)


def _take(desk: Desk, request: HelpRequest, member: Staff) -> None:
    request.accepted_at = desk.now
    event = timeline.record(
        desk.session,
        desk.cipher,
        request,
        "签收",
        at=desk.now,
        actor="staff",
        staff=member,
        to_status="已签收",
        public=True,
    )
    text = wording.accepted(request.number, wording.station_words(request.station.name))
    notices.tell_veteran(desk, request, event, text, "已签收")


def _step(desk: Desk, request: HelpRequest, member: Staff, action: str, text: str, public: bool):
    to = TARGET.get(action)
    if to is None:
        to = "办理中" if request.status == "已签收" else request.status
    return timeline.record(
        desk.session,
        desk.cipher,
        request,
        action,
        at=desk.now,
        actor="staff",
        staff=member,
        to_status=to,
        note=text,
        public=public,
    )
