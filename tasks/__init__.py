"""Celery wiring only: the worker Celery comes from the Flask app; tasks call bot and publisher."""

from __future__ import annotations

from celery import Celery
from flask import Flask

from bot import queue

# Periodic jobs, by task name.
BEAT_SCHEDULE: dict = {}


def celery_init_app(app: Flask) -> Celery:
    """Make the app's Celery the default, with every task registered and the beat schedule."""
    celery = queue.celery_app(app)
    celery.conf.beat_schedule = BEAT_SCHEDULE
    celery.set_default()
    import tasks.bot  # noqa: F401  (registers the shared tasks)

    return celery
