"""The webhook served by gunicorn under bot.gunicorn_conf, as the Procfile and `run` serve it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from bot.config import SANDBOX_CREDENTIALS
from bot.wechat.transport import sign
from tests.conftest import DATA_KEY, SECRET_KEY
from tests.e2e.test_run import free_port

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

_OUTSIDE = ("WECHAT_", "DATABASE_", "REDIS_")


@pytest.fixture
def gunicorn(tmp_path, redis_url):
    """gunicorn serving the app on loopback under the shipped config; yields (url, log)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
    env.update(
        INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        DATA_KEY=DATA_KEY,
        LOG_LEVEL="INFO",
    )
    log = tmp_path / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "-c", "python:bot.gunicorn_conf"]
    command += ["bot.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"]
    command += ["--no-control-socket", "--access-logfile", "-"]
    with log.open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_listening(proc, port)
        yield base, port, log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _wait_listening(proc: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "gunicorn exited early"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError("gunicorn did not listen within 30 s")


def _signed_query(openid: str) -> str:
    ts, nonce = str(int(time.time())), "lognonce"
    token = SANDBOX_CREDENTIALS["WECHAT_TOKEN"]
    return f"signature={sign(token, ts, nonce)}&timestamp={ts}&nonce={nonce}&openid={openid}"


def test_a_timed_out_request_leaves_no_signed_url_in_the_logs(gunicorn):
    base, port, log = gunicorn
    # A body that never finishes arriving: its read times out (bot.gunicorn_conf's
    # BODY_READ_SECONDS), and gunicorn logs the request's URL with its 400.
    with socket.create_connection(("127.0.0.1", port)) as slow:
        request = f"POST /wechat?{_signed_query('o-secret')} HTTP/1.1\r\nHost: bot\r\n"
        slow.sendall((request + "Content-Length: 500\r\n\r\n<xml>").encode())
        deadline = time.monotonic() + 20
        while '" 400 ' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
    answered = requests.post(f"{base}/wechat?{_signed_query('o-secret')}", data=b"<x>", timeout=10)
    assert answered.status_code == 400
    time.sleep(0.5)
    text = log.read_text()
    assert text.count('"POST /wechat') == 2
    assert "signature=" not in text and "o-secret" not in text


def test_a_chunked_body_over_64_kib_is_refused_with_413(gunicorn):
    base, _port, _log = gunicorn
    body = b"<xml><Content>" + b"a" * (65 * 1024) + b"</Content></xml>"
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))  # sent chunked
    answer = requests.post(f"{base}/wechat?{_signed_query('o-big')}", data=chunks, timeout=10)
    assert answer.status_code == 413


def test_a_chunked_message_under_the_limit_is_answered(gunicorn):
    base, _port, _log = gunicorn
    xml = (
        "<xml><ToUserName>gh</ToUserName><FromUserName>o-chunk</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
        "<Event>unsubscribe</Event></xml>"
    ).encode()
    answer = requests.post(
        f"{base}/wechat?{_signed_query('o-chunk')}", data=iter([xml]), timeout=10
    )
    assert answer.status_code == 200
