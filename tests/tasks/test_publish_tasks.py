"""The column's task bodies, called by slug against the real database, Redis and emulator."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from celery.exceptions import Retry
from celery.schedules import crontab

from publisher.ports import PublishError
from tasks import BEAT_SCHEDULE, celery_init_app
from tests.fixtures.publishing import (
    EDITORS,
    ago,
    ahead,
    channel_state,
    editor_notices,
    publishing_settings,
)
from tests.fixtures.templates import shown


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture
def publish_tasks(app, session, platform):
    """This app's publishing task bodies by name, as the worker looks them up."""
    platform.reset_publishing()
    celery = celery_init_app(app)
    yield SimpleNamespace(
        **{
            name: celery.tasks[f"tasks.publish.{name}"]
            for name in ("publish_due", "publish_story", "poll_wechat", "weekly_reminder")
        }
    )
    platform.reset_publishing()


def reminders(platform) -> list[dict]:
    return [m for m in editor_notices(platform) if shown(m)["渠道"] == "排期"]


def test_beat_runs_publish_due_every_minute_and_the_reminder_on_monday_morning():
    by_task = {entry["task"]: entry["schedule"] for entry in BEAT_SCHEDULE.values()}

    assert by_task["tasks.publish.publish_due"] == 60.0
    assert by_task["tasks.publish.weekly_reminder"] == crontab(minute=0, hour=9, day_of_week="mon")


def test_publish_due_publishes_a_due_story_and_counts_its_channels(
    publish_tasks, session, platform, make_story
):
    make_story("jiudu", publish_at=ago(minutes=5))
    make_story("later", publish_at=ahead(days=3))

    assert publish_tasks.publish_due() == 2
    assert publish_tasks.publish_due() == 0

    assert len(platform.drafts) == len(platform.publishes) == 1
    assert channel_state(session, "jiudu").state == "published"


def test_publish_story_retries_a_transient_failure_then_finishes_with_one_draft(
    publish_tasks, session, platform, make_story
):
    make_story("later", publish_at=ahead(days=3))  # publishing by hand ignores the date
    platform.inject("cgi-bin/freepublish/submit", 45011)

    with pytest.raises(PublishError) as raised:
        publish_tasks.publish_story("later", "wechat")
    assert raised.value.transient
    assert publish_tasks.publish_story("later", "wechat") == ["wechat:published"]

    assert len(platform.drafts) == len(platform.publishes) == 1


def test_poll_wechat_looks_again_while_wechat_is_publishing(
    publish_tasks, session, platform, make_story
):
    make_story("jiudu", publish_at=ago(minutes=5))
    platform.publish_pending_polls = 2
    publish_tasks.publish_due()

    with pytest.raises(Retry):
        publish_tasks.poll_wechat("jiudu")
    assert publish_tasks.poll_wechat("jiudu") == "published"
    assert channel_state(session, "jiudu").article_url.startswith("https://mp.weixin.qq.com/s/")


def test_weekly_reminder_tells_editors_once_when_the_week_is_empty(
    publish_tasks, platform, make_story
):
    make_story("old", publish_at=ago(days=3))
    make_story("far", publish_at=ahead(days=10))

    assert publish_tasks.weekly_reminder() is True
    assert publish_tasks.weekly_reminder() is False

    told = reminders(platform)
    assert sorted(m["touser"] for m in told) == sorted(EDITORS)
    assert shown(told[0])["原因"].startswith("未来 7 天")


def test_weekly_reminder_is_quiet_when_a_story_is_queued(publish_tasks, platform, make_story):
    make_story("soon", publish_at=ahead(days=3))

    assert publish_tasks.weekly_reminder() is False
    assert reminders(platform) == []


def test_a_story_with_an_impossible_date_holds_back_no_other_and_editors_hear_of_it(
    publish_tasks, session, platform, make_story
):
    make_story("jiudu", publish_at=ago(minutes=5))
    bad = make_story("typo", publish_at=ago(minutes=5))
    index = bad / "index.md"
    lines = index.read_text(encoding="utf-8").splitlines(keepends=True)
    index.write_text(
        "".join("publish_at: 2026-02-30\n" if x.startswith("publish_at:") else x for x in lines),
        encoding="utf-8",
    )

    assert publish_tasks.publish_due() == 2  # jiudu's two channels

    assert channel_state(session, "jiudu").state == "published"
    told = editor_notices(platform)
    assert sorted(m["touser"] for m in told) == sorted(EDITORS)
    # A field shows 20 characters: the notice names the story and the field at fault,
    # and `veteranbot queue` / `content check` give the whole reason.
    shown = [field["value"] for field in told[0]["data"].values()]
    assert "typo" in shown
    assert any(value.startswith("publish_at: “2026-0") for value in shown), shown
