"""Publishing the column: each story reaches WeChat (via the emulator) and the site exactly once."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, update

from bot import clock, db
from bot.column import publish_state, publishing
from bot.models import Campaign, OutboxMessage, PublishState
from publisher.story import SHANGHAI
from tests.fixtures import wiring
from tests.fixtures.publishing import (
    EDITORS,
    ago,
    ahead,
    channel_state,
    editor_notices,
    publishing_settings,
)
from tests.fixtures.templates import opened, shown

SITE_URL = "https://vets.example.cn/column"


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


def wechat_state(session, slug) -> PublishState:
    return channel_state(session, slug)


def site_state(session, slug) -> PublishState:
    return channel_state(session, slug, "site")


def rewind(session, slug, **values) -> None:
    """Put a channel back where a killed worker would have left it."""
    session.execute(
        update(PublishState)
        .where(PublishState.slug == slug, PublishState.channel == "wechat")
        .values(**values)
    )
    session.commit()


def test_a_due_story_is_drafted_submitted_and_confirmed_once(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"open_comment": True})

    publishing.publish_due(*wiring.column())

    (draft,) = platform.drafts
    article = draft["articles"][0]
    assert article["title"] == "九都镇服务站的一天"
    assert article["content_source_url"] == f"{SITE_URL}/jiudu/"
    assert article["need_open_comment"] == 1
    assert article["thumb_media_id"] == platform.materials[0]["media_id"]
    (body_image,) = platform.body_images
    assert body_image["url"] in article["content"]
    (job,) = platform.publishes
    assert job["media_id"] == draft["media_id"]
    st = wechat_state(session, "jiudu")
    assert st.state == "published"
    assert st.article_url == f"https://mp.weixin.qq.com/s/{job['article_id']}"
    assert st.publish_id == job["publish_id"]
    site = site_state(session, "jiudu")
    assert site.state == "published", site.reason
    assert site.article_url == f"{SITE_URL}/jiudu/"
    assert editor_notices(platform) == []


def test_publish_due_twice_drafts_uploads_and_submits_nothing_twice(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))

    publishing.publish_due(*wiring.column())
    publishing.publish_due(*wiring.column())

    assert len(platform.drafts) == len(platform.publishes) == 1
    assert len(platform.materials) == len(platform.body_images) == 1


def test_the_same_image_in_two_stories_is_uploaded_once(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=2))
    make_story("butuo", publish_at=ago(hours=1), title="布拖县服务站")

    publishing.publish_due(*wiring.column())

    assert len(platform.drafts) == 2
    assert len(platform.materials) == len(platform.body_images) == 1


@pytest.mark.usefixtures("committed_db")
def test_two_publish_due_runs_at_once_draft_and_submit_once(app, session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    make_story("butuo", publish_at=ago(hours=2), title="布拖县服务站", photo_colour=(1, 2, 3))
    start = threading.Barrier(3)
    errors = []

    def run():
        with app.app_context():
            start.wait()
            try:
                publishing.publish_due(*wiring.column())
                publishing.publish_story(*wiring.column(), "jiudu")
            except Exception as exc:  # reported below, not swallowed
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert sorted(d["articles"][0]["title"] for d in platform.drafts) == [
        "九都镇服务站的一天",
        "布拖县服务站",
    ]
    assert len(platform.publishes) == 2
    assert wechat_state(session, "jiudu").state == "published"


def test_a_run_failing_between_draft_and_submit_resumes_with_the_same_draft(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/freepublish/submit", -1)  # system busy: the run stops there

    publishing.publish_due(*wiring.column())
    st = wechat_state(session, "jiudu")
    assert st.state == "submitting"
    assert "稍后重试" in st.reason
    assert st.retry_after - st.updated_at == timedelta(minutes=1)  # the first step of the curve
    publishing.publish_story(*wiring.column(), "jiudu")

    assert len(platform.drafts) == len(platform.publishes) == 1
    assert wechat_state(session, "jiudu").state == "published"


def test_a_worker_killed_before_recording_its_draft_adopts_that_draft(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/freepublish/submit", -1)
    publishing.publish_due(*wiring.column())
    # As if killed after draft/add answered but before the media_id was saved.
    rewind(session, "jiudu", state="uploading", media_id=None, retry_after=None)

    publishing.publish_due(*wiring.column())

    assert len(platform.drafts) == len(platform.publishes) == 1
    assert wechat_state(session, "jiudu").state == "published"


def test_a_worker_killed_after_submitting_resubmits_the_same_draft_only(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.publish_pending_polls = 1
    publishing.publish_due(*wiring.column())
    # As if killed after freepublish/submit answered but before publish_id was saved.
    rewind(session, "jiudu", state="submitting", publish_id=None, msg_data_id=None)

    publishing.publish_due(*wiring.column())
    publishing.publish_due(*wiring.column())

    assert len(platform.drafts) == len(platform.publishes) == 1
    assert wechat_state(session, "jiudu").state == "published"


def test_tokens_expiring_mid_publish_are_refreshed_once(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/freepublish/submit", -1)
    publishing.publish_due(*wiring.column())
    fetches = platform.token_fetches
    platform.expire_tokens()

    publishing.publish_story(*wiring.column(), "jiudu")

    assert platform.token_fetches == fetches + 1
    assert len(platform.drafts) == len(platform.publishes) == 1
    assert wechat_state(session, "jiudu").state == "published"


def test_the_daily_quota_fails_the_channel_and_tells_the_editors_once(
    client, session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/draft/add", 45009)

    publishing.publish_due(*wiring.column())
    publishing.publish_due(*wiring.column())

    st = wechat_state(session, "jiudu")
    assert st.state == "failed"
    assert "45009" in st.reason and "上限" in st.reason
    assert platform.drafts == []
    told = editor_notices(platform)
    assert sorted(m["touser"] for m in told) == sorted(EDITORS)
    assert shown(told[0])["稿件"] == "九都镇服务站的一天"
    assert shown(told[0])["渠道"] == "微信"
    # A template field shows 20 characters on one line: the reason is cut there, whole behind
    # the notice's link.
    reason = shown(told[0])["原因"]
    assert reason.startswith("接口调用已达今日上限") and len(reason) == 20 and reason[-1] == "…"
    assert st.reason in opened(client, told[0])


def test_a_cover_deleted_from_the_library_is_uploaded_again_for_the_next_story(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=2))
    publishing.publish_due(*wiring.column())
    (cover,) = platform.materials
    assert platform.delete_material(cover["media_id"])  # an editor tidies the 素材库
    make_story("butuo", publish_at=ago(hours=1), title="布拖县服务站")  # the same cover picture

    publishing.publish_due(*wiring.column())

    assert wechat_state(session, "butuo").state == "published"
    (again,) = platform.materials
    assert again["media_id"] != cover["media_id"]
    assert platform.drafts[-1]["articles"][0]["thumb_media_id"] == again["media_id"]
    assert editor_notices(platform) == []
    make_story("meigu", publish_at=ago(minutes=30), title="美姑县服务站")
    publishing.publish_due(*wiring.column())
    assert len(platform.materials) == 1  # the new upload is the one cached


def test_a_cover_refused_twice_fails_once_and_publish_slug_then_succeeds(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/draft/add", 40007, 40007)

    publishing.publish_due(*wiring.column())

    st = wechat_state(session, "jiudu")
    assert (st.state, st.failed_step) == ("failed", "uploading")
    assert "40007" in st.reason
    assert len(platform.materials) == 2  # uploaded again once, not in a loop
    assert len(editor_notices(platform)) == len(EDITORS)
    publishing.publish_story(*wiring.column(), "jiudu", "wechat", again=True)
    assert wechat_state(session, "jiudu").state == "published"
    assert len(platform.drafts) == 1


def test_an_unauthorised_account_fails_at_submit_and_a_retry_uses_the_same_draft(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/freepublish/submit", 48001)

    publishing.publish_due(*wiring.column())
    assert "48001" in wechat_state(session, "jiudu").reason
    publishing.publish_story(*wiring.column(), "jiudu", "wechat", again=True)

    assert len(platform.drafts) == len(platform.publishes) == 1
    assert wechat_state(session, "jiudu").state == "published"


def test_a_rejected_article_fails_with_the_reason_and_a_retry_drafts_anew(
    session, platform, make_story
):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.publish_verdict = 4

    publishing.publish_due(*wiring.column())

    st = wechat_state(session, "jiudu")
    assert st.state == "failed"
    assert "审核未通过" in st.reason
    assert len(editor_notices(platform)) == len(EDITORS)
    platform.publish_verdict = 0
    publishing.publish_story(*wiring.column(), "jiudu", "wechat", again=True)
    assert len(platform.drafts) == len(platform.publishes) == 2
    assert wechat_state(session, "jiudu").state == "published"


def test_an_article_still_publishing_is_polled_until_wechat_decides(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.publish_pending_polls = 2

    publishing.publish_due(*wiring.column())
    assert wechat_state(session, "jiudu").state == "submitted"
    publishing.publish_due(*wiring.column())
    assert wechat_state(session, "jiudu").state == "submitted"
    publishing.publish_due(*wiring.column())

    assert wechat_state(session, "jiudu").state == "published"
    assert len(platform.publishes) == 1
    assert platform.publishes[0]["polls"] == 3


def test_a_story_failing_the_check_is_refused_and_editors_told(session, platform, make_story):
    make_story("broken", publish_at=ago(hours=1), broken_cover=True)

    publishing.publish_due(*wiring.column())
    publishing.publish_due(*wiring.column())

    assert platform.drafts == platform.materials == []
    for st in (wechat_state(session, "broken"), site_state(session, "broken")):
        assert st.state == "failed"
        assert st.reason.startswith("内容检查未通过")
        assert "cover" in st.reason
    assert len(editor_notices(platform)) == 2 * len(EDITORS)  # one per channel, once


def test_a_story_that_does_not_load_is_reported_to_the_editors_once(session, platform, make_story):
    make_story("typo", text="---\ntitle: [unclosed\n---\n正文\n")

    publishing.publish_due(*wiring.column())
    publishing.publish_due(*wiring.column())

    told = editor_notices(platform)
    assert len(told) == len(EDITORS)
    assert "typo" in shown(told[0])["稿件"]
    assert "文件头" in shown(told[0])["原因"]


def test_a_future_story_waits(session, platform, make_story):
    make_story("later", publish_at=ahead(days=2))

    assert publishing.publish_due(*wiring.column()) == []

    assert platform.drafts == []
    assert session.query(PublishState).count() == 0


def test_publishing_early_sends_wechat_now_but_the_site_waits_for_its_time(
    app, session, platform, make_story
):
    make_story("early", publish_at=ahead(days=2))

    publishing.publish_story(*wiring.column(), "early")

    assert len(platform.drafts) == 1
    assert not (Path(app.config["SITE_DIR"]) / "early").exists()
    publishing.publish_due(*wiring.column(), now=clock.now() + timedelta(days=3))
    assert site_state(session, "early").state == "published"
    assert (Path(app.config["SITE_DIR"]) / "early" / "index.html").is_file()


@pytest.fixture
def veterans(app, platform):
    """The veterans' tag with two followers under it."""
    with app.app_context():
        _session, api, _redis, settings = wiring.column()
        tag = publishing.port(api, settings).veterans_tag_id()
    platform.tagged[tag] = {"o-vet-1", "o-vet-2"}
    return tag


def test_a_mass_story_is_sent_to_the_veterans_tag_with_its_clientmsgid(
    session, platform, make_story, veterans
):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"mode": "mass"})

    publishing.publish_due(*wiring.column())

    (sent,) = platform.mass_sends
    assert sent["clientmsgid"] == "column-jiudu"
    assert sent["tag_id"] == veterans
    assert sent["media_id"] == platform.drafts[0]["media_id"]
    assert sorted(sent["sent"]) == ["o-vet-1", "o-vet-2"]
    assert platform.publishes == []
    st = wechat_state(session, "jiudu")
    assert (st.state, st.msg_id) == ("published", str(sent["msg_id"]))


def test_a_mass_send_repeated_after_a_crash_is_dropped_by_its_clientmsgid(
    session, platform, make_story, veterans
):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"mode": "mass"})
    publishing.publish_due(*wiring.column())
    # As if killed after sendall answered but before it was recorded; resumed a minute later.
    rewind(session, "jiudu", state="submitting", msg_id=None)
    platform.age_mass_sends(61)

    publishing.publish_due(*wiring.column())

    (sent,) = platform.mass_sends
    st = wechat_state(session, "jiudu")  # WeChat's 45065 names the first send: that is ours
    assert (st.state, st.msg_id) == ("published", str(sent["msg_id"]))


def test_a_repeat_wechat_is_still_taking_is_retried_later_not_failed(
    session, platform, make_story, veterans
):
    make_story("jiudu", publish_at=ago(hours=1), wechat={"mode": "mass"})
    platform.inject("cgi-bin/message/mass/sendall", 45066)  # "retry later", not a refusal

    publishing.publish_due(*wiring.column())
    st = wechat_state(session, "jiudu")
    assert st.state == "submitting" and "稍后重试" in st.reason
    publishing.publish_story(*wiring.column(), "jiudu", "wechat")

    (sent,) = platform.mass_sends
    st = wechat_state(session, "jiudu")
    assert (st.state, st.msg_id) == ("published", str(sent["msg_id"]))


def test_a_mass_story_beyond_the_monthly_quota_is_refused(
    make_app, platform, make_story, veterans, tmp_path
):
    quota_app = make_app(**publishing_settings(tmp_path, MASS_QUOTA_PER_MONTH="1"))
    first = ago(minutes=30)
    make_story("first", publish_at=first, wechat={"mode": "mass"})
    make_story("second", publish_at=ago(minutes=20), wechat={"mode": "mass"}, title="第二篇")

    with quota_app.app_context():
        publishing.publish_due(*wiring.column())
        saved = publish_state.states(db.session())

    assert len(platform.mass_sends) == 1
    refused = saved[("second", "wechat")]
    assert refused.state == "failed"
    assert "群发额度不足" in refused.reason and "first" in refused.reason
    told = [shown(m)["稿件"] for m in editor_notices(platform)]
    assert told.count("第二篇") == 2 * len(EDITORS)


def test_holiday_greetings_count_against_a_mass_storys_monthly_quota(
    make_app, platform, make_story, veterans, tmp_path
):
    # August 2026 greets twice: 火把节 on 08-06 and 建军节 on 08-01.
    quota_app = make_app(
        **publishing_settings(
            tmp_path, MASS_QUOTA_PER_MONTH="2", GREETING_OCCASIONS="army-day,torch-festival"
        )
    )
    make_story(
        "late-august",
        publish_at=datetime(2026, 8, 20, 8, 0, tzinfo=SHANGHAI),
        wechat={"mode": "mass"},
    )

    with quota_app.app_context():
        publishing.publish_due(*wiring.column())
        refused = publish_state.states(db.session())[("late-august", "wechat")]

    assert platform.mass_sends == []
    assert refused.state == "failed"
    assert "群发额度不足" in refused.reason and "建军节" in refused.reason


def test_a_greeting_sent_and_since_switched_off_still_counts_against_the_quota(
    make_app, platform, make_story, veterans, tmp_path
):
    # 建军节 2026 went out; the bureau has switched greetings off since. The
    # followers still had that send this August.
    quota_app = make_app(
        **publishing_settings(tmp_path, MASS_QUOTA_PER_MONTH="1", GREETING_OCCASIONS="none")
    )
    make_story(
        "late-august",
        publish_at=datetime(2026, 8, 20, 8, 0, tzinfo=SHANGHAI),
        wechat={"mode": "mass"},
    )

    with quota_app.app_context():
        session = db.session()
        session.add(
            Campaign(
                occasion="army-day",
                year=2026,
                tag_id=1,
                tag_name="退役军人",
                state="sent",
                clientmsgid="greet-army-day-2026-1",
            )
        )
        session.commit()
        publishing.publish_due(*wiring.column())
        refused = publish_state.states(db.session())[("late-august", "wechat")]

    assert platform.mass_sends == []
    assert refused.state == "failed"
    assert "群发额度不足" in refused.reason and "建军节" in refused.reason


def test_a_failure_and_its_editor_notices_are_committed_together(session, platform, make_story):
    make_story("jiudu", publish_at=ago(hours=1))
    platform.inject("cgi-bin/draft/add", 45009)
    seen = []  # at each commit: (failed channels, editor notices) in what it commits

    def commits(committing) -> None:
        failed = committing.scalar(select(func.count()).where(PublishState.state == "failed"))
        told = committing.scalar(select(func.count()).where(OutboxMessage.kind == "editor"))
        seen.append((failed, told))

    event.listen(session, "before_commit", commits)
    try:
        publishing.publish_due(*wiring.column())
    finally:
        event.remove(session, "before_commit", commits)

    # No commit ever holds the failure without its notices: a crash between two
    # commits could otherwise keep the failure and lose what tells the editors.
    assert (1, len(EDITORS)) in seen
    assert all(told == len(EDITORS) for failed, told in seen if failed)
    assert len(editor_notices(platform)) == len(EDITORS)
