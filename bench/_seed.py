"""The data veteranbot's webhook needs to answer a registered veteran's 联系服务站."""

from __future__ import annotations

from sqlalchemy import select

from bot import create_app, db
from bot.config import prepare_instance, read_environment
from bot.models import Station
from bot.records import files
from bot.records.identity import check_char, parse_id_number

# A county → township → village line, with everything 联系服务站 shows.
STATIONS = (
    dict(code="BENCH-513429", name="布拖县退役军人服务中心", level="county"),
    dict(code="BENCH-513429-101", name="九都乡退役军人服务站", level="township"),
    dict(code="BENCH-513429-101-201", name="好谷村退役军人服务站", level="village"),
)
# Born 1980-01-01 in Butuo; the check character is computed, never typed in.
ID_FIRST17 = "51342919800101001"


def seed(settings: dict, openid: str) -> None:
    """Migrate the database, then create the station line and a file bound to openid."""
    # First run of a throwaway instance: write its keys, as `db upgrade` would.
    prepare_instance({**read_environment(), **settings})
    app = create_app(settings)
    try:
        with app.app_context():
            db.upgrade(db.engine())
            session = db.session()
            village = _station_line(session)
            id_number = parse_id_number(ID_FIRST17 + check_char(ID_FIRST17))
            fields = files.FileFields(
                name="吉克阿木", id_number=id_number, station=village, phone="13800000000"
            )
            files.save(session, app.extensions["cipher"], fields, openid=openid)
            session.commit()
    finally:
        # The harness process must not hold SQLite or Redis connections while
        # the gunicorn workers are measured.
        app.extensions["db"].kw["bind"].dispose()
        app.extensions["celery"].close()
        if app.extensions["redis"] is not None:
            app.extensions["redis"].close()


def _station_line(session) -> Station:
    """Get or create each station of the line (a shared DATABASE_URL may hold it already)."""
    parent = None
    for n, spec in enumerate(STATIONS, start=1):
        station = session.scalar(select(Station).where(Station.code == spec["code"]))
        if station is None:
            station = Station(**spec, parent=parent)
            session.add(station)
        station.head = f"站长{n}"
        station.phone = f"0834-52{n}0000"
        station.address = f"{spec['name']}一楼"
        station.hours = "周一至周五 9:00-17:00"
        parent = station
    session.flush()
    return parent
