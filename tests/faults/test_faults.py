"""Redis killed, PostgreSQL stopped, the worker killed mid-send: nothing lost, nothing twice.

Each test runs the bot on servers of its own (tests/faults/conftest.py) with a
real Celery worker process, files help requests through the webhook while a
greeting and two stories go out, breaks one part mid-way, lets it come back,
and then plays beat until the work settles. It ends by comparing what should
have reached people (each filed request's staff, each county tag's greeting,
each due story) with what the emulator received: every one exactly once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
import redis

from bot import clock, db
from bot.care import greetings_send
from bot.column import publishing
from bot.wechat import outbox
from bot.wechat.client import client
from publisher.story import SHANGHAI
from tests.faults.plant import (
    BUSY,
    SENDALL,
    SUBMIT,
    TEMPLATE_SEND,
    Plant,
    wait_until,
)
from tests.fixtures import wiring

# Starts servers and processes, and waits them out: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

ARMY_DAY_0905 = datetime(2027, 8, 1, 9, 5, tzinfo=SHANGHAI)
HELP = ("求助", "1", "家里房子漏雨，想申请帮扶")
# The per-tag greeting lock a killed run leaves (bot.care.greetings_send.LOCK_SECONDS).
SETTLE_SECONDS = 60


def file_request(plant: Plant, openid: str) -> str:
    """Walk one veteran through 求助; the last reply (a request number, or "busy")."""
    return plant.driver.converse(openid, *HELP)[-1]


def run_in_thread(plant: Plant, work) -> threading.Thread:
    """Run work() in the plant's app context on a thread, as a beat job would; errors swallowed."""

    def body():
        # The fault under test may end it with any error: what it left is what matters.
        with plant.app.app_context(), contextlib.suppress(Exception):
            work()

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    return thread


def beat_tick(plant: Plant, minute: int) -> None:
    """What beat's jobs do in a minute: the outbox sweep, greetings and publishing scans.

    The sweep runs as it would two minutes from now, when rows a killed sender
    left in sending are due again; the greeting scan on 建军节 at 09:05 plus
    `minute` minutes, and WeChat's clock moves on as far (a mass send retried
    within its minute is refused with 45066, as on the platform).
    """
    later = clock.utcnow() + outbox.STUCK + timedelta(seconds=1)
    plant.platform.age_mass_sends(60)
    jobs = (
        lambda: outbox.deliver(db.session(), client(), now=later),
        lambda: greetings_send.send_due(*wiring.care(), ARMY_DAY_0905 + timedelta(minutes=minute)),
        lambda: publishing.publish_due(*wiring.column()),
    )
    with plant.app.app_context():
        for job in jobs:
            try:
                job()
            except Exception:  # a job that fails now is run again at the next tick
                db.session().rollback()


def settled(plant: Plant) -> bool:
    channels = plant.channel_states()
    return (
        plant.notices_received() == plant.notices_due()
        and plant.greetings_received() == plant.greetings_due()
        and len(channels) == 4
        and set(channels.values()) == {"published"}
        and set(plant.campaign_states()) <= {"sent", "finished"}
        and set(plant.outbox_states()) == {"sent"}
    )


def play_beat_until_settled(plant: Plant) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    minute = 0
    while not settled(plant) and time.monotonic() < deadline:
        minute += 1
        beat_tick(plant, minute)
        time.sleep(0.5)


def assert_each_sent_once(plant: Plant) -> None:
    due, received = plant.notices_due(), plant.notices_received()
    assert set(due.values()) == {1} and len(due) >= 2
    assert received == due  # none lost, none twice, none to anyone else
    assert (
        plant.greetings_received()
        == plant.greetings_due()
        == Counter({"布拖县退役军人": 1, "昭觉县退役军人": 1})
    )
    assert set(plant.campaign_states()) <= {"sent", "finished"}
    assert plant.articles_published() == {"jiudu 服务站的故事": 1, "sikai 服务站的故事": 1}
    assert set(plant.channel_states().values()) == {"published"}
    assert set(plant.outbox_states()) == {"sent"}


def test_redis_killed_and_restarted_empty_loses_no_notice_greeting_or_story(
    make_plant, any_database, redis_server, platform
):
    plant = make_plant(any_database)
    plant.start_worker()
    first = [file_request(plant, openid) for openid in plant.veterans[:2]]
    assert all("求助编号" in reply for reply in first)
    assert wait_until(lambda: plant.notices_received() == plant.notices_due(), 30)

    platform.latency_ms = 400  # every call slow: the worker and the scans are mid-work
    scans = [
        run_in_thread(plant, lambda: greetings_send.send_due(*wiring.care(), ARMY_DAY_0905)),
        run_in_thread(plant, lambda: publishing.publish_due(*wiring.column())),
    ]
    more = [file_request(plant, openid) for openid in plant.veterans[2:5]]
    assert all("求助编号" in reply for reply in more)
    queued = redis.Redis.from_url(redis_server.url()).llen("celery")
    redis_server.kill()  # no persistence: the queued deliver tasks are gone

    assert queued >= 1  # some notices were waiting for their task when Redis died
    assert plant.driver.send_text(plant.veterans[5], "求助") == BUSY
    for scan in scans:
        scan.join(30)
    redis_server.start()  # the same port, empty
    platform.latency_ms = 0

    # The worker reconnects by itself and delivers what is filed now.
    assert "求助编号" in file_request(plant, plant.veterans[5])
    assert wait_until(lambda: staff_told(plant, plant.veterans[5]), 60), plant.log.read_text()
    play_beat_until_settled(plant)
    assert_each_sent_once(plant)


def test_postgresql_stopped_and_started_loses_no_notice_greeting_or_story(
    make_plant, database_on_postgres, pg_cluster, platform
):
    plant = make_plant(database_on_postgres)
    plant.start_worker()
    assert all("求助编号" in file_request(plant, o) for o in plant.veterans[:2])
    assert wait_until(lambda: plant.notices_received() == plant.notices_due(), 30)

    # WeChat acts, then answers slowly: the database goes while each answer is awaited.
    for path in (TEMPLATE_SEND, SENDALL, SUBMIT):
        platform.slow_answers[path] = 2.0
    before = len(platform.outbox)
    assert all("求助编号" in file_request(plant, o) for o in plant.veterans[2:4])
    scans = [
        run_in_thread(plant, lambda: greetings_send.send_due(*wiring.care(), ARMY_DAY_0905)),
        run_in_thread(plant, lambda: publishing.publish_due(*wiring.column())),
    ]
    assert wait_until(
        lambda: len(platform.outbox) > before and platform.mass_sends and platform.publishes, 60
    )
    pg_cluster.stop()

    assert plant.driver.send_text(plant.veterans[4], "求助") == BUSY
    for scan in scans:
        scan.join(30)
    time.sleep(2.5)  # the worker's answers arrive with nowhere to be saved
    pg_cluster.start()
    platform.slow_answers.clear()

    assert "求助编号" in file_request(plant, plant.veterans[4])
    play_beat_until_settled(plant)
    assert_each_sent_once(plant)


def test_a_worker_killed_mid_send_sends_nothing_twice(make_plant, any_database, platform):
    plant = make_plant(any_database)
    celery = plant.app.extensions["celery"]
    for path in (TEMPLATE_SEND, SENDALL, SUBMIT):
        platform.slow_answers[path] = 5.0
    assert all("求助编号" in file_request(plant, o) for o in plant.veterans[:2])
    celery.send_task("tasks.greetings.send_occasion", args=["army-day", "2027-08-01"])
    celery.send_task("tasks.publish.publish_due")

    # One worker per task, each killed once WeChat has acted and before it answered.
    acted = (
        lambda: len(platform.outbox) >= 1,
        lambda: len(platform.mass_sends) >= 1,
        lambda: len(platform.publishes) >= 1,
    )
    for done in acted:
        plant.start_worker()
        assert wait_until(done, 60), plant.log.read_text()
        plant.kill_worker()
    platform.slow_answers.clear()
    plant.start_worker()  # a fresh worker takes new work at once

    assert "求助编号" in file_request(plant, plant.veterans[2])
    assert wait_until(lambda: staff_told(plant, plant.veterans[2]), 60), plant.log.read_text()
    play_beat_until_settled(plant)
    assert_each_sent_once(plant)


def staff_told(plant: Plant, openid: str) -> bool:
    """Whether every staff member due a notice of openid's last request has it."""
    number = _number(plant, openid)
    due = {key for key in plant.notices_due() if key[1] == number}
    return bool(due) and due <= set(plant.notices_received())


def _number(plant: Plant, openid: str) -> str:
    """The number of the request openid filed last."""
    from sqlalchemy import select

    from bot.models import HelpRequest

    with plant.app.app_context():
        session = db.session()
        query = select(HelpRequest.number).where(HelpRequest.openid == openid)
        return session.scalars(query.order_by(HelpRequest.id.desc())).first()
