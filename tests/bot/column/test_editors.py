"""Editors' notices through the outbox: each editor told once per notice, whatever fails."""

from __future__ import annotations

from datetime import timedelta

import pytest
import redis
from flask import current_app
from sqlalchemy import select

from bot import clock
from bot.column import editors
from bot.column.settings import ColumnSettings
from bot.models import OutboxMessage
from bot.wechat import outbox
from bot.wechat.client import client
from tests.fixtures.publishing import EDITORS, ahead, editor_notices, publishing_settings

TEMPLATE_SEND = "cgi-bin/message/template/send"


@pytest.fixture
def app_settings(app_settings, tmp_path):
    return {**app_settings, **publishing_settings(tmp_path)}


@pytest.fixture
def settings(app, session) -> ColumnSettings:
    return ColumnSettings.from_config(current_app.config)


def told(platform) -> dict[str, int]:
    counts: dict[str, int] = {}
    for m in editor_notices(platform):
        counts[m["touser"]] = counts.get(m["touser"], 0) + 1
    return counts


def test_a_notice_reaches_each_editor_once_even_when_reported_twice(session, platform, settings):
    failure = ("海拔两千八百米的服务站", "微信", "接口调用已达今日上限（45009）", "jiudu")

    assert editors.tell_editors(session, client(), settings, *failure) == len(EDITORS)
    assert editors.tell_editors(session, client(), settings, *failure) == 0  # a rerun that day

    assert told(platform) == dict.fromkeys(EDITORS, 1)
    keys = session.scalars(select(OutboxMessage.key)).all()
    assert all(k.startswith(f"editor:{clock.today()}:") for k in keys) and len(keys) == 2


def test_a_different_failure_is_a_different_notice(session, platform, settings):
    editors.tell_editors(session, client(), settings, "稿件甲", "微信", "原因一", "a")
    editors.tell_editors(session, client(), settings, "稿件甲", "网站", "原因二", "a")

    assert told(platform) == dict.fromkeys(EDITORS, 2)


def test_one_editor_s_transient_failure_does_not_silence_the_other(session, platform, settings):
    platform.inject(TEMPLATE_SEND, -1)

    assert editors.tell_editors(session, client(), settings, "稿件", "微信", "原因", "x") == 1
    later = clock.utcnow() + timedelta(seconds=3)
    assert outbox.deliver(session, client(), now=later).sent == 1  # the sweep

    assert told(platform) == dict.fromkeys(EDITORS, 1)


def test_the_weekly_reminder_is_once_a_week_even_when_redis_forgets(
    app, session, platform, settings, make_story
):
    make_story("far", publish_at=ahead(days=10))

    assert editors.weekly_reminder(session, client(), settings) is True
    with redis.Redis.from_url(app.config["REDIS_URL"]) as r:
        r.flushdb()  # no marker lives there now
    assert editors.weekly_reminder(session, client(), settings) is False

    assert told(platform) == dict.fromkeys(EDITORS, 1)
    week = clock.now().astimezone(clock.SHANGHAI).strftime("%G-W%V")
    keys = sorted(session.scalars(select(OutboxMessage.key)))
    assert keys == sorted(f"editor:week:{week}:{openid}" for openid in EDITORS)


def test_without_editors_nothing_is_written(app, session, platform, settings):
    unset = ColumnSettings.from_config({**current_app.config, "EDITOR_OPENIDS": ""})

    assert editors.tell_editors(session, client(), unset, "稿件", "微信", "原因") == 0
    assert session.scalars(select(OutboxMessage)).all() == [] and platform.outbox == []
