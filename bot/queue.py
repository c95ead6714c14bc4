"""The Celery app the web process enqueues with, by task name and after commit.

The bot never imports `tasks`: it sends task names and IDs, and only once the
database transaction that made those IDs has committed.
"""

from __future__ import annotations

import logging

from celery import Celery, Task
from flask import Flask, current_app
from sqlalchemy import event

from bot import db, store

log = logging.getLogger(__name__)
# kombu's Redis transport hands a message to another worker when the one that took it
# has not acknowledged it within this time. Acks are late (after the task ran), so it
# must outlast the longest run: publish_due uploading due stories' images, a few
# minutes at worst (each API call gives up within 13 s); a reminder to 2,000 staff
# takes under a minute. A run that outlasts it anyway only meets a second run, which
# the locks and versioned saves keep harmless. Kombu's default, an hour, is how long a
# killed worker's notice used to wait before both staff got it twice; now the sweep
# delivers it within minutes and the redelivery finds it sent.
VISIBILITY_TIMEOUT = 900
# A message waiting for its countdown is unacknowledged too, so a retry that waited
# longer would be handed out again, and again (Celery's Redis caveats). Retries wait at
# most this; a longer wait is left to beat, which resumes from the rows' saved state.
LONGEST_COUNTDOWN = 300
# Queuing a task after a webhook's commit spends the webhook's 4 s (bot.wechat.dedup).
# Against a Redis that hangs, the shared pool's 2 s timeouts and one publish retry took
# about 4 s. A task queued after a commit only hurries along what the commit wrote (the
# outbox's rows, a veteran to tag): losing its message loses nothing the sweeps do not
# find, so the webhook's publish gets one try, each round trip bounded by this.
PUBLISH_TIMEOUT_SECONDS = 1.0
_PUBLISH_OPTIONS = {
    "socket_timeout": PUBLISH_TIMEOUT_SECONDS,
    "socket_connect_timeout": PUBLISH_TIMEOUT_SECONDS,
}


def broker_url(redis_url: str) -> str:
    """Translate a redis-py URL into kombu's spelling (unix sockets differ)."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url.removeprefix("unix://")
    return redis_url


def init_app(app: Flask) -> None:
    """Create the app's Celery instance and send queued tasks when sessions commit."""

    class AppContextTask(Task):
        # Task bodies use the same db/store accessors as views do.
        def __call__(self, *args, **kwargs):
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.import_name, set_as_current=False, task_cls=AppContextTask)
    celery.conf.update(
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        # A task is acknowledged after it ran, so a worker killed mid-task
        # hands it to another instead of losing it. Every task may run twice
        # this way: each settles against its rows (the outbox's states,
        # campaigns, channel states), so a second run sends nothing again.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        timezone="Asia/Shanghai",
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "socket_timeout": 2,
            "socket_connect_timeout": 2,
            "visibility_timeout": VISIBILITY_TIMEOUT,
        },
        task_publish_retry_policy={"max_retries": 1, "interval_start": 0, "interval_step": 0.2},
        worker_hijack_root_logger=False,
    )
    app.extensions["celery"] = celery
    sessions = app.extensions["db"]
    event.listen(sessions, "after_commit", _send_pending)
    event.listen(sessions, "after_rollback", lambda s: s.info.pop("pending_tasks", None))


def celery_app(app: Flask | None = None) -> Celery:
    """The app's Celery, pointed at the app's Redis (started on first use if embedded)."""
    app = app or current_app
    celery = app.extensions["celery"]
    if not celery.conf.broker_url:
        celery.conf.broker_url = broker_url(store.url(app))
    return celery


def enqueue(name: str, *args) -> None:
    """Queue task `name` with JSON-able args, to be sent when the session commits."""
    pending = db.session().info.setdefault("pending_tasks", [])
    pending.append((celery_app(), name, list(args)))


def _send_pending(session) -> None:
    """Publish the tasks queued in a transaction that committed; a failure is only logged.

    The commit stands either way: raising here would tell the follower "busy" about a
    request that was filed. Each publish opens its own short-timeout connection (a
    commit that queues a task is rare: a request filed, a veteran registered), and
    after one fails the rest are not tried, since Redis would make each wait as long.
    """
    for celery, name, args in session.info.pop("pending_tasks", []):
        try:
            with celery.connection_for_write(
                connect_timeout=PUBLISH_TIMEOUT_SECONDS, transport_options=_PUBLISH_OPTIONS
            ) as connection:
                celery.send_task(name, args=args, connection=connection, retry=False)
        except Exception as exc:  # the broker's errors are kombu's, redis-py's or OSError
            log.warning(
                "task %s not queued (%s); the sweeps find its rows", name, type(exc).__name__
            )
            return
