"""Celery wiring only: the worker Celery comes from the Flask app; tasks call bot and publisher."""

from __future__ import annotations

from celery import Celery
from celery.schedules import crontab
from flask import Flask

from bot import queue

# Periodic jobs, by task name (times in Celery's timezone, Asia/Shanghai).
BEAT_SCHEDULE: dict = {
    # The outbox: every due message, pending or stuck in sending, even when Redis lost
    # the tasks that were to deliver them. A minute keeps a retry inside the 10 minutes
    # WeChat remembers a client_msg_id (bot.wechat.outbox).
    "outbox-sweep": {"task": "tasks.outbox.sweep", "schedule": 60.0},
    # Sent rows older than OUTBOX_KEEP_DAYS, at night when nothing else runs.
    "outbox-prune": {"task": "tasks.outbox.prune", "schedule": crontab(minute=30, hour=3)},
    "publish-due": {"task": "tasks.publish.publish_due", "schedule": 60.0},
    "weekly-reminder": {
        "task": "tasks.publish.weekly_reminder",
        "schedule": crontab(minute=0, hour=9, day_of_week="mon"),
    },
    # Holiday greetings: every 5 minutes, today's occasions go out once it is
    # GREETING_TIME; a failed send is retried by a later run, on the day only.
    "greetings-due": {"task": "tasks.greetings.send_due", "schedule": 300.0},
    # Care reminders: uncontacted veterans on the 1st and 20th; condolence lists are
    # checked daily and go out once in the week before 春节 and 建军节.
    "care-monthly-reminder": {
        "task": "tasks.care.monthly_reminder",
        "schedule": crontab(minute=0, hour=9, day_of_month="1,20"),
    },
    # Cases not taken (签收) by their deadline climb to the station above, each once.
    "cases-check-sla": {"task": "tasks.requests.check_sla", "schedule": 300.0},
    "care-condolence-lists": {
        "task": "tasks.care.condolence_lists",
        "schedule": crontab(minute=0, hour=9),
    },
}


def celery_init_app(app: Flask) -> Celery:
    """Make the app's Celery the default, with every task registered and the beat schedule."""
    celery = queue.celery_app(app)
    celery.conf.beat_schedule = BEAT_SCHEDULE
    celery.set_default()
    # Importing the task modules registers their shared tasks.
    import tasks.bot
    import tasks.care
    import tasks.greetings
    import tasks.outbox
    import tasks.publish
    import tasks.requests  # noqa: F401

    return celery
