"""PUBLISHJOBFINISH through the webhook: answered with success, noted as a hint, then polled."""

from __future__ import annotations

import time

import pytest
import redis
import xmltodict

from bot.column import publishing
from bot.models import PublishState
from tests.fixtures import wiring
from tests.fixtures.publishing import ago, publishing_settings


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture
def submitted(app, session, platform, tmp_path, make_story):
    """A story WeChat is still publishing."""
    platform.reset_publishing()
    platform.publish_pending_polls = 100
    make_story("jiudu", publish_at=ago(minutes=5))
    publishing.publish_due(*wiring.column())
    yield platform.publishes[0]
    platform.reset_publishing()


def publish_event(job: dict, status: int = 0, create_time: int | None = None) -> str:
    """The XML mphelper posts when a publish job ends."""
    info = {
        "publish_id": job["publish_id"],
        "publish_status": status,
        "article_id": job["article_id"],
        "article_detail": {
            "count": 1,
            "item": {"idx": 1, "article_url": f"https://mp.weixin.qq.com/s/{job['article_id']}"},
        },
        "fail_idx": "",
    }
    body = {
        "ToUserName": "gh_test",
        "FromUserName": "mphelper",
        "CreateTime": str(create_time or int(time.time())),
        "MsgType": "event",
        "Event": "PUBLISHJOBFINISH",
        "PublishEventInfo": info,
    }
    return xmltodict.unparse({"xml": body}, full_document=False)


def state(session) -> PublishState:
    session.expire_all()
    return session.query(PublishState).filter_by(slug="jiudu", channel="wechat").one()


def queued_tasks(app) -> list[str]:
    r = redis.Redis.from_url(app.config["REDIS_URL"], decode_responses=True)
    try:
        return [m for m in r.lrange("celery", 0, -1) if "tasks.publish.poll_wechat" in m]
    finally:
        r.close()


def test_the_event_is_answered_with_success_and_noted_as_a_hint(app, wechat, session, submitted):
    response = wechat.post(publish_event(submitted))

    assert response.get_data(as_text=True) == "success"
    row = state(session)
    assert "publish_status=0" in row.hint
    assert submitted["article_id"] in row.hint
    # Polling decides: the hint alone publishes nothing, it asks for a poll.
    assert row.state == "submitted"
    assert len(queued_tasks(app)) == 1


def test_the_poll_the_event_asked_for_records_the_article(
    app, wechat, session, submitted, platform
):
    wechat.post(publish_event(submitted))
    platform.publish_pending_polls = 0

    _session, api, _redis, settings = wiring.column()
    publishing.poll(session, api, settings, "jiudu")

    assert state(session).state == "published"
    assert state(session).article_url.endswith(submitted["article_id"])


def test_a_retried_event_is_handled_once(app, wechat, session, submitted):
    sent_at = int(time.time())
    for _ in range(3):
        response = wechat.post(publish_event(submitted, create_time=sent_at))
        assert response.get_data(as_text=True) == "success"

    assert len(queued_tasks(app)) == 1


def test_an_event_for_an_unknown_job_is_answered_and_changes_nothing(
    app, wechat, session, submitted
):
    other = {**submitted, "publish_id": "999"}

    response = wechat.post(publish_event(other, status=4))

    assert response.get_data(as_text=True) == "success"
    assert state(session).hint is None
    assert queued_tasks(app) == []


def test_two_jobs_finishing_in_the_same_second_are_both_heard(app, wechat, session, submitted):
    sent_at = int(time.time())
    other_job = {**submitted, "publish_id": "999999", "article_id": "other"}

    wechat.post(publish_event(other_job, create_time=sent_at))
    wechat.post(publish_event(submitted, create_time=sent_at))

    assert "publish_status=0" in (state(session).hint or "")
