"""统计: per station, rolled up the tree — veterans, contact coverage, the file's new fields,
cases opened, closed and late, the median times to 签收 and 办结, and satisfaction.

A handful of grouped queries count per station; the roll-up to the stations shown
happens here, over the parent links, so the cost does not grow with the tree's depth.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from bot.console import cases
from bot.console.ledger import uncontacted
from bot.console.scope import Scope
from bot.models import HelpRequest, Station, Veteran

# Ratings that count as satisfied (the rest is 不满意).
SATISFIED = ("满意", "基本满意")
COLUMNS = (
    "服务站",
    "登记退役军人",
    "本月已联系",
    "本月联系覆盖率%",
    "已挂光荣之家牌匾",
    "结对党员户",
    "志愿服务队队员",
    "新增求助",
    "办结求助",
    "超期求助",
    "签收用时中位数(小时)",
    "办结用时中位数(小时)",
    "已评价",
    "满意率%",
)


@dataclass
class Row:
    """One station's figures, its own and those of every station under it."""

    station: Station | None  # None: the total line
    name: str
    veterans: int = 0
    erased: int = 0  # tombstones of 删除我的信息: counted as registered, never owed a contact
    uncontacted: int = 0
    plaques: int = 0
    paired: int = 0
    volunteers: int = 0
    opened: int = 0
    closed: int = 0
    overdue: int = 0
    accept_hours: list[float] = field(default_factory=list)
    resolve_hours: list[float] = field(default_factory=list)
    rated: int = 0
    satisfied: int = 0

    @property
    def contacted(self) -> int:
        return self.veterans - self.erased - self.uncontacted

    @property
    def coverage(self) -> float | None:
        """This month's contact coverage in percent, None without anyone to contact."""
        owed = self.veterans - self.erased
        return round(100 * self.contacted / owed, 1) if owed else None

    @property
    def satisfaction(self) -> float | None:
        """满意 and 基本满意 among rated cases, in percent."""
        return round(100 * self.satisfied / self.rated, 1) if self.rated else None

    @staticmethod
    def _median(values: list[float]) -> float | None:
        return round(statistics.median(values), 1) if values else None

    @property
    def accept_median(self) -> float | None:
        return self._median(self.accept_hours)

    @property
    def resolve_median(self) -> float | None:
        return self._median(self.resolve_hours)

    def add(self, other: Row) -> None:
        """Fold another station's figures into this one."""
        for name in (
            "veterans",
            "uncontacted",
            "plaques",
            "paired",
            "volunteers",
            "opened",
            "closed",
            "overdue",
            "rated",
            "satisfied",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.accept_hours += other.accept_hours
        self.resolve_hours += other.resolve_hours

    def cells(self) -> list:
        """The row as the export's columns."""
        return [
            self.name,
            self.veterans,
            self.contacted,
            self.coverage,
            self.plaques,
            self.paired,
            self.volunteers,
            self.opened,
            self.closed,
            self.overdue,
            self.accept_median,
            self.resolve_median,
            self.rated,
            self.satisfaction,
        ]


def _own(session: Session, scope: Scope, since: datetime, now: datetime, today: date):
    """Each station's own figures (not yet rolled up), by station id: five scans in all."""
    rows: dict[int, Row] = {}

    def row(station_id: int) -> Row:
        return rows.setdefault(station_id, Row(None, ""))

    def counted(condition):
        return func.count(case((condition, 1)))

    files = select(
        Veteran.station_id,
        func.count(Veteran.id),
        counted(Veteran.erased_at.is_not(None)),
        counted(Veteran.plaque_hung.is_(True)),
        counted(Veteran.paired_cipher != ""),
        counted(Veteran.volunteer.is_(True)),
    )
    for station_id, *figures in _grouped(session, scope, files, Veteran.station_id):
        line = row(station_id)
        line.veterans, line.erased, line.plaques, line.paired, line.volunteers = figures
    due = select(Veteran.station_id, func.count(Veteran.id)).where(uncontacted(today))
    for station_id, n in _grouped(session, scope, due, Veteran.station_id):
        row(station_id).uncontacted = n
    asked = select(
        HelpRequest.station_id,
        counted(HelpRequest.created_at >= since),
        counted(and_(HelpRequest.status.in_(cases.CLOSED), HelpRequest.resolved_at >= since)),
        counted(and_(HelpRequest.status.in_(cases.OPEN), cases.overdue_clause(now))),
        counted(HelpRequest.rated_at >= since),
        counted(and_(HelpRequest.rated_at >= since, HelpRequest.rating.in_(SATISFIED))),
    )
    for station_id, *figures in _grouped(session, scope, asked, HelpRequest.station_id):
        line = row(station_id)
        line.opened, line.closed, line.overdue, line.rated, line.satisfied = figures
    # Medians cannot be added up the tree: keep each case's hours, rolled up as lists.
    times = scope.stations(
        select(
            HelpRequest.station_id,
            HelpRequest.created_at,
            HelpRequest.accepted_at,
            HelpRequest.resolved_at,
        ).where(or_(HelpRequest.accepted_at >= since, HelpRequest.resolved_at >= since)),
        HelpRequest.station_id,
    )
    for station_id, opened, accepted, resolved in session.execute(times):
        line = row(station_id)
        if accepted is not None and accepted >= since:
            line.accept_hours.append((accepted - opened).total_seconds() / 3600)
        if resolved is not None and resolved >= since:
            line.resolve_hours.append((resolved - opened).total_seconds() / 3600)
    return rows


def _grouped(session: Session, scope: Scope, query, column):
    return session.execute(scope.stations(query, column).group_by(column)).all()


def _parents(session: Session, scope: Scope) -> dict[int, int | None]:
    return dict(session.execute(scope.stations(select(Station.id, Station.parent_id))).all())


def table(
    session: Session,
    scope: Scope,
    root: Station | None,
    since: datetime,
    now: datetime,
    today: date,
) -> tuple[list[Row], Row]:
    """The rows of root's children (the counties for the prefecture) and root's total line."""
    parents = _parents(session, scope)
    if root is None:
        shown = session.scalars(
            scope.stations(select(Station))
            .where(Station.parent_id.is_(None))
            .order_by(Station.code)
        ).all()
    else:
        shown = session.scalars(
            select(Station).where(Station.parent_id == root.id).order_by(Station.code)
        ).all()
    lines = {s.id: Row(s, s.name) for s in shown}
    total = Row(root, root.name if root else "全州合计")
    own = Row(root, f"{root.name}（本站）") if root else None
    for station_id, figures in _own(session, scope, since, now, today).items():
        # Walk up to the child of root on this station's line (or root itself).
        node = station_id
        while node is not None and node not in lines and (root is None or node != root.id):
            node = parents.get(node)
        if node in lines:
            lines[node].add(figures)
        elif root is not None and node == root.id and own is not None:
            own.add(figures)
        else:
            continue
        total.add(figures)
    rows = list(lines.values())
    if own is not None and (own.veterans or own.opened or own.overdue):
        rows.insert(0, own)
    return rows, total
