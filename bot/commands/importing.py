"""Running an importer from the command line: all rows or none, and one clear message."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import click
from flask import current_app
from sqlalchemy.orm import Session

from bot import db
from bot.records.imports.table_files import ImportFailed, Limits

Counts = TypeVar("Counts")


def all_or_none(load: Callable[[Session, Limits], Counts]) -> Counts:
    """Run load in the app's session with the configured limits; commit only if it succeeds."""
    cfg = current_app.config
    limits = Limits(cfg["IMPORT_MAX_BYTES"], cfg["IMPORT_MAX_FAULTS"])
    session = db.session()
    try:
        counts = load(session, limits)
    except ImportFailed as exc:
        session.rollback()
        raise click.ClickException(str(exc)) from None
    session.commit()
    return counts
