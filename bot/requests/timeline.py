"""A case's timeline: every transition, reply and internal note as a row, notes encrypted.

Replies to the veteran (public) and internal notes (备注, 督办) are rows of
the same table told apart by `public`; what the veteran is shown reads only
public rows (last_replies, entries(public_only=True)).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.crypto import FieldCipher
from bot.models import CaseEvent, HelpRequest, Staff, Station

# Public actions whose note is the station's word to the veteran.
STAFF_WORDS = ("回复", "补充", "办结")


@dataclass(frozen=True)
class Entry:
    """One timeline row as people read it (the note decrypted)."""

    id: int
    at: datetime
    actor: str  # staff, veteran, system
    who: str  # the staff member's name, 求助人, or 系统
    action: str
    from_status: str
    to_status: str
    station: str  # 转办's or 督办's station, else empty
    public: bool
    note: str


def record(
    session: Session,
    cipher: FieldCipher,
    request: HelpRequest,
    action: str,
    *,
    at: datetime,
    actor: str,
    staff: Staff | None = None,
    to_status: str | None = None,
    note: str = "",
    public: bool = False,
    station: Station | None = None,
) -> CaseEvent:
    """Add a timeline row (no commit) and move the case to to_status if given."""
    before = request.status
    if to_status is not None:
        request.status = to_status
    event = CaseEvent(
        request_id=request.id,
        at=at,
        actor=actor,
        staff_id=staff.id if staff else None,
        action=action,
        from_status=before,
        to_status=request.status,
        station_id=station.id if station else None,
        public=public,
        note_cipher=cipher.encrypt(note) if note else "",
    )
    session.add(event)
    session.flush()
    return event


def entries(
    session: Session, cipher: FieldCipher, request: HelpRequest, public_only: bool = False
) -> list[Entry]:
    """The case's timeline, oldest first (public_only: what the veteran may see)."""
    query = select(CaseEvent).where(CaseEvent.request_id == request.id)
    if public_only:
        query = query.where(CaseEvent.public.is_(True))
    return [_entry(cipher, e) for e in session.scalars(query.order_by(CaseEvent.id))]


def last_replies(session: Session, cipher: FieldCipher, request_ids: list[int]) -> dict[int, str]:
    """The station's latest word to the veteran (回复, 补充 or 办结) per case, in one query."""
    if not request_ids:
        return {}
    latest = (
        select(func.max(CaseEvent.id))
        .where(
            CaseEvent.request_id.in_(request_ids),
            CaseEvent.public.is_(True),
            CaseEvent.action.in_(STAFF_WORDS),
        )
        .group_by(CaseEvent.request_id)
    )
    rows = session.execute(
        select(CaseEvent.request_id, CaseEvent.note_cipher).where(CaseEvent.id.in_(latest))
    )
    return {rid: cipher.decrypt(note) for rid, note in rows if note}


def erase_notes(session: Session, request_ids: list[int]) -> None:
    """Blank every note of these cases (the veteran asked for their data to go)."""
    if request_ids:
        session.execute(
            CaseEvent.__table__.update()
            .where(CaseEvent.request_id.in_(request_ids))
            .values(note_cipher="")
        )


def _entry(cipher: FieldCipher, event: CaseEvent) -> Entry:
    who = {"veteran": "求助人", "system": "系统"}.get(event.actor, "")
    if event.actor == "staff":
        who = event.staff.name if event.staff else "工作人员"
    return Entry(
        id=event.id,
        at=event.at,
        actor=event.actor,
        who=who,
        action=event.action,
        from_status=event.from_status,
        to_status=event.to_status,
        station=event.station.name if event.station else "",
        public=event.public,
        note=cipher.decrypt(event.note_cipher) if event.note_cipher else "",
    )
