"""The shipped nginx site in front of a real gunicorn, on loopback, over TLS.

nginx is Debian's package; where it is missing the test installs it, and where
that fails the module is skipped with one line saying so. The site is rendered
by `veteranbot deploy nginx-config` from the settings the bot runs with, on
test ports and paths; nginx runs as a foreground process with a self-signed
certificate, its workers as www-data when the suite runs as root (as on a
Debian server), so the column's files must be readable by another user.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.config import SANDBOX_CREDENTIALS
from tests.conftest import AES_KEY, DATA_KEY, SECRET_KEY
from tests.e2e.test_gunicorn import _OUTSIDE, _signed_query, _wait_listening
from tests.e2e.test_run import free_port
from tests.fixtures.driver import WeChatDriver
from tests.fixtures.http_client import HttpClient
from tests.fixtures.stories import copy_shipped_content

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
TOKEN = SANDBOX_CREDENTIALS["WECHAT_TOKEN"]
APP_ID = SANDBOX_CREDENTIALS["WECHAT_APP_ID"]
# What a signed query holds; none of it may reach a log.
SECRETS_IN_QUERIES = ("signature=", "timestamp=", "nonce=", "openid=", "echostr=", "o-follower")
TEXT = (
    "<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName>"
    "<CreateTime>{now}</CreateTime><MsgType>text</MsgType><Content>菜单</Content>"
    "<MsgId>{msg_id}</MsgId></xml>"
)


@pytest.fixture(scope="module")
def nginx_binary() -> str:
    """Debian's nginx, installed when missing; the module is skipped when it cannot be."""
    found = _find_nginx()
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(
            ["apt-get", "install", "-y", "--no-install-recommends", "nginx"],
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            capture_output=True,
            timeout=600,
            check=False,
        )
        found = _find_nginx()
    if found is None:
        pytest.skip("nginx tests skipped: no nginx, and `apt-get install nginx` did not install it")
    return found


def _find_nginx() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
    )


@dataclass
class Stack:
    """nginx on https_port in front of gunicorn; the files a test reads afterwards."""

    base: Path
    https_port: int
    http_port: int
    certificate: Path
    env: dict
    gunicorn_log: Path
    gunicorn_access: Path
    nginx_access: Path
    nginx_error: Path

    @property
    def url(self) -> str:
        return f"https://localhost:{self.https_port}"

    def client(self) -> HttpClient:
        return HttpClient(self.url, verify=str(self.certificate))

    def logs(self) -> str:
        """Every log line nginx wrote."""
        return "".join(p.read_text() for p in self.base.glob("nginx/*.log"))


@contextlib.contextmanager
def serve_stack(nginx: str, redis_url: str, trusted_proxies: int = 1, gunicorn: bool = True):
    """Migrate, build the site, start gunicorn as the web unit does and nginx in front of it."""
    # nginx's workers (www-data) must reach the site: a folder others may enter,
    # not pytest's tmp_path (0700).
    base = Path(tempfile.mkdtemp(prefix="veteranbot-nginx-"))
    base.chmod(0o755)
    try:
        yield from _serve(base, nginx, redis_url, trusted_proxies, gunicorn)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _serve(base: Path, nginx: str, redis_url: str, trusted_proxies: int, gunicorn: bool):
    https_port, http_port, app_port = free_port(), free_port(), free_port()
    public = f"https://localhost:{https_port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OUTSIDE)}
    env.update(
        INSTANCE_DIR=str(base / "instance"),
        DATABASE_URL=f"sqlite:///{base / 'instance' / 'bot.db'}",
        REDIS_URL=redis_url,
        SECRET_KEY=SECRET_KEY,
        DATA_KEY=DATA_KEY,
        WECHAT_ENCODING_AES_KEY=AES_KEY,
        LOG_LEVEL="INFO",
        PORT=str(app_port),
        PUBLIC_URL=public,
        SITE_URL=f"{public}/column",
        SITE_DIR=str(base / "site"),
        CONTENT_DIR=str(copy_shipped_content(base / "content")),
        TRUSTED_PROXIES=str(trusted_proxies),
    )
    if gunicorn:
        _run([BIN / "veteranbot", "db", "upgrade"], env)  # the web unit's ExecStartPre
        _run([BIN / "veteranbot", "site", "build"], env)  # what the worker does at publish time
    conf = base / "nginx"
    (conf / "tmp").mkdir(parents=True)
    cert, key = _self_signed(conf)
    placement = ["--cert", cert, "--key", key, "--webroot", base / "www", "--log-dir", conf]
    placement += ["--http-port", str(http_port), "--listen", "127.0.0.1"]
    _run([BIN / "veteranbot", "deploy", "nginx-config", *placement, "-o", conf / "site.conf"], env)
    (conf / "nginx.conf").write_text(_main_conf(conf))
    stack = Stack(
        base,
        https_port,
        http_port,
        cert,
        env,
        base / "gunicorn.log",
        base / "gunicorn-access.log",
        conf / "veteranbot.access.log",
        conf / "veteranbot.error.log",
    )
    with contextlib.ExitStack() as running:
        if gunicorn:
            running.enter_context(_gunicorn(stack, app_port))
        running.enter_context(_nginx(nginx, conf, https_port))
        yield stack


def _run(command: list, env: dict) -> None:
    done = subprocess.run([str(c) for c in command], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for localhost and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _main_conf(conf: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf gives the site, with this test's paths."""
    user = "user www-data;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {conf / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {conf / "nginx.pid"};
error_log {conf / "main-error.log"} info;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
{temp}
    include {conf / "site.conf"};
}}
"""


@contextlib.contextmanager
def _gunicorn(stack: Stack, port: int):
    """gunicorn as the web unit runs it (one worker here), with an access log to check."""
    command = [BIN / "gunicorn", "-c", "python:bot.gunicorn_conf", "bot.wsgi:app"]
    command += ["--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "30"]
    command += ["--graceful-timeout", "1", "--no-control-socket"]
    command += ["--access-logfile", stack.gunicorn_access]
    with stack.gunicorn_log.open("w") as out:
        proc = subprocess.Popen(
            [str(c) for c in command], env=stack.env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(proc, port)
        # gunicorn listens before its worker has loaded the app; a first call would wait
        # that out inside nginx's 5 s for /wechat.
        assert requests.get(f"http://127.0.0.1:{port}/healthz", timeout=60).status_code == 200
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@contextlib.contextmanager
def _nginx(nginx: str, conf: Path, port: int):
    command = [nginx, "-p", str(conf), "-c", str(conf / "nginx.conf"), "-g", "daemon off;"]
    with (conf / "stderr.txt").open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert proc.poll() is None, (conf / "stderr.txt").read_text()
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        else:
            raise AssertionError("nginx did not listen within 15 s")
        yield proc
    finally:
        proc.terminate()  # SIGTERM: nginx's fast shutdown
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def stack(nginx_binary, redis_url):
    """nginx in front of gunicorn with TRUSTED_PROXIES=1, as deploy/ sets a server up."""
    with serve_stack(nginx_binary, redis_url, trusted_proxies=1) as served:
        yield served


def _driver(stack: Stack) -> WeChatDriver:
    return WeChatDriver(stack.client(), TOKEN, APP_ID, aes_key=AES_KEY)


def _tls(stack: Stack, source: str = "127.0.0.1") -> ssl.SSLSocket:
    """A TLS connection to nginx from the given loopback address."""
    raw = socket.socket()
    raw.bind((source, 0))
    raw.connect(("127.0.0.1", stack.https_port))
    context = ssl.create_default_context(cafile=str(stack.certificate))
    return context.wrap_socket(raw, server_hostname="localhost")


def _answer(sock: ssl.SSLSocket, within: float) -> bytes:
    """Everything the server sends until it closes (or the timeout)."""
    sock.settimeout(within)
    data = b""
    with contextlib.suppress(TimeoutError, ssl.SSLError, OSError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def _gunicorn_saw(stack: Stack, path: str) -> int:
    time.sleep(0.3)  # gunicorn writes its access line after the answer
    text = stack.gunicorn_access.read_text() if stack.gunicorn_access.exists() else ""
    return sum(f" {path}" in line for line in text.splitlines())


def test_a_signed_message_goes_through_nginx_over_https_in_safe_mode(stack):
    wechat = _driver(stack)
    assert "登记" in wechat.send_text("o-follower-1", "菜单")
    # WeChat's server check (GET with echostr) passes through too.
    echo = stack.client().get("/wechat", query_string={**wechat.query(), "echostr": "e-123"})
    assert echo.status_code == 200 and echo.get_data(as_text=True) == "e-123"
    # Plain HTTP only redirects: WeChat must be given the https:// URL.
    plain = requests.get(
        f"http://127.0.0.1:{stack.http_port}/wechat", allow_redirects=False, timeout=5
    )
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://127.0.0.1:{stack.https_port}/wechat"


def test_slow_clients_wait_in_nginx_and_delay_no_one(stack):
    # More trickling bodies than gunicorn has threads (1 worker x 8): read by
    # gunicorn, they would hold every thread and the quick follower would wait.
    now, msg_id = int(time.time()), int(time.time() * 1000)
    bodies = [
        TEXT.format(openid=f"o-slow-{i}", now=now, msg_id=msg_id + i).encode() for i in range(12)
    ]
    slow = []
    for i, body in enumerate(bodies):
        sock = _tls(stack)
        head = f"POST /wechat?{_signed_query(f'o-slow-{i}')} HTTP/1.1\r\nHost: localhost\r\n"
        head += f"Content-Type: text/xml\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body[:5])
        slow.append(sock)
    try:
        for sent in range(5, 8):  # a byte now and then keeps each one alive
            time.sleep(0.4)
            for sock, body in zip(slow, bodies, strict=True):
                sock.sendall(body[sent : sent + 1])
        started = time.monotonic()
        assert "登记" in _driver(stack).send_text("o-quick", "菜单")
        assert time.monotonic() - started < 1.0
        assert _gunicorn_saw(stack, "/wechat") >= 1
        # gunicorn has seen none of the slow ones; the first to finish is answered whole.
        before = _gunicorn_saw(stack, "/wechat")
        slow[0].sendall(bodies[0][8:])
        reply = _answer(slow[0], within=5).decode()
        assert reply.startswith("HTTP/1.1 200") and "登记" in reply
        assert _gunicorn_saw(stack, "/wechat") == before + 1
    finally:
        for sock in slow:
            sock.close()


def test_the_column_is_served_by_nginx_alone_with_caching_headers(stack):
    client = stack.client()
    index = client.get("/column/")
    assert index.status_code == 200 and "风采录" in index.get_data(as_text=True)
    assert index.headers["Cache-Control"] == "no-cache"
    # Pictures are named by their content's hash: a browser keeps them.
    picture = next(p for p in (stack.base / "site").rglob("*-*-*.jpg"))
    relative = picture.relative_to(stack.base / "site").as_posix()
    image = client.get(f"/column/{relative}")
    assert image.status_code == 200 and image.data == picture.read_bytes()
    assert image.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    story = relative.split("/")[0]
    folder = requests.get(
        f"{stack.url}/column/{story}", verify=str(stack.certificate), allow_redirects=False
    )
    assert folder.status_code == 301 and folder.headers["Location"] == f"/column/{story}/"
    assert client.get("/column/.site-manifest.json").status_code == 404
    (stack.base / "site" / "half.html.tmp").write_text("<p>")
    assert client.get("/column/half.html.tmp").status_code == 404
    # The rest of the app still reaches gunicorn.
    assert client.get("/healthz").status_code == 200
    assert _gunicorn_saw(stack, "/healthz") >= 1
    assert _gunicorn_saw(stack, "/column") == 0


def test_no_signed_query_reaches_nginx_logs(stack):
    client, wechat = stack.client(), _driver(stack)
    wechat.send_text("o-follower-2", "菜单")
    refused = client.post("/wechat", query_string={**wechat.query(), "signature": "0" * 40})
    assert refused.status_code == 403
    too_big = client.post("/wechat", query_string=wechat.query(), data=b"x" * (65 * 1024))
    assert too_big.status_code == 413  # refused by nginx itself, before gunicorn
    signed = {"signature": "forged.token", "openid": "o-follower-3"}
    client.get("/notice", query_string=signed)
    client.get("/recordings/R1", query_string=signed)
    client.get("/column/", headers={"Referer": f"{stack.url}/notice?signature=leaked"})
    time.sleep(0.3)
    logs = stack.logs()
    assert "POST /wechat?[query dropped] HTTP/1.1" in logs
    assert "GET /notice?[query dropped]" in logs
    assert not [s for s in SECRETS_IN_QUERIES if s in logs], logs[-2000:]


def test_with_gunicorn_down_the_webhook_gets_502_and_no_log_line_holds_its_query(
    nginx_binary, redis_url
):
    with serve_stack(nginx_binary, redis_url, gunicorn=False) as down:
        answer = down.client().post("/wechat", query_string=_driver(down).query(), data=b"<xml/>")
        assert answer.status_code == 502
        time.sleep(0.3)
        logs = down.logs()
        assert 'POST /wechat?[query dropped] HTTP/1.1" 502' in logs
        # nginx's error line for the refused connection would quote the query.
        assert not [s for s in SECRETS_IN_QUERIES if s in logs], logs[-2000:]


def _address_the_app_logged(stack: Stack) -> str:
    """Post a forged call from 127.0.0.2 with a forged X-Forwarded-For; the address logged."""
    sock = _tls(stack, source="127.0.0.2")
    head = f"POST /wechat?{_signed_query('o-x')[:-3]}bad HTTP/1.1\r\nHost: localhost\r\n"
    head = head.replace("signature=", "signature=0")
    head += "X-Forwarded-For: 203.0.113.66\r\nX-Real-IP: 203.0.113.66\r\n"
    head += "Content-Length: 6\r\nConnection: close\r\n\r\n<xml/>"
    sock.sendall(head.encode())
    assert _answer(sock, within=5).startswith(b"HTTP/1.1 403")
    sock.close()
    time.sleep(0.3)
    found = re.findall(r"refused webhook call from (\S+):", stack.gunicorn_log.read_text())
    assert found, stack.gunicorn_log.read_text()
    return found[-1]


def test_the_app_sees_the_client_address_with_trusted_proxies(stack):
    assert _address_the_app_logged(stack) == "127.0.0.2"


def test_without_trusted_proxies_the_app_sees_nginx(nginx_binary, redis_url):
    with serve_stack(nginx_binary, redis_url, trusted_proxies=0) as untrusting:
        assert _address_the_app_logged(untrusting) == "127.0.0.1"
