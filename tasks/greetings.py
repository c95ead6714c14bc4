"""Task bodies for holiday greetings: thin wrappers over bot.care.greetings_send."""

from __future__ import annotations

from datetime import date

from celery import shared_task

from bot import retry
from bot.care import greetings_send

MAX_RETRIES = 6


def _countdown(task) -> float:
    """Seconds before the task's next retry, on the greetings' curve (bot.retry)."""
    return retry.for_greetings(task.request.retries + 1).total_seconds()


@shared_task(name="tasks.greetings.send_due")
def send_due() -> int:
    """Beat, every 5 minutes: send today's greetings once it is GREETING_TIME; count the tags."""
    return len(greetings_send.send_due() or [])


@shared_task(name="tasks.greetings.send_occasion", bind=True, max_retries=MAX_RETRIES)
def send_occasion(self, key: str, day: str) -> list[str]:
    """Send one occasion's greeting for day (YYYY-MM-DD); transient failures retry with backoff."""
    outcomes, _notes = greetings_send.send_occasion(key, date.fromisoformat(day))
    if any(o.transient or o.busy for o in outcomes):
        raise self.retry(countdown=_countdown(self))
    return [f"{o.tag_name}:{o.state}" for o in outcomes]
