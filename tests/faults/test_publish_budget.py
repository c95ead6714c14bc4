"""Redis hanging between a request's commit and its task's publish: the answer still comes in time.

The webhook queues tasks.outbox.deliver after the commit that filed the request.
Against a Redis that hangs there (stopped, not dead), that publish once took
about 4 s of the webhook's 4 s; now it gets one try of at most a second, and a
lost publish loses nothing, since the sweep delivers the request's notices.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event

from bot import db
from bot.wechat import outbox
from bot.wechat.client import client
from tests.faults.test_faults import HELP

# Starts servers and processes, and waits them out: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow


def test_a_publish_to_a_hung_redis_keeps_the_answer_within_4_s(
    make_plant, tmp_path, redis_server, platform
):
    plant = make_plant(f"sqlite:///{tmp_path / 'bot.db'}")
    openid = plant.veterans[0]
    plant.driver.converse(openid, *HELP[:2])

    def hang_redis(session):
        if session.info.get("pending_tasks"):  # the commit that filed the request
            redis_server.pause()

    # Before the queue's own listener, so the publish meets the hung server.
    event.listen(plant.app.extensions["db"], "after_commit", hang_redis, insert=True)
    started = time.monotonic()
    try:
        reply = plant.driver.send_text(openid, HELP[2])
        took = time.monotonic() - started
    finally:
        redis_server.resume()
    event.remove(plant.app.extensions["db"], "after_commit", hang_redis)

    assert took < 4.0  # before: about 4 s in the publish alone, then the reply's store
    assert reply is not None  # 200 with a reply: the filed number, or "busy" for a retry
    assert plant.notices_received() == {}  # the deliver task never reached the queue
    with plant.app.app_context():
        assert outbox.deliver(db.session(), client()).sent == 2  # the minute's sweep
    assert plant.notices_received() == plant.notices_due()
