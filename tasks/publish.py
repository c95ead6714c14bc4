"""Task bodies for the 风采录 column: thin wrappers over bot.column.publishing, by slug only."""

from __future__ import annotations

from celery import shared_task
from flask import current_app

from bot import db, queue, retry, store
from bot.column import editors, publishing
from bot.column.settings import ColumnSettings
from bot.wechat.client import client
from publisher.ports import PublishError

MAX_RETRIES = 8
# While WeChat says "publishing" (publish_status 1), look again this often.
POLL_SECONDS = 60


def _countdown(task, exc: PublishError | None = None) -> float | None:
    """Seconds before the task's next retry, on the column's curve (bot.retry), or the
    error's own wait when longer (45066: a repeated mass send waits a minute).

    None past bot.queue.LONGEST_COUNTDOWN: a message waiting longer would be
    handed out again by the broker. The task then fails, and beat's
    publish_due resumes the channel once its saved retry_after has passed.
    """
    wait = retry.for_column(task.request.retries + 1)
    seconds = max(wait, exc.wait if exc else wait).total_seconds()
    return seconds if seconds <= queue.LONGEST_COUNTDOWN else None


def _settings() -> ColumnSettings:
    return ColumnSettings.from_config(current_app.config)


def _arguments() -> tuple:
    """What the column needs: the session, the WeChat and Redis clients, the settings."""
    return db.session(), client(), store.client(), _settings()


@shared_task(name="tasks.publish.publish_due")
def publish_due() -> int:
    """Beat, every minute: publish every due story's open channels (once, under a lock)."""
    done = publishing.publish_due(*_arguments())
    return len(done or [])


@shared_task(name="tasks.publish.publish_story", bind=True, max_retries=MAX_RETRIES)
def publish_story(self, slug: str, channel: str | None = None) -> list[str]:
    """Publish one story now; a transient WeChat failure retries with backoff."""
    try:
        states = publishing.publish_story(*_arguments(), slug, channel)
    except PublishError as exc:
        if not exc.transient or (countdown := _countdown(self, exc)) is None:
            raise
        raise self.retry(exc=exc, countdown=countdown) from exc
    for st in states:
        if st.channel == "wechat" and st.state == "submitted":
            poll_wechat.apply_async(args=[slug], countdown=POLL_SECONDS)
    return [f"{st.channel}:{st.state}" for st in states]


@shared_task(name="tasks.publish.poll_wechat", bind=True, max_retries=30)
def poll_wechat(self, slug: str) -> str:
    """Confirm a submitted article by freepublish/get; look again while it is publishing."""
    try:
        st = publishing.poll(db.session(), client(), _settings(), slug)
    except PublishError as exc:
        if not exc.transient or (countdown := _countdown(self, exc)) is None:
            raise
        raise self.retry(exc=exc, countdown=countdown) from exc
    if st.state == "submitted":
        raise self.retry(countdown=POLL_SECONDS)
    return st.state


@shared_task(name="tasks.publish.weekly_reminder")
def weekly_reminder() -> bool:
    """Beat, Mondays 09:00: tell the editors when the coming week has no story queued."""
    return editors.weekly_reminder(db.session(), client(), _settings())
