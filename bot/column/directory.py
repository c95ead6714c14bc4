"""The station directory as the column sees it: codes for `content check`, facts for the site.

publisher/ never reads the database; the bot hands it the directory as plain
data. Before `veteranbot db upgrade` there is no station table: a preview and
`content check` still work, and say the directory is unknown.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.models import Station
from publisher.site_render import StationFacts

EMPTY_DIRECTORY = (
    "注意：服务站目录是空的，稿件的 station 未核对；"
    "用 veteranbot stations import 导入目录后会逐一核对"
)


def station_facts(session: Session) -> dict[str, StationFacts]:
    """Every station's name, phone, address and hours, by code, for the site's station pages."""
    rows = session.execute(
        select(Station.code, Station.name, Station.phone, Station.address, Station.hours)
    ).all()
    return {
        code: StationFacts(name=name, phone=phone or "", address=address or "", hours=hours or "")
        for code, name, phone, address, hours in rows
    }


def station_codes(session: Session) -> set[str] | None:
    """The directory's codes; None when there is no station table yet."""
    try:
        return set(session.scalars(select(Station.code)))
    except SQLAlchemyError:
        session.rollback()
        return None
