"""Task bodies for the bot: thin wrappers that take IDs and call into `bot`."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from bot import db, retry
from bot.crypto import cipher
from bot.records import tagging
from bot.requests import notices, recordings
from bot.wechat.client import client
from bot.wechat.errors import WeChatError
from tasks.outbox import deliver_rows

MAX_RETRIES = 6


def countdown(task) -> float:
    """Seconds before the task's next retry, on the notices' curve (bot.retry)."""
    return retry.for_notices(task.request.retries + 1).total_seconds()


def retrying_transient(task, work):
    """Run work(); a transient WeChat error retries the task later, a permanent one fails it."""
    try:
        return work()
    except WeChatError as exc:
        if not exc.transient:
            raise
        raise task.retry(exc=exc, countdown=countdown(task)) from exc


@shared_task(name="tasks.bot.notify_staff", bind=True, max_retries=MAX_RETRIES)
def notify_staff(self, request_id: int) -> int:
    """Deliver a help request's notices to its staff (kept for messages queued before the outbox).

    The webhook now enqueues tasks.outbox.deliver; a notify_staff message still
    queued from before a deploy writes the request's outbox rows, then delivers them.
    """
    template = current_app.config["TEMPLATES"]["help_request"]
    return deliver_rows(self, lambda: notices.written(db.session(), request_id, template))


@shared_task(name="tasks.bot.tag_veteran", bind=True, max_retries=MAX_RETRIES)
def tag_veteran(self, veteran_id: int) -> list[str]:
    """Tag a registered veteran's follower 退役军人 and with their county."""
    # The same tag the column's and greetings' mass sends target (VETERAN_TAG).
    tag = current_app.config["VETERAN_TAG"]
    return retrying_transient(
        self, lambda: tagging.tag_veteran(db.session(), client(), veteran_id, tag)
    )


@shared_task(name="tasks.bot.fetch_voice", bind=True, max_retries=MAX_RETRIES)
def fetch_voice(self, voice_id: int) -> str:
    """Download a voice message WeChat sent without words, for staff to listen to."""
    return retrying_transient(
        self, lambda: recordings.fetch(db.session(), client(), cipher(), voice_id)
    )
