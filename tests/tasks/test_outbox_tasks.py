"""The outbox's tasks and the broker's bounds: deliver, sweep, no message waiting too long."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import pytest

from bot import queue, retry
from bot.sandbox.platform import CLIENT_MSG_ID_SECONDS
from bot.wechat import outbox
from tasks import BEAT_SCHEDULE, celery_init_app
from tasks import greetings as greeting_tasks
from tasks import publish as publish_tasks
from tests.fixtures.templates import HELP_DATA

DATA = HELP_DATA


@pytest.fixture
def outbox_tasks(app, session):
    celery = celery_init_app(app)
    return SimpleNamespace(
        deliver=celery.tasks["tasks.outbox.deliver"], sweep=celery.tasks["tasks.outbox.sweep"]
    )


def write(session, count: int) -> list[int]:
    ids = [
        outbox.add(session, f"help:{n}:1", f"o-staff-{n}", "tpl-help-request", DATA)
        for n in range(count)
    ]
    session.commit()
    return ids


def delivered(platform) -> list[str]:
    return sorted(m["client_msg_id"] for m in platform.outbox)


def test_deliver_run_twice_as_a_redelivered_message_sends_nothing_more(
    outbox_tasks, session, platform
):
    ids = write(session, 3)

    assert outbox_tasks.deliver(ids) == 3
    assert outbox_tasks.deliver(ids) == 0  # acks are late: a killed worker's task runs again

    assert delivered(platform) == ["help:0:1", "help:1:1", "help:2:1"]


def test_the_sweep_delivers_every_due_row_with_no_task_queued(outbox_tasks, session, platform):
    write(session, 4)

    assert outbox_tasks.sweep() == 4
    assert outbox_tasks.sweep() == 0
    assert len(delivered(platform)) == 4


def test_the_worker_runs_the_sweep_beat_sends(app, session, platform, worker):
    write(session, 2)

    worker.send_task(BEAT_SCHEDULE["outbox-sweep"]["task"])
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(platform.outbox) < 2:
        time.sleep(0.1)

    assert delivered(platform) == ["help:0:1", "help:1:1"]


def test_every_repeat_of_a_send_comes_inside_the_client_msg_id_window():
    sweep = timedelta(seconds=BEAT_SCHEDULE["outbox-sweep"]["schedule"])
    window = timedelta(seconds=CLIENT_MSG_ID_SECONDS)
    longest_wait = max(retry.for_notices(n) for n in range(1, 40))

    # A row waits at most its backoff or STUCK, then up to one sweep more, then one send.
    assert longest_wait + sweep + timedelta(seconds=30) < window
    assert outbox.STUCK + sweep + timedelta(seconds=30) < window


def test_the_broker_hands_out_a_message_again_after_15_minutes_not_an_hour(app):
    options = queue.celery_app(app).conf.broker_transport_options

    assert options["visibility_timeout"] == queue.VISIBILITY_TIMEOUT == 900
    assert app.extensions["celery"].conf.task_acks_late


@pytest.mark.parametrize("countdown", [publish_tasks._countdown, greeting_tasks._countdown])
def test_no_retry_waits_in_the_broker_longer_than_the_visibility_timeout(countdown):
    waits = [countdown(SimpleNamespace(request=SimpleNamespace(retries=n))) for n in range(12)]

    asked = [w for w in waits if w is not None]
    assert asked and max(asked) <= queue.LONGEST_COUNTDOWN < queue.VISIBILITY_TIMEOUT
    assert waits[-1] is None  # a longer wait is left to beat, which resumes from the rows
    assert retry.for_notices(40).total_seconds() <= queue.LONGEST_COUNTDOWN
