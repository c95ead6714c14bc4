"""Every webhook call answers within dedup.BUDGET_SECONDS (4 s), whatever it waits on."""

from __future__ import annotations

import contextlib
import threading
import time

import pytest
import redis

from bot.db import make_engine
from bot.wechat import dedup
from tests.conftest import APP_ID, TOKEN
from tests.fixtures.driver import WeChatDriver

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

BUSY = "系统繁忙，请稍后再试"


def _timed(call):
    started = time.monotonic()
    result = call()
    return time.monotonic() - started, result


def test_a_retry_of_a_message_still_being_answered_answers_within_the_budget(app):
    wechat = WeChatDriver(app.test_client(), TOKEN, APP_ID)
    xml = wechat.xml("o-slow-first", "text", Content="你好", MsgId="7001")
    # The first attempt claimed the message and is still at work.
    r = redis.Redis.from_url(app.config["REDIS_URL"])
    r.set("dedup:m:o-slow-first|7001", dedup.PENDING, ex=30)
    seconds, answer = _timed(lambda: wechat.post(xml))
    assert answer.status_code == 200 and seconds < dedup.BUDGET_SECONDS


@pytest.mark.usefixtures("committed_db")
def test_a_database_lock_held_elsewhere_gets_busy_within_the_budget(app, database_url):
    wechat = WeChatDriver(app.test_client(), TOKEN, APP_ID)
    # An import or a Celery task holding the lock the follower's row needs, for
    # longer than WeChat waits (SQLite would wait out its 15 s busy timeout,
    # PostgreSQL forever); let go after 8 s so a webhook without a budget fails, not hangs.
    with _lock_held(database_url, seconds=8):
        seconds, answer = _timed(lambda: wechat.send_event("o-locked", "subscribe"))
    assert answer == BUSY and seconds < dedup.BUDGET_SECONDS


@contextlib.contextmanager
def _lock_held(database_url: str, seconds: float):
    """SQLite's write lock, or PostgreSQL's lock on the followers table, held from another
    connection for at most `seconds`."""
    engine = make_engine(database_url)
    conn = engine.connect()
    if engine.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.begin()
        conn.exec_driver_sql("LOCK TABLE followers IN ACCESS EXCLUSIVE MODE")
    timer = threading.Timer(seconds, conn.rollback)
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        timer.join()
        if conn.in_transaction():
            conn.rollback()
        conn.close()
        engine.dispose()
