"""The one retry curve: how long the n-th retry after a transient failure waits.

Every flow that retries a transient WeChat error (the tasks' Celery retries,
the column's retry_after, the greetings' beat) waits first, 2 × first,
4 × first …, never longer than most. The curve lives here, in the bot, rather
than in publisher/: the publisher stays pure and is handed the column's curve
by its caller (bot.column.publishing), like its other ports.

Flows differ only in where the curve starts and where it stops, for these reasons:
- staff notices (help requests, care reminders): a help request should reach
  staff seconds after a blip, so they start at 2 s; 10 minutes at most;
- the column: nothing waits on a story by the minute, and each retry spends
  calls from the daily API quota, so 1 minute doubling up to an hour;
- greetings: retried on the occasion's day only, within the 24 h a clientmsgid
  is remembered, so 1 minute doubling up to 30 minutes keeps them dense that day.
"""

from __future__ import annotations

from datetime import timedelta


def backoff(attempt: int, *, first: timedelta, most: timedelta) -> timedelta:
    """The wait before retry number attempt (1, 2, …): first, doubled each time, at most most."""
    return min(first * 2 ** max(attempt - 1, 0), most)


def for_notices(attempt: int) -> timedelta:
    """Staff notices: 2, 4, 8 … seconds, at most ten minutes."""
    return backoff(attempt, first=timedelta(seconds=2), most=timedelta(minutes=10))


def for_column(attempt: int) -> timedelta:
    """The column's WeChat channel: 1, 2, 4 … minutes, at most an hour."""
    return backoff(attempt, first=timedelta(minutes=1), most=timedelta(hours=1))


def for_greetings(attempt: int) -> timedelta:
    """Holiday greetings: 1, 2, 4 … minutes, at most 30."""
    return backoff(attempt, first=timedelta(minutes=1), most=timedelta(minutes=30))
