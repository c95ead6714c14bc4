"""The emulator keeps the customer-service window: 48 h after the follower wrote, 5 messages."""

from __future__ import annotations

import time

import pytest

from bot.wechat.client import client
from bot.wechat.errors import WeChatError


def errcode(call) -> int:
    with pytest.raises(WeChatError) as caught:
        call()
    return caught.value.errcode


def test_custom_messages_need_a_recent_message_from_the_follower(app, platform):
    with app.app_context():
        wechat = client()
        assert errcode(lambda: wechat.send_text("o-quiet", "您好")) == 45015
        platform.heard_from("o-old", at=time.time() - 49 * 3600)
        assert errcode(lambda: wechat.send_text("o-old", "您好")) == 45015

        platform.heard_from("o-chatty")
        for _ in range(5):
            wechat.send_text("o-chatty", "您好")
        assert errcode(lambda: wechat.send_text("o-chatty", "第六条")) == 45047
        platform.heard_from("o-chatty")  # writing again opens the window afresh
        wechat.send_text("o-chatty", "您好")
    assert len(platform.messages_to("o-chatty")) == 6
