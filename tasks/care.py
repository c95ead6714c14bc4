"""Task bodies for care reminders: thin wrappers over bot.care.reminders, by date only.

Beat calls them with no arguments; the day is fixed on the first run and
passed to every retry, so a retry after midnight still belongs to (and is
deduplicated by the markers of) the run that started it.
"""

from __future__ import annotations

from datetime import date

from celery import shared_task
from flask import current_app

from bot import clock, db, store
from bot.care import reminders
from bot.wechat.client import client
from bot.wechat.errors import WeChatError
from tasks.bot import MAX_RETRIES, countdown


def _run(task, send, day: str | None) -> int:
    day = day or clock.today().isoformat()
    template_id = current_app.config["WECHAT_TEMPLATE_CARE_REMINDER"]
    try:
        return send(db.session(), client(), store.client(), template_id, date.fromisoformat(day))
    except WeChatError as exc:
        if not exc.transient:
            raise
        raise task.retry(args=[day], exc=exc, countdown=countdown(task)) from exc


@shared_task(name="tasks.care.monthly_reminder", bind=True, max_retries=MAX_RETRIES)
def monthly_reminder(self, day: str | None = None) -> int:
    """Beat, 1st and 20th at 09:00: remind staff whom they have not contacted this month."""
    return _run(self, reminders.send_monthly, day)


@shared_task(name="tasks.care.condolence_lists", bind=True, max_retries=MAX_RETRIES)
def condolence_lists(self, day: str | None = None) -> int:
    """Beat, daily at 09:00: in the week before 春节 or 建军节, send the 慰问名单 once."""
    return _run(self, reminders.send_condolence, day)
