"""The staff console (/console/): sign-in, scope, and a module of views per page.

Server-rendered (Jinja2 templates in bot/templates/console/), mobile-first for
WeChat's browser. Every page but sign-in needs a bound staff member; every POST
carries a CSRF token; everything a user sees is cut to their scope (scope.py).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the console blueprint and its session-cookie settings."""
    from bot.console import (
        blueprint,
        views_audit,
        views_home,
        views_ledger,
        views_requests,
        views_signin,
        views_stations,
        views_stats,
    )

    del views_audit, views_home, views_ledger, views_requests, views_signin
    del views_stations, views_stats  # imported for their routes
    secure = urlsplit(app.config["PUBLIC_URL"]).scheme == "https"
    app.config.update(
        # The console is the app's only user of Flask's session.
        SESSION_COOKIE_NAME="vb_console",
        SESSION_COOKIE_PATH="/console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=secure,
        # Lax: the link in a WeChat notice must arrive signed in; a cross-site POST must not.
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=app.config["CONSOLE_SESSION_HOURS"]),
        # A form's token lives as long as the sign-in, not Flask-WTF's default hour.
        WTF_CSRF_TIME_LIMIT=None,
    )
    app.register_blueprint(blueprint.bp)
