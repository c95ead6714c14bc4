"""Slow clients against gunicorn under the shipped bot.gunicorn_conf (as the Procfile runs it).

A client that sends its headers and then trickles or stalls its body must
not delay anyone else's answer, and must never be answered 500: it gets 400
once a packet is BODY_READ_SECONDS late, or its connection is closed.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import pytest
import requests

from bot.gunicorn_conf import BODY_READ_SECONDS
from tests.conftest import DATA_KEY, SECRET_KEY
from tests.e2e.test_gunicorn import _OUTSIDE, _signed_query, _wait_listening
from tests.e2e.test_run import free_port

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

TEXT = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
    "<CreateTime>{now}</CreateTime><MsgType>text</MsgType><Content>菜单</Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)


@pytest.fixture
def shipped_gunicorn(tmp_path, redis_url):
    """gunicorn with only what the Procfile adds to bot.gunicorn_conf; yields its port."""
    with serve(tmp_path, redis_url) as port:
        yield port


@contextlib.contextmanager
def serve(tmp_path, redis_url: str):
    """Run gunicorn as the Procfile does (2 workers, the shipped config); yield its port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
    env.update(
        INSTANCE_DIR=str(tmp_path / "instance"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}",
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        DATA_KEY=DATA_KEY,
    )
    command = [sys.executable, "-m", "gunicorn", "-c", "python:bot.gunicorn_conf"]
    command += ["bot.wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    command += ["--timeout", "30", "--no-control-socket"]
    command += ["--graceful-timeout", "1"]
    with (tmp_path / "gunicorn.log").open("w") as out:
        proc = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_listening(proc, port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _slow_client(port: int, openid: str) -> socket.socket:
    """A connection that sent its headers and 5 of the 400 bytes it announced."""
    sock = socket.create_connection(("127.0.0.1", port))
    head = f"POST /wechat?{_signed_query(openid)} HTTP/1.1\r\nHost: bot\r\n"
    sock.sendall((head + "Content-Type: text/xml\r\nContent-Length: 400\r\n\r\n<xml>").encode())
    return sock


def _status_line(sock: socket.socket, within: float) -> bytes:
    """The answer's status line, or b"" when the server closed the connection without one."""
    sock.settimeout(within)
    data = b""
    while b"\r\n" not in data and (chunk := sock.recv(4096)):
        data += chunk
    return data.split(b"\r\n", 1)[0]


def _quick_text(port: int, openid: str) -> requests.Response:
    now, msg_id = int(time.time()), time.time_ns()
    xml = TEXT.format(openid=openid, now=now, msg_id=msg_id).encode()
    return requests.post(
        f"http://127.0.0.1:{port}/wechat?{_signed_query(openid)}", data=xml, timeout=10
    )


def test_slow_bodies_delay_no_one_else_and_are_never_answered_500(shipped_gunicorn):
    port = shipped_gunicorn
    # Each worker's first request opens its connections and loads its templates: that
    # start-up cost is not what this test measures, so every worker has served one.
    for i in range(4):
        assert _quick_text(port, f"o-warm-{i}").status_code == 200
    slow = [_slow_client(port, f"o-slow-{i}") for i in range(3)]
    try:
        for _ in range(2):  # trickling: a byte now and then keeps each one going
            time.sleep(0.3)
            for sock in slow:
                sock.sendall(b" ")
        started = time.monotonic()
        answer = _quick_text(port, "o-quick")
        assert time.monotonic() - started < 1.0
        assert answer.status_code == 200 and "登记" in answer.text
        # Then they stall: each is refused (400) or closed, never 500.
        for sock in slow:
            status = _status_line(sock, BODY_READ_SECONDS + 3)
            assert status in (b"", b"HTTP/1.1 400 BAD REQUEST", b"HTTP/1.1 400 Bad Request")
    finally:
        for sock in slow:
            sock.close()
