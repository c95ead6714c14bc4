"""Followers filing 求助 over loopback while Redis, PostgreSQL and the worker fail on a schedule.

The bot runs on servers of its own (tests/faults/plant.py): a redis-server, a
private PostgreSQL cluster when initdb is at hand (else SQLite, and the
PostgreSQL faults are left out), the emulator as WeChat, the webhook served
over HTTP on loopback, and a real Celery worker process. Simulated followers
send signed webhook calls (求助 → category → description) for --seconds, while
the schedule kills Redis (restarted empty), stops PostgreSQL (started again)
and SIGKILLs the worker mid-send (a fresh one started). Then beat's jobs run
until every notice is settled, and the ledger is printed:

    .venv/bin/python bench/faults.py [--seconds 60] [--followers 8]

Target (issue 8): 0 lost, 0 duplicated, every webhook answer under 4 s.
Exits non-zero only when the harness itself fails.
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

import requests
import xmltodict

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # bench/ is no package: this runs as a script

from bot import clock, db  # noqa: E402
from bot.sandbox.emulator import create_emulator  # noqa: E402
from bot.sandbox.platform import PlatformState  # noqa: E402
from bot.sandbox.server import serve_in_thread  # noqa: E402
from bot.wechat import outbox  # noqa: E402
from bot.wechat.client import client  # noqa: E402
from tests.conftest import APP_ID, APP_SECRET, TOKEN  # noqa: E402
from tests.faults.plant import BUSY, TEMPLATE_SEND, Plant, seed, settings_for  # noqa: E402
from tests.fixtures.driver import WeChatDriver  # noqa: E402
from tests.fixtures.services import (  # noqa: E402
    PostgresCluster,
    RedisServer,
    Unavailable,
    postgres_folder,
)
from tests.fixtures.templates import account_templates  # noqa: E402

HELP = ("求助", "1", "家里房子漏雨，想申请帮扶")
# Each fault: (second after the load starts, what, how long it lasts).
SCHEDULE = (
    (8, "redis", 4),
    (24, "postgres", 4),
    (40, "worker", 3),
)
SETTLE_SECONDS = 90


class Followers:
    """Threads of followers walking through 求助 over HTTP; every answer's time is kept."""

    def __init__(self, port: int, openids: list[str], threads: int):
        self.url = f"http://127.0.0.1:{port}/wechat"
        self.openids = openids
        self.threads = threads
        self.driver = WeChatDriver(None, TOKEN, APP_ID)
        self.answers: list[tuple[float, int, bool]] = []  # seconds, status, busy
        self.filed = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> list[threading.Thread]:
        workers = [threading.Thread(target=self._follower, args=(n,)) for n in range(self.threads)]
        for worker in workers:
            worker.start()
        return workers

    def _follower(self, n: int) -> None:
        mine = self.openids[n :: self.threads]
        session = requests.Session()
        while not self.stop.is_set():
            openid = random.choice(mine)
            for step in HELP:
                reply = self._send(session, openid, step)
                if reply is None or BUSY in reply:
                    time.sleep(0.5)  # the follower tries again a moment later
                    break
                if "求助编号" in reply:
                    with self.lock:
                        self.filed += 1

    def _send(self, session: requests.Session, openid: str, text: str) -> str | None:
        xml = self.driver.xml(openid, "text", Content=text)
        started = time.monotonic()
        try:
            answer = session.post(
                self.url, params=self.driver.query(xml), data=xml.encode(), timeout=10
            )
        except requests.RequestException:
            self._note(time.monotonic() - started, 0, True)
            return None
        took = time.monotonic() - started
        reply = None
        if answer.status_code == 200 and answer.text not in ("", "success"):
            reply = xmltodict.parse(answer.text)["xml"].get("Content")
        self._note(took, answer.status_code, reply is None or BUSY in reply)
        return reply

    def _note(self, seconds: float, status: int, busy: bool) -> None:
        with self.lock:
            self.answers.append((seconds, status, busy))


def inject(name: str, lasting: float, plant: Plant, servers: dict, platform, log) -> None:
    """Break one part, wait, bring it back."""
    if name == "redis":
        servers["redis"].kill()
        log(f"Redis killed (nothing saved: queued tasks lost) for {lasting} s")
        time.sleep(lasting)
        servers["redis"].start()
    elif name == "postgres":
        servers["postgres"].stop()
        log(f"PostgreSQL stopped for {lasting} s")
        time.sleep(lasting)
        servers["postgres"].start()
    elif name == "worker":
        platform.slow_answers[TEMPLATE_SEND] = 1.0  # WeChat acts, then answers late
        time.sleep(1.5)
        plant.kill_worker()
        log(f"worker SIGKILLed mid-send; a new one in {lasting} s")
        platform.slow_answers.clear()
        time.sleep(lasting)
        plant.start_worker()
    log(f"{name} back")


def sweep_until_settled(plant: Plant, seconds: float) -> None:
    """Beat's outbox sweep, run as two minutes from now: rows a killed sender left are due."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with plant.app.app_context():
            try:
                later = clock.utcnow() + outbox.STUCK + timedelta(seconds=1)
                outbox.deliver(db.session(), client(), now=later)
            except Exception:  # the database or Redis not back yet: the next minute's sweep
                db.session().rollback()
        if set(plant.outbox_states()) <= {"sent", "failed"}:
            return
        time.sleep(2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="how long the load runs")
    parser.add_argument("--followers", type=int, default=8, help="followers sending at once")
    args = parser.parse_args()
    began = time.monotonic()
    # The bot logs every busy answer and lost lock; the ledger below is the point here.
    for name in ("bot", "werkzeug", "publisher"):
        logging.getLogger(name).setLevel(logging.CRITICAL)

    def log(line: str) -> None:
        print(f"[{time.monotonic() - began:6.1f} s] {line}", flush=True)

    folder = Path(tempfile.mkdtemp(prefix="vb-faults-bench-"))
    servers: dict = {"redis": RedisServer(folder)}
    servers["redis"].start()
    try:
        servers["postgres"] = PostgresCluster(postgres_folder())
        servers["postgres"].start()
        database = servers["postgres"].url()
    except Unavailable as exc:
        log(f"no private PostgreSQL ({exc}); SQLite instead, PostgreSQL faults left out")
        servers.pop("postgres", None)
        database = f"sqlite:///{folder / 'bot.db'}"
    platform = PlatformState(appid=APP_ID, secret=APP_SECRET, templates=account_templates())
    emulator = serve_in_thread(create_emulator(platform))
    settings = settings_for(
        folder, database, servers["redis"].url(), f"http://127.0.0.1:{emulator.server_port}"
    )
    plant = Plant(settings, platform)
    try:
        plant.migrate()
        with plant.app.app_context():
            seed(plant, per_village=args.followers * 2)
        webhook = serve_in_thread(plant.app)
        plant.start_worker()
        log(f"bot up on {database.split('://')[0]}; {len(plant.veterans)} followers")

        followers = Followers(webhook.server_port, plant.veterans, args.followers)
        threads = followers.run()
        started = time.monotonic()
        for at, name, lasting in SCHEDULE:
            if at > args.seconds or (name == "postgres" and "postgres" not in servers):
                continue
            time.sleep(max(0.0, started + at - time.monotonic()))
            inject(name, lasting, plant, servers, platform, log)
        time.sleep(max(0.0, started + args.seconds - time.monotonic()))
        followers.stop.set()
        for thread in threads:
            thread.join(30)
        log("load stopped; beat's sweep until every notice is settled")
        sweep_until_settled(plant, SETTLE_SECONDS)
        report(plant, followers)
    finally:
        plant.close()
        servers["redis"].stop()
        if "postgres" in servers:
            servers["postgres"].remove()
        emulator.shutdown()
    return 0


def report(plant: Plant, followers: Followers) -> None:
    due, received = plant.notices_due(), plant.notices_received()
    answers = followers.answers
    slowest = max(seconds for seconds, _, _ in answers)
    statuses = sorted({status for _, status, _ in answers})
    print()
    print(f"webhook calls          {len(answers)}  (status {statuses})")
    print(f"answered busy          {sum(busy for _, _, busy in answers)}")
    print(f"slowest answer         {slowest:.2f} s")
    print(f"requests filed         {len(_numbers(due))}")
    print(f"  confirmed to the follower {followers.filed}")
    print(f"notices due            {sum(due.values())}")
    print(f"notices delivered      {sum(min(n, 1) for n in received.values())}")
    print(f"lost                   {sum(1 for key in due if key not in received)}")
    print(f"duplicated             {sum(n - 1 for n in received.values() if n > 1)}")
    print(f"delivered to no one due {sum(1 for key in received if key not in due)}")
    print(f"outbox rows by state   {dict(plant.outbox_states())}")
    print(f"template sends tried   {plant.platform.calls.count(TEMPLATE_SEND)}")


def _numbers(due) -> set[str]:
    return {number for _, number in due}


if __name__ == "__main__":
    sys.exit(main())
