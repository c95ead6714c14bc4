"""Timestamps: stored as naive UTC so SQLite and PostgreSQL agree."""

from datetime import UTC, datetime


def utcnow() -> datetime:
    """The current time in UTC, without tzinfo, as every timestamp column stores it."""
    return datetime.now(UTC).replace(tzinfo=None)
