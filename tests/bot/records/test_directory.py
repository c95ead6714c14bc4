"""The webhook's commonest question stays cheap: counted statements, not timings."""

from __future__ import annotations

from bot.records import directory
from tests.fixtures.factories import VeteranFactory


def test_home_cards_of_a_registered_veteran_take_one_query(session, count_queries):
    veteran = VeteranFactory(openid="o-home")
    village, township = veteran.station, veteran.station.parent
    with count_queries() as statements:
        cards = directory.home_cards(session, "o-home")  # cold: nothing cached yet
    assert len(statements) == 1, statements
    assert [(c.name, c.phone) for c in cards] == [
        (village.name, village.phone),
        (township.name, township.phone),
    ]
