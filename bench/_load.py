"""The load generator: wrk with a Lua script when installed, else a threaded Python client.

Every request is a signed POST (the signature covers token, timestamp and nonce
in the query, as WeChat's does) whose XML body carries a MsgId never sent
before, so the webhook's deduplication never answers from its cache.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import secrets
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bot.wechat.transport import sign

# Distinct signed query strings cycled through, as WeChat signs each call anew.
SIGNED_PATHS = 256
# MsgIds: each run takes a block, each wrk thread a sub-block within it.
RUN_BLOCK = 10**10
THREAD_BLOCK = 10**9


@dataclass(frozen=True)
class Load:
    """What to send to one target and what its every reply must (not) contain."""

    port: int
    token: str
    openid: str
    text: str
    expect: str
    forbid: str = ""


@dataclass(frozen=True)
class Result:
    """One measured run against one target."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        """Requests per second over the run."""
        return self.requests / self.seconds


def signed_path(token: str) -> str:
    """A /wechat path with a fresh timestamp, nonce and their signature."""
    ts, nonce = str(int(time.time())), secrets.token_hex(5)
    return f"/wechat?timestamp={ts}&nonce={nonce}&signature={sign(token, ts, nonce)}&openid=x"


def body_parts(load: Load) -> tuple[str, str]:
    """The XML body split around the MsgId, which is filled in per request."""
    head = (
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName>"
        f"<FromUserName><![CDATA[{load.openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        "<MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{load.text}]]></Content><MsgId>"
    )
    return head, "</MsgId></xml>"


class Generator:
    """Runs bounded loads, handing every run a block of MsgIds unused so far."""

    def __init__(self, workdir: Path, connections: int):
        self.workdir = workdir
        self.connections = connections
        self.wrk = shutil.which("wrk")
        # Microseconds since the epoch: above any MsgId an earlier bench run used.
        self._blocks = itertools.count(time.time_ns() // 1000, RUN_BLOCK)

    @property
    def name(self) -> str:
        """Which generator is in use, for the report."""
        return "wrk" if self.wrk else "python threads (install wrk for a lighter client)"

    def run(self, load: Load, seconds: float) -> Result:
        """Drive `load` with all connections for `seconds`; return what was measured."""
        base = next(self._blocks)
        if self.wrk:
            return self._run_wrk(load, seconds, base)
        return _run_threads(load, seconds, base, self.connections)

    def _run_wrk(self, load: Load, seconds: float, base: int) -> Result:
        script = self.workdir / f"load-{load.port}.lua"
        script.write_text(_lua_script(load, base), encoding="utf-8")
        threads = min(self.connections, os.cpu_count() or 1)
        cmd = [self.wrk, f"-t{threads}", f"-c{self.connections}", f"-d{max(1, round(seconds))}s"]
        cmd += ["--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{load.port}"]
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 30)
        match = re.search(r"^BENCH (.*)$", out.stdout, re.MULTILINE)
        if out.returncode != 0 or not match:
            raise RuntimeError(f"wrk failed ({out.returncode}): {out.stdout}{out.stderr}")
        f = {k: int(v) for k, v in (kv.split("=") for kv in match.group(1).split())}
        return Result(
            requests=f["requests"],
            seconds=f["duration_us"] / 1e6,
            p50_ms=f["p50_us"] / 1000,
            p99_ms=f["p99_us"] / 1000,
            errors=f["socket_errors"] + f["bad_status"] + f["bad_body"],
        )


def _lua_script(load: Load, base: int) -> str:
    """wrk's script: varying signed paths, a fresh MsgId per request, reply checks."""
    head, tail = body_parts(load)
    paths = ",\n".join(f"  {_lua_str(signed_path(load.token))}" for _ in range(SIGNED_PATHS))
    return LUA_TEMPLATE.format(
        paths=paths,
        head=_lua_str(head),
        tail=_lua_str(tail),
        expect=_lua_str(load.expect),
        forbid=_lua_str(load.forbid),
        base=base,
        thread_block=THREAD_BLOCK,
    )


def _lua_str(value: str) -> str:
    """A Lua long-bracket string literal (no escaping needed for XML or Chinese)."""
    return f"[==[{value}]==]"


LUA_TEMPLATE = """
local paths = {{
{paths}
}}
local head, tail = {head}, {tail}
local expect, forbid = {expect}, {forbid}
local headers = {{["Content-Type"] = "text/xml"}}
local threads = {{}}
bad_status, bad_body, counter = 0, 0, 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = {base} + tid * {thread_block}
end

function request()
  counter = counter + 1
  local path = paths[(counter % #paths) + 1]
  return wrk.format("POST", path, headers, head .. string.format("%.0f", counter) .. tail)
end

function response(status, hdrs, body)
  if status ~= 200 then
    bad_status = bad_status + 1
  elseif not body:find(expect, 1, true) or (forbid ~= "" and body:find(forbid, 1, true)) then
    bad_body = bad_body + 1
  end
end

function done(summary, latency, requests)
  local bs, bb = 0, 0
  for _, t in ipairs(threads) do
    bs = bs + t:get("bad_status")
    bb = bb + t:get("bad_body")
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d "
      .. "socket_errors=%d bad_status=%d bad_body=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, bs, bb))
end
"""


def _run_threads(load: Load, seconds: float, base: int, connections: int) -> Result:
    """The fallback generator: one keep-alive HTTP connection per thread."""
    head, tail = body_parts(load)
    paths = [signed_path(load.token) for _ in range(SIGNED_PATHS)]
    msg_ids = itertools.count(base)  # next() on a count is atomic under the GIL
    outcomes: list[tuple[list[float], int]] = []
    started = time.monotonic()
    deadline = started + seconds

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", load.port, timeout=5)
        latencies, errors = [], 0
        while time.monotonic() < deadline:
            msg_id = next(msg_ids)
            body = f"{head}{msg_id}{tail}".encode()
            t0 = time.perf_counter()
            try:
                conn.request("POST", paths[msg_id % len(paths)], body, {"Content-Type": "text/xml"})
                resp = conn.getresponse()
                text = resp.read().decode()
            except (OSError, http.client.HTTPException):
                errors += 1
                conn.close()  # the next request opens a new connection
                continue
            latencies.append(time.perf_counter() - t0)
            if (
                resp.status != 200
                or load.expect not in text
                or (load.forbid and load.forbid in text)
            ):
                errors += 1
        conn.close()
        outcomes.append((latencies, errors))

    workers = [threading.Thread(target=client) for _ in range(connections)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.monotonic() - started
    latencies = sorted(t for mine, _ in outcomes for t in mine)
    errors = sum(e for _, e in outcomes)
    if not latencies:
        raise RuntimeError(f"no request to port {load.port} got an answer")
    return Result(
        requests=len(latencies),  # answered requests, as wrk counts them
        seconds=elapsed,
        p50_ms=_quantile(latencies, 0.50) * 1000,
        p99_ms=_quantile(latencies, 0.99) * 1000,
        errors=errors,
    )


def _quantile(ordered: list[float], q: float) -> float:
    """The q-quantile of an already sorted list (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]
