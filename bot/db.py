"""The SQLAlchemy engine, one session per app context, and Alembic upgrades."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from flask import Flask, current_app, g
from sqlalchemy import Connection, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
# How autogenerate compares and writes, for `db revision` (through env.py) and
# `db check` alike. Batch operations are what SQLite needs for most changes
# and PostgreSQL runs them as plain ALTERs, so one migration serves both.
MIGRATION_OPTIONS = {"compare_type": True, "compare_server_default": True, "render_as_batch": True}


# How long SQLite waits for another writer's lock before it gives up.
SQLITE_BUSY_SECONDS = 15


class Base(DeclarativeBase):
    """Declarative base of every model."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a generous busy timeout."""
    # A database error's text would otherwise carry the statement's values (names,
    # phones, ID hashes) into tracebacks and logs.
    private = {"hide_parameters": True}
    if url.startswith("sqlite"):
        connect = {"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect, **private)
        event.listen(engine, "do_connect", _private_file)
        event.listen(engine, "connect", _sqlite_pragmas)
        # The webhook shortens the wait to its budget; the next user of the
        # connection gets the usual wait back.
        event.listen(engine, "checkin", _sqlite_default_wait)
        return engine
    # A server that does not answer must not hold the webhook past its budget;
    # its statements are bounded per call (bot.wechat.views).
    connect = {"connect_timeout": 2} if url.startswith("postgresql") else {}
    return create_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect, **private
    )


def _private_file(_dialect, _record, cargs, _cparams) -> None:
    """Create the SQLite file owner-only before SQLite does so with the umask's mode.

    It holds names and phone numbers; SQLite gives its -wal and -shm files the
    database file's mode.
    """
    path = cargs[0] if cargs else ""
    if not path or path == ":memory:" or path.startswith("file:"):
        return
    # There already, or no folder (SQLite will say so): nothing to create.
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _sqlite_default_wait(dbapi_conn, _record) -> None:
    if dbapi_conn is not None:
        dbapi_conn.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_SECONDS * 1000}")


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def init_app(app: Flask) -> None:
    """Bind an engine and session factory to the app; sessions close with the context."""
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["db"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def session() -> Session:
    """The current app context's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["db"]()
    return g.db_session


def engine() -> Engine:
    """The current app's engine."""
    # Tests bind the sessions to one of the engine's connections, hence `.engine`.
    return current_app.extensions["db"].kw["bind"].engine


def _close_session(_exc: BaseException | None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        s.close()


def alembic_config(connection: Connection | None = None) -> AlembicConfig:
    """Alembic's settings: our scripts, files named like 0004_add_quota.py, this connection."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    cfg.attributes["connection"] = connection
    return cfg


def revision_of(eng: Engine) -> str | None:
    """The migration the database is at; None for an empty one."""
    from alembic.runtime.migration import MigrationContext

    with eng.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(eng: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations; on PostgreSQL, concurrent starters wait on a lock."""
    with eng.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            # SQLite changes a column by rebuilding its table, and dropping the old
            # copy of a table others point at (veterans) fails while foreign keys
            # are on. Its documented way: keys off outside the transaction, and
            # checked before the commit.
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    # Two processes starting together would both try to create tables.
                    conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
                command.upgrade(alembic_config(conn), revision)
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first():
                    raise RuntimeError("a migration left rows pointing at rows that are gone")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def save_versioned(session: Session, model: type[Base], key: dict, version: int, **values) -> bool:
    """Update the row matching key if it is still at version, bumping it; commit.

    False when another run saved the row first (or it is gone): of two runs that
    read the same version, only one moves the row on. Timestamp columns with an
    onupdate (updated_at) are set as usual.
    """
    done = update_versioned(session, model, key, version, **values)
    session.commit()
    return done


def update_versioned(
    session: Session, model: type[Base], key: dict, version: int, **values
) -> bool:
    """save_versioned without the commit, for a caller that writes more in the same transaction."""
    table = model.__table__
    where = [table.c[name] == value for name, value in key.items()]
    done = session.execute(
        table.update()
        .where(*where, table.c.version == version)
        .values(**values, version=version + 1)
    )
    return done.rowcount == 1


def session_factory() -> sessionmaker:
    """The current app's session factory, for work that opens its own sessions (threads)."""
    return current_app.extensions["db"]
