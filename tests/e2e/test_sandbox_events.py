"""The emulator reports finished jobs to our webhook over HTTP, as WeChat does."""

from __future__ import annotations

import time
from datetime import date

import pytest

from bot.care import greetings_send
from bot.column import publishing
from bot.models import Campaign, PublishState
from bot.sandbox.emulator import create_emulator
from bot.sandbox.platform import PlatformState, Webhook
from bot.sandbox.server import serve_in_thread
from bot.wechat.client import client
from tests.conftest import APP_ID, APP_SECRET, TOKEN
from tests.fixtures import wiring
from tests.fixtures.publishing import ago, publishing_settings


@pytest.fixture
def reporting():
    """A second emulator, over its own state, that will post events to a webhook."""
    state = PlatformState(appid=APP_ID, secret=APP_SECRET, event_delay=0.2)
    server = serve_in_thread(create_emulator(state))
    yield state, f"http://127.0.0.1:{server.server_port}"
    state.webhook = None  # events still waiting are dropped, not posted to a stopped app
    server.shutdown()


@pytest.fixture
def app_settings(app_settings, tmp_path, reporting):
    settings = publishing_settings(tmp_path, GREETING_OCCASIONS="all")
    return {**app_settings, **settings, "WECHAT_API_BASE_URL": reporting[1]}


@pytest.fixture
def platform_events(app, reporting, committed_db):
    """Our app served over HTTP, and the emulator's webhook pointing at its /wechat."""
    state, _ = reporting
    server = serve_in_thread(app)
    state.webhook = Webhook(f"http://127.0.0.1:{server.server_port}/wechat", TOKEN, "gh_test")
    yield state
    state.webhook = None
    server.shutdown()


def eventually(check, seconds: float = 10.0):
    """check()'s first truthy answer within seconds, else its last answer."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    return check()


def test_a_mass_send_is_reported_and_its_campaign_finished(session, platform_events):
    wechat = client()
    wechat.tag_users(wechat.ensure_tag("退役军人"), ["o-vet-a", "o-vet-b"])

    outcomes, _ = greetings_send.send_occasion(*wiring.care(), "spring-festival", date(2027, 2, 6))
    assert [o.state for o in outcomes] == ["sent"]

    def finished():
        session.expire_all()
        return session.query(Campaign).filter_by(state="finished").one_or_none()

    row = eventually(finished)
    assert row is not None, "MASSSENDJOBFINISH never reached the webhook"
    assert row.finish_status == "send success"
    counts = (row.total_count, row.filter_count, row.sent_count, row.error_count)
    assert counts == (2, 2, 2, 0)


def test_a_publish_job_is_reported_as_a_hint(session, platform_events, tmp_path, make_story):
    platform_events.publish_pending_polls = 100  # only the event can say it finished
    make_story("jiudu", publish_at=ago(minutes=5))

    publishing.publish_due(*wiring.column())
    (job,) = platform_events.publishes

    def hint():
        session.expire_all()
        return session.query(PublishState).filter_by(slug="jiudu", channel="wechat").one().hint

    noted = eventually(hint)
    assert noted and "publish_status=0" in noted, "PUBLISHJOBFINISH never reached the webhook"
    assert noted.endswith(f"https://mp.weixin.qq.com/s/{job['article_id']}")


def test_a_mass_send_reported_with_an_empty_account_is_recorded(session, platform_events):
    platform_events.mass_event_blank_account = True  # as real MASSSENDJOBFINISH samples show
    platform_events.mass_status = "send fail"
    wechat = client()
    wechat.tag_users(wechat.ensure_tag("退役军人"), ["o-vet-a", "o-vet-b"])

    greetings_send.send_occasion(*wiring.care(), "spring-festival", date(2027, 2, 6))

    def reported():
        session.expire_all()
        return session.query(Campaign).filter_by(state="undelivered").one_or_none()

    row = eventually(reported)
    assert row is not None, "the event with an empty ToUserName was not recorded"
    assert row.finish_status == "send fail" and "未送达" in row.reason
    assert (row.total_count, row.sent_count, row.error_count) == (2, 0, 2)
