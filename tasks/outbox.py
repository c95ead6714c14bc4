"""Task bodies for the outbox: deliver given rows now, and sweep every due row each minute."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import redis
from celery import shared_task
from flask import current_app
from sqlalchemy.exc import DBAPIError

from bot import clock, db, queue, retry
from bot.column import template_alarms
from bot.column.settings import ColumnSettings
from bot.wechat import outbox, template_faults
from bot.wechat.client import client

MAX_RETRIES = 6


def deliver_rows(task, find_ids: Callable[[], list[int]]) -> int:
    """Deliver the rows find_ids() names; retry the task for those that wait briefly.

    Returns how many were sent. Nothing is lost when this fails or gives up:
    the rows stay pending (or stuck in sending) in the database, and the sweep
    delivers them.
    """
    try:
        done = outbox.deliver(db.session(), client(), find_ids())
    except (DBAPIError, redis.RedisError) as exc:  # transient: the database or Redis blinked
        countdown = retry.for_notices(task.request.retries + 1).total_seconds()
        raise task.retry(exc=exc, countdown=countdown) from exc
    if done.retry_at is not None and task.request.retries < task.max_retries:
        wait = (done.retry_at - clock.utcnow()).total_seconds()
        if wait <= queue.LONGEST_COUNTDOWN:  # a longer wait (the daily quota) is the sweep's
            raise task.retry(countdown=max(wait, 0))
    return done.sent


@shared_task(name="tasks.outbox.deliver", bind=True, max_retries=MAX_RETRIES)
def deliver(self, ids: list[int]) -> int:
    """Deliver the outbox rows just committed (by id); how many were sent."""
    return deliver_rows(self, lambda: ids)


@shared_task(name="tasks.outbox.sweep")
def sweep() -> int:
    """Beat, every minute: deliver every due row, pending or stuck in sending; how many sent.

    Then tell the editors of any notice's template that is unset or that WeChat
    refused (once a day each), so a broken template is never only a log line.
    """
    session, wechat = db.session(), client()
    sent = outbox.deliver(session, wechat).sent
    cfg = current_app.config
    refused = template_faults.current(wechat.redis)
    settings = ColumnSettings.from_config(cfg)
    template_alarms.tell(session, wechat, settings, cfg["TEMPLATES"], refused)
    return sent


@shared_task(name="tasks.outbox.prune")
def prune() -> int:
    """Beat, daily: delete sent rows older than OUTBOX_KEEP_DAYS; how many."""
    keep = timedelta(days=current_app.config["OUTBOX_KEEP_DAYS"])
    return outbox.prune(db.session(), clock.utcnow() - keep)
