"""A run killed mid-work holds its Redis lock seconds, not minutes; a live run keeps its lock.

The killed runs are real processes (`veteranbot publish-due`, `publish SLUG`, a
greetings scan) stalled inside a WeChat call and sent SIGKILL, as the OOM killer
or a redeploy would.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
import redis

from bot.care import greetings_send
from bot.column import publishing
from bot.wechat.client import client
from publisher.story import SHANGHAI
from tests.fixtures import wiring
from tests.fixtures.publishing import ago, channel_state, publishing_settings

# Starts servers or processes, or waits out timeouts: `make test-slow`, and always in .ci/run.
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# Short enough for a test to wait out; the heartbeat renews it every third of that.
LOCK_SECONDS = 2
ARMY_DAY_0905 = datetime(2027, 8, 1, 9, 5, tzinfo=SHANGHAI)
GREETINGS_SCAN = (
    "import sys; from datetime import datetime; from bot import create_app; "
    "from bot.care import greetings_send; from tests.fixtures import wiring\n"
    "with create_app().app_context():\n"
    "    greetings_send.send_due(*wiring.care(), datetime.fromisoformat(sys.argv[1]))\n"
)


@pytest.fixture
def app_settings(app_settings, tmp_path):
    column = publishing_settings(tmp_path, GREETING_OCCASIONS="all")
    return {**app_settings, **column, "LOCK_SECONDS": str(LOCK_SECONDS)}


@pytest.fixture
def stalled(app, platform):
    """Every WeChat call takes seconds, so a run is caught holding its locks.

    The token is fetched first: a run killed while fetching one would hold the
    token's own lock too, which is not what these tests are about.
    """
    with app.app_context():
        client().access_token()
    platform.latency_ms = 5000
    yield platform
    platform.latency_ms = 0


def kill_while_holding(command: list[str], settings: dict, lock: str, r: redis.Redis) -> None:
    """Start command with the test's settings, wait until it holds lock, and SIGKILL it."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **settings}
    proc = subprocess.Popen(
        command, cwd=settings["INSTANCE_DIR"], env=env, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 30
        while not r.exists(lock):
            assert proc.poll() is None, f"{command} exited early: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"{command} never took {lock}"
            time.sleep(0.05)
    finally:
        proc.kill()
        proc.wait()
        proc.stderr.close()


def veteranbot(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("veteranbot")), *args]


@pytest.mark.usefixtures("committed_db")
@pytest.mark.parametrize(
    ("command", "lock"),
    [(("publish-due",), "publish:due"), (("publish", "jiudu"), "publish:story:jiudu")],
)
def test_a_killed_publish_blocks_the_next_for_its_short_ttl_only(
    app, app_settings, session, stalled, make_story, command, lock
):
    make_story("jiudu", publish_at=ago(hours=1))
    Path(app_settings["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    r = redis.Redis.from_url(app_settings["REDIS_URL"])

    kill_while_holding(veteranbot(*command), app_settings, lock, r)
    stalled.latency_ms = 0

    assert publishing.publish_due(*wiring.column()) in (None, [])  # still held: nothing done
    time.sleep(LOCK_SECONDS + 0.5)
    publishing.publish_due(*wiring.column())

    assert channel_state(session, "jiudu").state == "published"
    assert len(stalled.drafts) == len(stalled.publishes) == 1
    r.close()


@pytest.mark.usefixtures("committed_db")
def test_a_killed_greetings_scan_blocks_the_next_for_its_short_ttl_only(
    app, app_settings, session, stalled
):
    Path(app_settings["INSTANCE_DIR"]).mkdir(parents=True, exist_ok=True)
    r = redis.Redis.from_url(app_settings["REDIS_URL"])
    scan = [sys.executable, "-c", GREETINGS_SCAN, ARMY_DAY_0905.isoformat()]

    kill_while_holding(scan, app_settings, "greetings:due", r)
    stalled.latency_ms = 0

    assert greetings_send.send_due(*wiring.care(), ARMY_DAY_0905) is None  # still held
    time.sleep(LOCK_SECONDS + 0.5)
    assert greetings_send.send_due(*wiring.care(), ARMY_DAY_0905) is not None  # it ran
    r.close()


@pytest.mark.usefixtures("committed_db")
def test_a_publish_outlasting_its_ttl_keeps_its_lock_and_a_second_run_waits(
    app, session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.latency_ms = 700  # a dozen calls: several times LOCK_SECONDS
    second = []

    def second_run():
        with app.app_context():
            time.sleep(1.5 * LOCK_SECONDS)  # past the TTL the first run started with
            second.append(publishing.publish_due(*wiring.column()))

    probe = threading.Thread(target=second_run)
    probe.start()
    try:
        started = time.monotonic()
        done = publishing.publish_due(*wiring.column())
        took = time.monotonic() - started
    finally:
        platform.latency_ms = 0
        probe.join(30)

    assert took > 1.5 * LOCK_SECONDS
    assert second == [None]
    assert {(st.channel, st.state) for st in done} == {
        ("wechat", "published"),
        ("site", "published"),
    }
    assert len(platform.drafts) == len(platform.publishes) == 1


def test_a_run_that_finds_its_lock_taken_stops_at_its_next_step(app, session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    r = redis.Redis.from_url(app.config["REDIS_URL"])
    platform.latency_ms = 700
    lock = "publish:story:jiudu"

    def take_over():
        # As if this run stalled past its TTL and another run took the lock.
        while not r.exists(lock):
            time.sleep(0.01)
        r.set(lock, "another-run", ex=30)

    thief = threading.Thread(target=take_over)
    thief.start()
    try:
        publishing.publish_story(*wiring.column(), "jiudu")
    finally:
        platform.latency_ms = 0
        thief.join(30)

    assert platform.drafts == []  # stopped after the upload under way, before draft/add
    assert r.get(lock) == b"another-run"  # and left the other run's lock alone
    r.delete(lock)
    publishing.publish_story(*wiring.column(), "jiudu")
    assert channel_state(session, "jiudu").state == "published"
    assert len(platform.drafts) == len(platform.materials) == 1
    r.close()
