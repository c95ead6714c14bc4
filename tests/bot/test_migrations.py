"""Migrations that move data: existing rows come through on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from datetime import date, datetime

import pytest
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text

from bot import db as database

NOW = datetime(2024, 5, 1, 8, 0)


@pytest.fixture
def scratch(database_url, tmp_path):
    """An empty database of the test's own, on the run's kind of server; its engine."""
    if not database_url.startswith("postgresql"):
        engine = database.make_engine(f"sqlite:///{tmp_path / 'scratch.db'}")
        yield engine
        engine.dispose()
        return
    schema = f"scratch_{os.getpid()}"
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"))
    engine = create_engine(database_url, connect_args={"options": f"-csearch_path={schema}"})
    yield engine
    engine.dispose()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def insert(conn, table: str, **values) -> int:
    """Insert one row into a table as that revision has it; return its id."""
    reflected = Table(table, MetaData(), autoload_with=conn)
    return conn.execute(reflected.insert().values(**values)).inserted_primary_key[0]


def veteran(conn, station_id: int, seq: int, born: date, gender: str) -> int:
    return insert(
        conn,
        "veterans",
        file_no=f"513429-107-01-{seq:04d}",
        seq=seq,
        station_id=station_id,
        name=f"老兵{seq}",
        gender=gender,
        ethnicity="彝族",
        id_cipher="cipher",
        id_hash=f"hash-{seq}",
        birth_date=born,
        phone="",
        category="退役士兵",
        hardship=False,
        disability=False,
        source="ledger",
        created_at=NOW,
        updated_at=NOW,
    )


def test_birth_dates_become_birth_years_and_the_date_is_gone(scratch):
    database.upgrade(scratch, "0003")
    with scratch.begin() as conn:
        station = insert(
            conn,
            "stations",
            code="513429-107-01",
            name="好谷村退役军人服务站",
            level="village",
            head="",
            phone="",
            address="",
            hours="",
        )
        first = veteran(conn, station, 1, date(1985, 12, 31), "男")
        veteran(conn, station, 2, date(1992, 1, 1), "女")
        # A file others point at: the migration must keep it and its id.
        insert(
            conn,
            "help_requests",
            openid="o-1",
            veteran_id=first,
            station_id=station,
            category="其他",
            description="求助",
            contact_phone="",
            status="open",
            created_at=NOW,
            updated_at=NOW,
        )

    database.upgrade(scratch)

    with scratch.connect() as conn:
        veterans = Table("veterans", MetaData(), autoload_with=conn)
        rows = conn.execute(
            select(veterans.c.id, veterans.c.birth_year, veterans.c.gender).order_by(veterans.c.id)
        ).all()
        referenced = conn.scalar(text("SELECT veteran_id FROM help_requests"))
        columns = {c["name"]: c for c in inspect(conn).get_columns("veterans")}
    assert [tuple(r)[1:] for r in rows] == [(1985, "男"), (1992, "女")]
    assert referenced == first == rows[0][0]
    assert "birth_date" not in columns
    assert columns["birth_year"]["nullable"] is False
