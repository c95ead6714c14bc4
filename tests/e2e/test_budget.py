"""Every webhook call answers within dedup.BUDGET_SECONDS (4 s), whatever it waits on."""

from __future__ import annotations

import sqlite3
import time

import pytest
import redis

from bot.wechat import dedup
from tests.conftest import APP_ID, TOKEN
from tests.fixtures.driver import WeChatDriver

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
def test_a_held_sqlite_write_lock_gets_busy_within_the_budget(app, database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock; PostgreSQL's statements are bounded the same way")
    wechat = WeChatDriver(app.test_client(), TOKEN, APP_ID)
    # An import or a Celery task holding SQLite's one write lock (for 15 s and more).
    holder = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        seconds, answer = _timed(lambda: wechat.send_event("o-locked", "subscribe"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert answer == BUSY and seconds < dedup.BUDGET_SECONDS
