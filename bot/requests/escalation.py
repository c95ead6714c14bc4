"""督办: a case climbs to the station above when it is not taken in time, or rated 不满意.

The responsible station stays the case's station; the station above is
recorded (escalated_to) and its staff told, once. The SLA check marks a case
escalated with a conditional UPDATE (accept_escalated_at IS NULL) before it
writes anything else, in the same transaction as the notices: of two beat
runs at once, the second finds the row already marked and writes nothing.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update

from bot.models import HelpRequest
from bot.requests import notices, routing, timeline, wording
from bot.requests.desk import Desk

log = logging.getLogger(__name__)
BATCH = 200


def escalate(desk: Desk, request: HelpRequest, why: str) -> None:
    """Send the case up one level (or to the nearest staffed station above): told once, here."""
    above = request.escalated_to or request.station
    target, staff = routing.escalation_target(desk.session, above)
    if target is None:  # a county's own case: nobody above it in the directory
        target, staff = above, routing.staff_of(desk.session, above)
    request.escalated_to = target
    event = timeline.record(
        desk.session,
        desk.cipher,
        request,
        "督办",
        at=desk.now,
        actor="system",
        note=why,
        station=target,
    )
    notices.tell_staff(desk, request, event, staff)
    if not staff:
        log.warning(
            "case %s escalated to station %s, where no staff is bound", request.id, target.id
        )
    text = wording.escalated(request.number, wording.station_words(target.name))
    notices.tell_veteran(desk, request, event, text, "已督办")


def check_due(desk_for) -> int:
    """Escalate every case not taken by its 签收 deadline, each once; how many were escalated.

    desk_for() gives a fresh Desk per case, so each case commits on its own:
    one that fails leaves the others escalated.
    """
    done = 0
    desk = desk_for()
    due = list(
        desk.session.scalars(
            select(HelpRequest.id)
            .where(
                HelpRequest.status == "已提交",
                HelpRequest.accept_due_at < desk.now,
                HelpRequest.accept_escalated_at.is_(None),
            )
            .order_by(HelpRequest.accept_due_at)
            .limit(BATCH)
        )
    )
    desk.session.rollback()
    for request_id in due:
        desk = desk_for()
        if _escalate_late(desk, request_id):
            done += 1
    return done


def _escalate_late(desk: Desk, request_id: int) -> bool:
    """Mark one late case escalated and write its notices, in one commit; False if another did."""
    session = desk.session
    claimed = session.execute(
        update(HelpRequest)
        .where(
            HelpRequest.id == request_id,
            HelpRequest.status == "已提交",
            HelpRequest.accept_escalated_at.is_(None),
        )
        .values(accept_escalated_at=desk.now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        session.rollback()
        return False
    request = session.get(HelpRequest, request_id)
    session.refresh(request)
    hours = desk.settings.accept_hours
    escalate(desk, request, f"超过 {hours} 小时未签收，请督促办理。")
    session.commit()
    return True
