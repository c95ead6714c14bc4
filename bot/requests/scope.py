"""Who may act on which case: staff bound to a station act on its cases and its children's.

A township worker acts on the township's cases and on every village's under
it; a village worker on their village's only; county staff on the county's.
The one rule for WeChat commands, the console and exports alike.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import HelpRequest, Staff, Station
from bot.records.directory import subtree_ids


def covers(area: Station, station: Station) -> bool:
    """Whether a station bound to `area` answers for `station` (itself or one below it)."""
    return any(s.id == area.id for s in station.lineage())


def can_act(member: Staff, request: HelpRequest) -> bool:
    """Whether this staff member may act on this case."""
    return covers(member.station, request.station)


def station_ids(session: Session, area: Station) -> list[int]:
    """The stations whose cases someone bound to `area` sees: it and all below it."""
    return subtree_ids(session, area)


def visible(session: Session, area: Station):
    """A query of the cases someone bound to `area` may see and act on."""
    return select(HelpRequest).where(HelpRequest.station_id.in_(station_ids(session, area)))
