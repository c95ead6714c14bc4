"""What a signed-in staff member may see: their station's subtree, their county, or everything.

Scope is the console's security boundary. Every query for veterans, requests,
contacts or stations goes through here, and anything outside the scope is
answered exactly as something that does not exist (404), so a guessed id
tells nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from bot.models import HelpRequest, Staff, Station, Veteran
from bot.requests.scope import station_ids

ROLE_NAMES = {
    "village": "村服务站工作人员",
    "township": "乡镇服务站工作人员",
    "county": "县级管理员",
    "prefecture": "州级管理员",
    "editor": "编辑",
}


@dataclass(frozen=True)
class Scope:
    """A staff member's reach: station ids (None: every station), and what they may do."""

    role: str
    root_id: int
    station_ids: frozenset[int] | None
    # Editors see statistics only, never a person's data.
    personal: bool

    @property
    def admin(self) -> bool:
        """County and prefecture administrators bind staff and read the audit log."""
        return self.role in ("county", "prefecture")

    def covers(self, station_id: int | None) -> bool:
        """Whether a station lies inside the scope."""
        return station_id is not None and (
            self.station_ids is None or station_id in self.station_ids
        )

    def stations(self, query: Select, column=Station.id) -> Select:
        """Restrict a query on a station id column to the scope."""
        if self.station_ids is None:
            return query
        return query.where(column.in_(self.station_ids))


def of(session: Session, member: Staff) -> Scope:
    """The scope of a bound staff member."""
    role = member.effective_role
    if role in ("prefecture", "editor"):
        ids = None
    else:
        # The one rule for cases over WeChat and here: a station and everything under it.
        ids = frozenset(station_ids(session, member.station))
    return Scope(role, member.station_id, ids, personal=role != "editor")


def need_personal(scope: Scope) -> None:
    """404 for a scope that may not see people (editors)."""
    if not scope.personal:
        abort(404)


def need_admin(scope: Scope) -> None:
    """404 for anyone but an administrator: the page is not there for them."""
    if not scope.admin:
        abort(404)


def veteran(session: Session, scope: Scope, veteran_id: int) -> Veteran:
    """The file with this id if it is in scope; 404 otherwise."""
    need_personal(scope)
    found = session.get(Veteran, veteran_id)
    if found is None or not scope.covers(found.station_id):
        abort(404)
    return found


def help_request(session: Session, scope: Scope, number: str) -> HelpRequest:
    """The case with this number (QZ000123) if it is in scope; 404 otherwise."""
    need_personal(scope)
    found = session.scalar(select(HelpRequest).where(HelpRequest.number == number.upper()))
    if found is None or not scope.covers(found.station_id):
        abort(404)
    return found


def station(session: Session, scope: Scope, station_id: int) -> Station:
    """The station with this id if it is in scope; 404 otherwise."""
    found = session.get(Station, station_id)
    if found is None or not scope.covers(found.id):
        abort(404)
    return found


def stations_in(session: Session, scope: Scope) -> list[Station]:
    """Every station in scope, in code order."""
    return list(session.scalars(scope.stations(select(Station)).order_by(Station.code)))
