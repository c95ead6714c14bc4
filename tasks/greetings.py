"""Task bodies for holiday greetings: thin wrappers over bot.care.greetings_send."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from flask import current_app

from bot import db, queue, retry, store
from bot.care import greetings_send
from bot.care.settings import CareSettings
from bot.wechat.client import MASS_REPEAT_WAIT, client

MAX_RETRIES = 6


def _countdown(task) -> float | None:
    """Seconds before the task's next retry, on the greetings' curve (bot.retry).

    None past bot.queue.LONGEST_COUNTDOWN: a message waiting longer would be
    handed out again by the broker; beat's send_due retries the day's failed
    tags instead. Never under a minute: WeChat answers a mass send repeated
    sooner with 45066, "retry later".
    """
    wait = max(retry.for_greetings(task.request.retries + 1), MASS_REPEAT_WAIT)
    seconds = wait.total_seconds()
    return seconds if seconds <= queue.LONGEST_COUNTDOWN else None


def _arguments() -> tuple:
    """What the sends need: a session factory, the WeChat and Redis clients, the settings."""
    settings = CareSettings.from_config(current_app.config)
    return db.session_factory(), client(), store.client(), settings


@shared_task(name="tasks.greetings.send_due")
def send_due() -> int:
    """Beat, every 5 minutes: send today's greetings once it is GREETING_TIME; count the tags."""
    return len(greetings_send.send_due(*_arguments()) or [])


@shared_task(name="tasks.greetings.send_occasion", bind=True, max_retries=MAX_RETRIES)
def send_occasion(self, key: str, day: str) -> list[str]:
    """Send one occasion's greeting for day (YYYY-MM-DD); transient failures retry with backoff."""
    outcomes, _notes = greetings_send.send_occasion(*_arguments(), key, date.fromisoformat(day))
    waiting = any(o.transient or o.busy for o in outcomes)
    if waiting and (countdown := _countdown(self)) is not None:
        raise self.retry(countdown=countdown)
    return [f"{o.tag_name}:{o.state}" for o in outcomes]
