"""The two guards every exactly-once flow shares: versioned saves and Redis lock release."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot import db, store
from bot.models import Campaign


def test_of_two_runs_that_read_one_version_only_the_first_saves(app, session):
    row = Campaign(
        occasion="army-day", year=2027, tag_id=7, tag_name="布拖县退役军人", clientmsgid="greet-x"
    )
    session.add(row)
    session.commit()
    read = row.version

    assert db.save_versioned(session, Campaign, {"id": row.id}, read, state="sending")
    assert not db.save_versioned(session, Campaign, {"id": row.id}, read, state="refused")

    saved = session.scalar(
        select(Campaign).where(Campaign.id == row.id).execution_options(populate_existing=True)
    )
    assert (saved.state, saved.version) == ("sending", read + 1)


def test_a_lock_that_expired_before_release_is_logged_not_raised(app, caplog):
    r = store.client(app)
    lock = r.lock("test:release", timeout=30, blocking=False)
    assert lock.acquire()
    r.delete("test:release")  # what expiry does while a call hangs

    with caplog.at_level(logging.WARNING, logger="bot.store"):
        store.release(lock)

    assert [rec.getMessage() for rec in caplog.records] == [
        "lock test:release had expired before it was released"
    ]
