"""What WeChat says after the call: mass-send results, lost publish answers, refused comments."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from celery.exceptions import Retry

from bot import clock
from bot.column import publishing
from bot.commands.publishing import queue_lines
from bot.models import PublishState
from bot.wechat import outbox
from bot.wechat.client import client
from tasks import celery_init_app
from tests.fixtures import wiring
from tests.fixtures.publishing import (
    EDITORS,
    ago,
    channel_state,
    editor_notices,
    publishing_settings,
)

SUBMIT = "cgi-bin/freepublish/submit"
SENDALL = "cgi-bin/message/mass/sendall"
STORY_URL = "https://vets.example.cn/column/jiudu/"


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture(autouse=True)
def answers_arrive(platform):
    platform.lost_answers.clear()
    yield
    platform.lost_answers.clear()


@pytest.fixture
def veterans(app, platform):
    """The veterans' tag with two followers under it."""
    with app.app_context():
        _session, api, _redis, settings = wiring.column()
        tag = publishing.port(api, settings).veterans_tag_id()
    platform.tagged[tag] = {"o-vet-1", "o-vet-2"}
    return tag


def rewind(session, slug: str, **values) -> None:
    """Put a channel back where a killed worker would have left it."""
    session.query(PublishState).filter_by(slug=slug, channel="wechat").update(values)
    session.commit()


def finish_event(wechat, platform, send: dict) -> None:
    """WeChat's MASSSENDJOBFINISH for one send, posted to our webhook."""
    fields = platform.mass_finish(send["msg_id"])
    assert wechat.send("o-mass-system", "event", Event="MASSSENDJOBFINISH", **fields) is None


# -- mass sends -----------------------------------------------------------------------


def test_a_mass_sent_story_records_its_article_url_from_masssendjobfinish(
    session, platform, make_story, veterans, wechat
):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"mode": "mass"})
    publishing.publish_due(*wiring.column())
    (sent,) = platform.mass_sends

    finish_event(wechat, platform, sent)

    st = channel_state(session, "jiudu")
    assert (st.state, st.article_url) == ("published", sent["article_url"])
    assert f"微信：{sent['article_url']}" in "\n".join(queue_lines(clock.now()))
    assert editor_notices(platform) == []


def test_a_mass_send_wechat_did_not_deliver_fails_the_story_tells_editors_and_can_be_sent_anew(
    app, session, platform, make_story, veterans, wechat
):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"mode": "mass"})
    platform.mass_status = "err(20013)"
    publishing.publish_due(*wiring.column())
    (sent,) = platform.mass_sends

    finish_event(wechat, platform, sent)

    st = channel_state(session, "jiudu")
    assert st.state == "failed" and "涉嫌版权（err(20013)）" in st.reason
    assert "微信失败：微信群发未送达：涉嫌版权" in "\n".join(queue_lines(clock.now()))
    # The webhook wrote the editors' notices with the failure; a worker delivers them.
    assert editor_notices(platform) == []
    outbox.deliver(session, client())
    assert sorted(m["touser"] for m in editor_notices(platform)) == sorted(EDITORS)

    # Sent again by hand: a new draft and a new clientmsgid (the old one is a repeat for 24 h).
    platform.mass_status = "send success"
    publishing.publish_story(*wiring.column(), "jiudu", "wechat", again=True)
    first, second = platform.mass_sends
    assert second["clientmsgid"] != first["clientmsgid"]
    assert second["media_id"] != first["media_id"]
    assert channel_state(session, "jiudu").state == "published"


def test_a_mass_send_repeated_within_a_minute_waits_a_minute_and_keeps_its_finish_report(
    app, session, platform, make_story, veterans, wechat
):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"mode": "mass"})
    publishing.publish_due(*wiring.column())
    (sent,) = platform.mass_sends
    # Killed after sendall, before saving its msg_id; WeChat's report comes meanwhile.
    rewind(session, "jiudu", state="submitting", msg_id=None)
    finish_event(wechat, platform, sent)

    # Resumed at once: WeChat says "retry later" (45066); the task waits at least a minute.
    task = celery_init_app(app).tasks["tasks.publish.publish_story"]
    with pytest.raises(Retry) as retried:
        task.apply(args=["jiudu", "wechat"], throw=True)
    assert retried.value.when >= 60
    st = channel_state(session, "jiudu")
    assert st.state == "submitting" and "45066" in st.reason
    assert st.retry_after - st.updated_at >= timedelta(seconds=60)

    platform.age_mass_sends(61)
    publishing.publish_due(*wiring.column(), now=clock.now() + timedelta(minutes=2))

    assert len(platform.mass_sends) == 1
    st = channel_state(session, "jiudu")
    assert (st.state, st.msg_id) == ("published", str(sent["msg_id"]))  # 45065's msg_id
    assert st.article_url == sent["article_url"]  # from the report that came first


# -- free publish after a lost answer -------------------------------------------------


def test_a_published_draft_cannot_be_submitted_again(session, platform, make_story, emulator_url):
    make_story("jiudu", publish_at=ago(hours=1))
    publishing.publish_due(*wiring.column())
    (job,) = platform.publishes
    token = platform.tokens.current

    again = requests.post(
        f"{emulator_url}/{SUBMIT}",
        params={"access_token": token},
        json={"media_id": job["media_id"]},
    ).json()

    assert again["errcode"] == 40007
    assert len(platform.publishes) == 1


def test_a_submit_whose_answer_was_lost_is_found_published_and_not_submitted_again(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.lost_answers[SUBMIT] = 1  # WeChat takes the draft; its answer never arrives

    publishing.publish_due(*wiring.column())
    assert channel_state(session, "jiudu").state == "submitting"
    publishing.publish_story(*wiring.column(), "jiudu", "wechat")

    (job,) = platform.publishes
    assert platform.calls.count(SUBMIT) == 1
    st = channel_state(session, "jiudu")
    assert st.state == "published"
    assert st.article_url == f"https://mp.weixin.qq.com/s/{job['article_id']}"
    assert editor_notices(platform) == []


def test_a_lost_submit_not_yet_listed_is_looked_for_again_later(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.lost_answers[SUBMIT] = 1
    platform.publish_pending_polls = 1  # the first look finds it still publishing

    publishing.publish_due(*wiring.column())
    later = clock.now() + timedelta(minutes=2)
    publishing.publish_due(*wiring.column(), now=later)
    st = channel_state(session, "jiudu")
    assert st.state == "submitting" and "已发表列表里还没有" in st.reason
    publishing.publish_due(*wiring.column(), now=later + timedelta(minutes=3))

    assert len(platform.publishes) == 1
    assert channel_state(session, "jiudu").state == "published"
    assert editor_notices(platform) == []


# -- comments -------------------------------------------------------------------------


def test_a_story_with_comments_on_an_account_without_them_goes_out_without_and_editors_hear(
    session, platform, make_story
):
    platform.comments_enabled = False
    make_story("jiudu", publish_at=ago(hours=1), wechat={"open_comment": True})

    publishing.publish_due(*wiring.column())

    (draft,) = platform.drafts
    assert draft["articles"][0]["need_open_comment"] == 0
    assert channel_state(session, "jiudu").state == "published"
    told = editor_notices(platform)
    assert sorted(m["touser"] for m in told) == sorted(EDITORS)
    assert all("留言" in str(m["data"]) for m in told)
