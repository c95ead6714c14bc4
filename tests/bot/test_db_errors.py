"""A database error never carries the statement's values into a traceback or a log."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from bot.models import Station


def test_a_failed_insert_names_the_statement_but_not_the_values(session):
    session.add(Station(code="513429-900", name="甲站", level="township", phone="13912345678"))
    session.flush()
    session.add(Station(code="513429-900", name="乙站", level="township", phone="13987654321"))
    with pytest.raises(IntegrityError) as raised:
        session.flush()
    message = str(raised.value)
    assert "INSERT INTO stations" in message
    assert "13987654321" not in message and "乙站" not in message
    session.rollback()
