"""Veteran files: one per ID number, numbered per issuing village station."""

from __future__ import annotations

from bot.crypto import cipher
from bot.records.files import FileFields, save
from bot.records.identity import parse_id_number
from tests.fixtures.factories import VillageFactory, id_number


def register(session, station, seq: int, name: str = "阿苏"):
    fields = FileFields(name=name, id_number=parse_id_number(id_number(seq=seq)), station=station)
    veteran, _ = save(session, cipher(), fields)
    session.commit()
    return veteran


def test_numbers_count_up_per_village_station(session):
    village = VillageFactory()
    first, second = register(session, village, 101), register(session, village, 103)
    assert (first.file_no, second.file_no) == (f"{village.code}-0001", f"{village.code}-0002")


def test_a_moved_veteran_keeps_the_number_and_it_is_never_issued_again(session):
    village, elsewhere = VillageFactory(), VillageFactory()
    mover = register(session, village, 101)
    register(session, elsewhere, 101)  # same ID: the file moves, the number stays
    assert (mover.station_id, mover.file_no) == (elsewhere.id, f"{village.code}-0001")
    newcomer = register(session, village, 105)
    assert newcomer.file_no == f"{village.code}-0002"
