"""Task bodies for care reminders: thin wrappers over bot.care.reminders, by date only.

Beat calls them with no arguments; the day is fixed on the first run and
passed to every retry, so a retry after midnight still belongs to (and is
deduplicated by the outbox keys of) the run that started it. WeChat errors are
the outbox's to retry (bot.wechat.outbox); only a database or Redis failure,
which leaves no row written, retries the task.
"""

from __future__ import annotations

from datetime import date

import redis
from celery import shared_task
from flask import current_app
from sqlalchemy.exc import DBAPIError

from bot import clock, db
from bot.care import reminders
from bot.wechat.client import client
from bot.wechat.links import Links
from tasks.bot import MAX_RETRIES, countdown


def _run(task, send, day: str | None) -> int:
    day = day or clock.today().isoformat()
    template = current_app.config["TEMPLATES"]["care_reminder"]
    links = Links.from_config(current_app.config)
    try:
        return send(db.session(), client(), template, links, date.fromisoformat(day))
    except (DBAPIError, redis.RedisError) as exc:
        raise task.retry(args=[day], exc=exc, countdown=countdown(task)) from exc


@shared_task(name="tasks.care.monthly_reminder", bind=True, max_retries=MAX_RETRIES)
def monthly_reminder(self, day: str | None = None) -> int:
    """Beat, 1st and 20th at 09:00: remind staff whom they have not contacted this month."""
    return _run(self, reminders.send_monthly, day)


@shared_task(name="tasks.care.condolence_lists", bind=True, max_retries=MAX_RETRIES)
def condolence_lists(self, day: str | None = None) -> int:
    """Beat, daily at 09:00: in the week before 春节 or 建军节, send the 慰问名单 once."""
    return _run(self, reminders.send_condolence, day)
