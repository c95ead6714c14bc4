"""The SQLAlchemy engine, one session per app context, and Alembic upgrades."""

from __future__ import annotations

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


class Base(DeclarativeBase):
    """Declarative base of every model."""


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets foreign keys, WAL and a generous busy timeout."""
    # A database error's text would otherwise carry the statement's values (names,
    # phones, ID hashes) into tracebacks and logs.
    private = {"hide_parameters": True}
    if url.startswith("sqlite"):
        connect = {"timeout": 15, "check_same_thread": False}
        engine = create_engine(url, connect_args=connect, **private)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **private)


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


def upgrade(eng: Engine, revision: str = "head") -> None:
    """Apply Alembic migrations; on PostgreSQL, concurrent starters wait on a lock."""
    with eng.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting together would both try to create tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        command.upgrade(alembic_config(conn), revision)


def save_versioned(session: Session, model: type[Base], key: dict, version: int, **values) -> bool:
    """Update the row matching key if it is still at version, bumping it; commit.

    False when another run saved the row first (or it is gone): of two runs that
    read the same version, only one moves the row on. Timestamp columns with an
    onupdate (updated_at) are set as usual.
    """
    table = model.__table__
    where = [table.c[name] == value for name, value in key.items()]
    done = session.execute(
        table.update()
        .where(*where, table.c.version == version)
        .values(**values, version=version + 1)
    )
    session.commit()
    return done.rowcount == 1


def session_factory() -> sessionmaker:
    """The current app's session factory, for work that opens its own sessions (threads)."""
    return current_app.extensions["db"]
