"""The bot as it runs in production, on servers of its own, with faults to inject and a ledger.

A Plant is one bot: its own redis-server, its database (a private PostgreSQL
cluster's database, or a SQLite file), the emulator as WeChat, the webhook
(the Flask app, called in process or served by gunicorn) and a real Celery
worker process. The fault suite (tests/faults/) and bench/faults.py both use
it: they break a part, let the bot recover, and compare what should have
reached people with what the emulator received.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from bot import create_app, db
from bot.config import SANDBOX_TEMPLATES
from bot.models import Campaign, HelpRequest, PublishState, Staff, Station
from bot.sandbox.platform import PlatformState
from bot.wechat import outbox
from tests.conftest import APP_ID, APP_SECRET, DATA_KEY, SECRET_KEY, TOKEN, _reset_platform
from tests.fixtures import factories
from tests.fixtures.driver import WeChatDriver
from tests.fixtures.templates import IDS, template_settings

REPO = Path(__file__).resolve().parents[2]
HELP_TEMPLATE = IDS["help_request"]
# The help-request template's key that carries the request number (e.g. character_string1).
NUMBER_KEY = dict(f.split(":") for f in SANDBOX_TEMPLATES["help_request"][1].split(","))["number"]
TEMPLATE_SEND = "cgi-bin/message/template/send"
SENDALL = "cgi-bin/message/mass/sendall"
SUBMIT = "cgi-bin/freepublish/submit"
BUSY = "系统繁忙，请稍后再试"
# Short scan locks (publish:due, greetings:due) so that a killed run's lapse fast.
LOCK_SECONDS = 2


def settings_for(
    folder: Path, database_url: str, redis_url: str, emulator_url: str, **changes
) -> dict:
    """Every setting the plant's processes share, as strings (they go into environments)."""
    return {
        "INSTANCE_DIR": str(folder / "instance"),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "WECHAT_TOKEN": TOKEN,
        "SECRET_KEY": SECRET_KEY,
        "DATA_KEY": DATA_KEY,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "WECHAT_API_BASE_URL": emulator_url,
        **template_settings(),
        "CONTENT_DIR": str(folder / "content"),
        "SITE_DIR": str(folder / "site"),
        "SITE_URL": "https://vets.example.cn/column",
        "EDITOR_OPENIDS": "o-editor-1",
        "GREETING_OCCASIONS": "army-day",
        "LOCK_SECONDS": str(LOCK_SECONDS),
        "LOG_LEVEL": "WARNING",
        **changes,
    }


def reset(platform: PlatformState) -> None:
    """Forget every message, call, fault and knob of the emulated platform."""
    _reset_platform(platform)  # what every test app starts from
    with platform.lock:
        platform.template_ids.clear()
        platform.lost_answers.clear()
        platform.slow_answers.clear()
        platform.latency_ms = 0


@dataclass
class Plant:
    """One bot on its own servers: the app, a worker process, and what it was asked to send."""

    settings: dict
    platform: PlatformState
    worker: subprocess.Popen | None = None
    log: Path | None = None
    veterans: list[str] = field(default_factory=list)  # openids that may file requests
    app: object = field(init=False)

    def __post_init__(self):
        Path(self.settings["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
        self.app = create_app(self.settings)
        self.driver = WeChatDriver(self.app.test_client(), TOKEN, APP_ID)

    def migrate(self) -> None:
        with self.app.app_context():
            db.upgrade(db.engine())

    def close(self) -> None:
        self.kill_worker()
        self.app.extensions["db"].kw["bind"].dispose()
        self.app.extensions["celery"].close()
        if self.app.extensions["redis"] is not None:
            self.app.extensions["redis"].close()

    # -- the worker ---------------------------------------------------------------------
    def start_worker(self) -> None:
        """A real `celery worker` process (solo pool), as the Procfile's worker runs."""
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
        env.update(self.settings)
        command = [sys.executable, "-m", "celery", "-A", "tasks.worker", "worker", "-P", "solo"]
        command += ["--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
        self.log = Path(self.settings["INSTANCE_DIR"]) / "worker.log"
        with self.log.open("a") as out:
            self.worker = subprocess.Popen(
                command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def kill_worker(self) -> None:
        """SIGKILL, as the OOM killer or a redeploy would: no cleanup, no acknowledgement."""
        if self.worker is not None:
            self.worker.kill()
            self.worker.wait()
            self.worker = None

    # -- the ledger ---------------------------------------------------------------------
    def notices_due(self) -> Counter:
        """(staff openid, request number): each filed request, to its stations' staff.

        Worked out from the requests and the directory, not from the outbox, so a
        notice never written counts as lost.
        """
        with self.app.app_context():
            session = db.session()
            due: Counter = Counter()
            for request in session.scalars(select(HelpRequest)):
                station = session.get(Station, request.station_id)
                stations = [s.id for s in (station, station.parent) if s is not None]
                staff = session.scalars(select(Staff).where(Staff.station_id.in_(stations)))
                for member in staff:
                    due[(member.openid, request.number)] += 1
            session.close()
            return due

    def notices_received(self) -> Counter:
        """(openid, request number) of every help-request notice the emulator delivered."""
        with self.platform.lock:
            sent = [m for m in self.platform.outbox if m.get("template_id") == HELP_TEMPLATE]
        return Counter((m["touser"], m["data"][NUMBER_KEY]["value"]) for m in sent)

    def greetings_due(self) -> Counter:
        """Tag name: every county tag gets the day's greeting once."""
        return Counter(
            name
            for tag_id, name in self.platform.tags.items()
            if name.endswith("退役军人") and name != "退役军人"
        )

    def greetings_received(self) -> Counter:
        """Tag name of every mass text the emulator accepted (a dropped repeat is not one)."""
        with self.platform.lock:
            sends = [m for m in self.platform.mass_sends if m["msgtype"] == "text"]
        return Counter(self.platform.tags[m["tag_id"]] for m in sends)

    def articles_published(self) -> Counter:
        """Title of every article the emulator published (free publish) or mass-sent."""
        with self.platform.lock:
            drafts = {d["media_id"]: d for d in self.platform.drafts}
            titles = [
                drafts[p["media_id"]]["articles"][0]["title"] for p in self.platform.publishes
            ]
        return Counter(titles)

    def channel_states(self) -> dict[tuple[str, str], str]:
        with self.app.app_context():
            session = db.session()
            found = {(s.slug, s.channel): s.state for s in session.scalars(select(PublishState))}
            session.close()
            return found

    def campaign_states(self) -> Counter:
        with self.app.app_context():
            session = db.session()
            found = Counter(session.scalars(select(Campaign.state)))
            session.close()
            return found

    def outbox_states(self) -> Counter:
        with self.app.app_context():
            session = db.session()
            found = Counter(outbox.count_by_state(session))
            session.close()
            return found


def seed(plant: Plant, per_village: int = 3) -> None:
    """Two villages with staff, their township's staff, veterans in two counties, tagged.

    Run inside the plant's app context; plant.veterans gets the openids that file requests.
    """
    from bot.records import tagging
    from bot.wechat.client import client

    butuo = factories.butuo()
    session = db.session()
    factories.StaffFactory(station=butuo.jiudu, openid="o-staff-jiudu")
    veterans = []
    for name in ("好谷村", "九都村"):
        village = butuo.villages[name]
        factories.StaffFactory(station=village, openid=f"o-staff-{village.code}")
        veterans += [factories.VeteranFactory(station=village) for _ in range(per_village)]
    zhaojue = factories.CountyFactory(code="513431", name="昭觉县退役军人服务中心")
    other = factories.VillageFactory(parent=factories.TownshipFactory(parent=zhaojue))
    veterans.append(factories.VeteranFactory(station=other))
    for veteran in veterans:
        tagging.tag_veteran(session, client(), veteran.id)
    plant.veterans = [v.openid for v in veterans if v.station_id != other.id]


def wait_until(condition, seconds: float, every: float = 0.1) -> bool:
    """Poll condition() until it holds or seconds pass; whether it held."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return condition()
