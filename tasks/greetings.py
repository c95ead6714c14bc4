"""Task bodies for holiday greetings: thin wrappers over bot.care.greetings_send."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from flask import current_app

from bot import db, retry, store
from bot.care import greetings_send
from bot.care.settings import CareSettings
from bot.wechat.client import client

MAX_RETRIES = 6


def _countdown(task) -> float:
    """Seconds before the task's next retry, on the greetings' curve (bot.retry)."""
    return retry.for_greetings(task.request.retries + 1).total_seconds()


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
    if any(o.transient or o.busy for o in outcomes):
        raise self.retry(countdown=_countdown(self))
    return [f"{o.tag_name}:{o.state}" for o in outcomes]
