"""The instance folder holds keys, the database and the Redis dump: only its owner reads them."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import store
from bot.commands import main

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():
    """The common default umask (022), under which new files are world-readable."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_db_upgrade_leaves_an_owner_only_instance(tmp_path):
    instance = tmp_path / "instance"
    env = {"INSTANCE_DIR": str(instance), "DATABASE_URL": None, "REDIS_URL": None}

    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)

    assert result.exit_code == 0, result.output
    assert mode(instance) == 0o700
    assert mode(instance / "veteranbot.db") == 0o600
    assert {p.name: mode(p) for p in instance.iterdir() if mode(p) & 0o077} == {}


@pytest.mark.usefixtures("open_umask")
def test_an_older_world_readable_instance_folder_is_closed_by_db_upgrade(tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    env = {"INSTANCE_DIR": str(instance), "DATABASE_URL": None, "REDIS_URL": None}

    result = CliRunner().invoke(main, ["db", "upgrade"], env=env)

    assert result.exit_code == 0, result.output
    assert mode(instance) == 0o700


@pytest.mark.usefixtures("open_umask")
def test_the_embedded_redis_dump_is_owner_only(tmp_path):
    server = store.start_embedded(str(tmp_path))
    try:
        server.set("dialog:o-someone", "encrypted answers")
        server.save()
        assert mode(tmp_path / "redis.rdb") == 0o600
    finally:
        server.shutdown()
        server.connection_pool.disconnect()
    assert mode(tmp_path / "redis.rdb") == 0o600  # and the dump written at shutdown
