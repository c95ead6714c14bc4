"""Task bodies for the case workflow: the SLA check beat runs, a thin wrapper over the domain."""

from __future__ import annotations

import redis
from celery import shared_task
from flask import current_app
from sqlalchemy.exc import DBAPIError

from bot import db, queue, store
from bot.crypto import cipher
from bot.requests import escalation
from bot.requests.desk import Desk
from bot.requests.settings import CaseSettings
from tasks.bot import MAX_RETRIES, countdown


def _desk_for():
    settings = CaseSettings.from_config(current_app.config)
    session = db.session()

    def make() -> Desk:
        return Desk(session, cipher(), store.client(), settings)

    return make


@shared_task(name="tasks.requests.check_sla", bind=True, max_retries=MAX_RETRIES)
def check_sla(self) -> int:
    """Beat, every 5 minutes: escalate each case not taken by its 签收 deadline, once."""
    made: list[Desk] = []
    make = _desk_for()

    def desk() -> Desk:
        made.append(make())
        return made[-1]

    try:
        escalated = escalation.check_due(desk)
    except (DBAPIError, redis.RedisError) as exc:
        raise self.retry(exc=exc, countdown=countdown(self)) from exc
    ids = [row_id for d in made for row_id in d.outbox_ids]
    if ids:
        # Committed already (one commit per case); the sweep would find them within a minute.
        queue.celery_app().send_task("tasks.outbox.deliver", args=[ids])
    return escalated
