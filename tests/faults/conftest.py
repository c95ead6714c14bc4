"""The fault suite's servers: a redis-server per test, a private PostgreSQL cluster per run.

Each is the test's own, on a free loopback port, so the test may kill, stop and
restart it; the machine's shared PostgreSQL and Redis are never touched.
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from tests.faults.plant import Plant, reset, seed, settings_for
from tests.fixtures.services import PostgresCluster, RedisServer, Unavailable, postgres_folder

_databases = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster():
    """A private PostgreSQL cluster for the run, or the reason there is none."""
    folder = postgres_folder()
    try:
        cluster = PostgresCluster(folder)
        cluster.start()
    except Unavailable as exc:
        yield str(exc)
        return
    try:
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own, without persistence."""
    try:
        server = RedisServer(tmp_path)
    except Unavailable as exc:
        pytest.skip(str(exc))
    server.start()
    yield server
    server.stop()


def _database(pg_cluster, tmp_path) -> str:
    """A fresh database in the private cluster, or a SQLite file when there is no cluster."""
    if isinstance(pg_cluster, str):
        return f"sqlite:///{tmp_path / 'bot.db'}"
    name = f"faults_{next(_databases)}"
    with psycopg.connect(pg_cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_cluster.url(name)


@pytest.fixture
def database_on_postgres(pg_cluster, tmp_path) -> str:
    """A database on the private cluster; the test is skipped only when none can be made."""
    if isinstance(pg_cluster, str):
        pytest.skip(f"no private PostgreSQL cluster: {pg_cluster}")
    return _database(pg_cluster, tmp_path)


@pytest.fixture
def any_database(pg_cluster, tmp_path) -> str:
    """The private cluster's database when there is one, else a SQLite file."""
    return _database(pg_cluster, tmp_path)


@pytest.fixture
def make_plant(tmp_path, platform, emulator_url, redis_server, make_story):
    """Build the bot over a database, seeded with staff, veterans, county tags and due stories."""
    made = []

    def make(database_url: str) -> Plant:
        settings = settings_for(tmp_path, database_url, redis_server.url(), emulator_url)
        reset(platform)
        plant = Plant(settings, platform)
        made.append(plant)
        plant.migrate()
        with plant.app.app_context():
            seed(plant)
        # Stories name a station of the seeded directory: publishing checks it.
        for slug, code in (("jiudu", "513429104"), ("sikai", "513429105")):
            make_story(slug, title=f"{slug} 服务站的故事", publish_at=_hour_ago(), station=code)
        return plant

    yield make
    for plant in made:
        plant.close()
        reset(platform)


def _hour_ago():
    from tests.fixtures.publishing import ago

    return ago(hours=1)
