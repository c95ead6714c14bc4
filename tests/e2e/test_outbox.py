"""The outbox through the faults that lost or doubled staff notices (issue 8 §3).

Each test knows what should reach whom and compares it with what the emulator
delivered: every expected message exactly once, and nothing else.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
import redis
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from bot import clock
from bot.commands.outbox import outbox_command
from bot.models import HelpRequest, OutboxMessage
from bot.requests import notices
from bot.wechat import outbox
from bot.wechat.client import client as wechat_client
from tasks import celery_init_app
from tests.fixtures import factories, wiring
from tests.fixtures.proxy import CuttableProxy

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

TEMPLATE_SEND = "cgi-bin/message/template/send"
ROOT = Path(__file__).resolve().parents[2]
# A worker process delivering some rows, to be killed mid-send.
CHILD = """
import json, sys
from bot import create_app, db
from bot.wechat import outbox
from bot.wechat.client import client as wechat_client

settings, ids = json.load(sys.stdin)
with create_app(settings).app_context():
    outbox.deliver(db.session(), wechat_client(), ids)
"""


@pytest.fixture
def village(session):
    """A village station with its own staff member and its township's: two people per request."""
    station = factories.VillageFactory(name="好谷村退役军人服务站")
    staff = [
        factories.StaffFactory(station=station, openid="o-haogu-staff"),
        factories.StaffFactory(station=station.parent, openid="o-jiudu-staff"),
    ]
    return station, staff


def file_requests(session, station, count: int) -> list[int]:
    """Requests filed as the webhook files them: each with its notices, in one commit."""
    ids = []
    for _ in range(count):
        request = factories.HelpRequestFactory(station=station)
        ids += notices.add(session, request, wiring.template("help_request"))
        session.commit()
    return ids


def expected(session) -> Counter:
    """(openid, key) of every notice the database says must reach someone: each once."""
    session.expire_all()
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.state != "failed"))
    return Counter((r.openid, r.key) for r in rows)


def received(platform) -> Counter:
    """(openid, client_msg_id) of every template message the emulator delivered."""
    return Counter((m["touser"], m["client_msg_id"]) for m in platform.outbox)


def states(session) -> Counter:
    session.expire_all()
    return Counter(session.scalars(select(OutboxMessage.state)))


def later(**delta):
    return clock.utcnow() + timedelta(**delta)


@pytest.mark.usefixtures("committed_db")
def test_the_database_down_when_the_task_runs_loses_no_notice(
    app, make_app, session, platform, database_url, tmp_path, village
):
    station, _ = village
    ids = file_requests(session, station, 3)  # the case: 3 requests, 6 notices
    if database_url.startswith("postgresql"):
        parsed = urlparse(database_url)
        proxy = CuttableProxy(f"tcp://{parsed.hostname}:{parsed.port or 5432}")
        port = proxy.start()
        url = database_url.replace(parsed.netloc, f"{parsed.username or 'root'}@127.0.0.1:{port}")
        proxy.cut()
    else:  # SQLite has no server to cut: the worker finds no database file at all
        url = f"sqlite:///{tmp_path / 'gone' / 'x.db'}"
    worker_app = make_app(DATABASE_URL=url)
    deliver = celery_init_app(worker_app).tasks["tasks.outbox.deliver"]

    with pytest.raises(DBAPIError):  # raised for Celery to retry; before, it was acknowledged
        deliver(ids)

    assert platform.outbox == [] and states(session) == {"pending": 6}
    # However the retries fare, the database is back and the sweep finds every row.
    assert outbox.deliver(session, wechat_client()).sent == 6
    assert received(platform) == expected(session) and len(received(platform)) == 6
    assert outbox.deliver(session, wechat_client(), now=later(hours=1)).sent == 0


@pytest.mark.usefixtures("committed_db")
def test_a_worker_killed_mid_send_leaves_each_staff_member_one_notice(
    app, app_settings, session, platform, village
):
    station, _ = village
    ids = file_requests(session, station, 1)
    platform.slow_answers[TEMPLATE_SEND] = 5.0  # WeChat delivers, then answers slowly
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD], stdin=subprocess.PIPE, cwd=ROOT, env=dict(os.environ)
    )
    try:
        child.stdin.write(json.dumps([app_settings, ids]).encode())
        child.stdin.close()
        deadline = time.monotonic() + 30
        while len(platform.outbox) < 2 and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        os.kill(child.pid, signal.SIGKILL)  # delivered, and "sent" never saved
        child.wait()
    finally:
        platform.slow_answers.clear()
        if child.poll() is None:
            child.kill()

    assert len(platform.outbox) == 2 and states(session) == {"sending": 2}
    assert outbox.deliver(session, wechat_client()).sent == 0  # not stuck yet: it may be mid-send
    done = outbox.deliver(session, wechat_client(), now=later(minutes=2, seconds=1))

    # Sent again with the same client_msg_id; WeChat drops the repeats.
    assert done.sent == 2 and platform.calls.count(TEMPLATE_SEND) == 4
    assert received(platform) == expected(session) and len(received(platform)) == 2
    assert states(session) == {"sent": 2}


def test_redis_losing_every_queued_task_loses_no_notice(
    app, wechat, session, platform, redis_url, village
):
    station, _ = village
    for n in range(3):
        veteran = factories.VeteranFactory(station=station, openid=f"o-vet-{n}", seq=n + 1)
        wechat.converse(veteran.openid, "求助", "1", "想找一份工作，请帮忙")
    broker = redis.Redis.from_url(redis_url)
    queued = [json.loads(m)["headers"]["task"] for m in broker.lrange("celery", 0, -1)]

    assert queued == ["tasks.outbox.deliver"] * 3  # one per request, sent after its commit
    assert states(session) == {"pending": 6}  # written in the requests' own commits
    broker.flushdb()  # Redis restarts without persistence: the tasks are gone
    broker.close()

    assert outbox.deliver(session, wechat_client()).sent == 6  # the minute's sweep
    assert received(platform) == expected(session) and len(received(platform)) == 6
    assert len(session.scalars(select(HelpRequest)).all()) == 3


def test_a_permanent_error_fails_the_notice_and_veteranbot_outbox_shows_why(
    app, session, platform, village
):
    station, _ = village
    file_requests(session, station, 1)
    platform.inject(TEMPLATE_SEND, 47003)  # a field the template refuses: no retry helps

    done = outbox.deliver(session, wechat_client())
    listing = app.test_cli_runner().invoke(outbox_command, [])

    assert (done.sent, done.failed) == (1, 1)
    (failed,) = session.scalars(select(OutboxMessage).where(OutboxMessage.state == "failed"))
    assert failed.reason == "模板消息的字段不符合模板要求（47003）"
    assert listing.exit_code == 0
    assert "已发送 1 条，失败 1 条" in listing.output
    assert "失败    help" in listing.output and failed.key in listing.output
    assert "原因：模板消息的字段不符合模板要求（47003）" in listing.output
    assert received(platform) == expected(session) and len(received(platform)) == 1


def test_veteranbot_outbox_lists_what_waits_with_the_next_attempt(app, session, platform, village):
    station, _ = village
    file_requests(session, station, 1)
    platform.inject(TEMPLATE_SEND, 45011, 45011)  # both meet the per-minute limit

    outbox.deliver(session, wechat_client())
    lines = app.test_cli_runner().invoke(outbox_command, []).output.splitlines()

    assert lines[0].startswith("待发送 2 条，发送中 0 条，已发送 0 条，失败 0 条")
    assert "最早一条未发送的已等 0 分钟" in lines[0]
    waiting = [line for line in lines if line.startswith("待发送")][1:]
    assert len(waiting) == 2 and all("help" in line and " 1 " in line for line in waiting)
    assert lines.count("    原因：接口调用太频繁，稍后重试（45011）") == 2


def test_health_reports_how_long_the_oldest_notice_has_waited(app, client, session, village):
    station, _ = village
    file_requests(session, station, 1)
    assert client.get("/healthz").json["outbox_oldest_pending_seconds"] <= 5
    session.execute(
        OutboxMessage.__table__.update().values(created_at=clock.utcnow() - timedelta(seconds=90))
    )
    session.commit()

    health = client.get("/healthz")

    assert health.status_code == 200  # a report, not a failure: the sweep is on it
    assert 90 <= health.json["outbox_oldest_pending_seconds"] <= 95
    outbox.deliver(session, wechat_client())
    assert client.get("/healthz").json["outbox_oldest_pending_seconds"] is None
