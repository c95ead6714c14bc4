"""Who hears of a case: the staff answering for its station, or the nearest ones above."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import Staff, Station
from bot.records import directory


def staff_of(session: Session, station: Station) -> list[Staff]:
    """The staff bound to this very station (an unbound one is told nothing more)."""
    bound = select(Staff).where(Staff.station_id == station.id, Staff.unbound_at.is_(None))
    return list(session.scalars(bound.order_by(Staff.id)))


def responsible(session: Session, station: Station) -> list[Staff]:
    """Who is told of a new case: the village's and township's staff, else the nearest above.

    A station whose line has no staff bound up to the township still reaches
    the county's staff if any are bound; an empty list means nobody at all.
    """
    staff = directory.responsible_staff(session, station)
    if staff:
        return staff
    for above in station.lineage():
        if staff := staff_of(session, above):
            return staff
    return []


def escalation_target(session: Session, station: Station) -> tuple[Station | None, list[Staff]]:
    """The station a 督办 goes to (the parent, or the nearest above it with staff) and its staff.

    With nobody bound above, the parent itself (the case shows there in the
    console) and no one to tell; (None, []) for a station with no parent.
    """
    parent = station.parent
    node = parent
    while node is not None:
        if staff := staff_of(session, node):
            return node, staff
        node = node.parent
    return parent, []


def contact_station(station: Station) -> Station:
    """The station whose phone a veteran is given: the nearest on the line that has one."""
    return next((s for s in station.lineage() if s.phone), station)
