"""A Redis that hangs (stopped, not dead): every webhook call still answers within 4 s.

WeChat gives up on an answer after 5 s and retries; a follower whose three
tries all time out sees nothing at all, where "系统繁忙" at least tells them
to try again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.test_gunicorn import _signed_query
from tests.e2e.test_run import free_port
from tests.e2e.test_slow_clients import TEXT, serve

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

BUSY = "系统繁忙，请稍后再试"


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of our own on loopback, so the test may stop it; yields (url, pid)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no redis-server binary")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    command += ["--appendonly", "no", "--dir", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        yield f"redis://127.0.0.1:{port}/0", proc.pid
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
        proc.wait(timeout=10)


def _post(port: int, openid: str, text: str) -> tuple[float, int, str]:
    now = int(time.time())
    xml = TEXT.format(openid=openid, now=now, msg_id=time.time_ns()).replace("菜单", text)
    started = time.monotonic()
    answer = requests.post(
        f"http://127.0.0.1:{port}/wechat?{_signed_query(openid)}", data=xml.encode(), timeout=15
    )
    return time.monotonic() - started, answer.status_code, answer.text


def test_every_call_answers_within_4_s_while_redis_hangs(tmp_path, redis_server):
    url, pid = redis_server
    with serve(tmp_path, url) as port:
        assert "登记" in _post(port, "o-warm", "菜单")[2]
        os.kill(pid, signal.SIGSTOP)
        calls = [(f"o-hung-{i % 6}", ("菜单", "你好", "求助")[i % 3]) for i in range(12)]
        with ThreadPoolExecutor(len(calls)) as pool:
            answers = list(pool.map(lambda call: _post(port, *call), calls))
        os.kill(pid, signal.SIGCONT)
    for seconds, status, text in answers:
        assert status == 200 and BUSY in text
        assert seconds < 4.0
