"""The domain's arguments, built from the current test app as the edges (tasks, commands) do."""

from __future__ import annotations

from flask import current_app

from bot import db, store
from bot.care.settings import CareSettings
from bot.column.settings import ColumnSettings
from bot.wechat.client import client


def care() -> tuple:
    """greetings_send's: a session factory, the WeChat and Redis clients, the care settings."""
    settings = CareSettings.from_config(current_app.config)
    return db.session_factory(), client(), store.client(), settings


def column() -> tuple:
    """publishing's: the context's session, the WeChat and Redis clients, the column settings."""
    settings = ColumnSettings.from_config(current_app.config)
    return db.session(), client(), store.client(), settings
