"""media/get against the emulator: the audio of ids WeChat issued, 40007 for any other."""

from __future__ import annotations

import pytest

from bot.sandbox import media
from bot.wechat.client import client
from bot.wechat.errors import WeChatError


def test_an_issued_voice_comes_back_as_audio(app, platform):
    recording = media.sample_voice(seconds=1)
    media_id = media.issue(platform, recording)

    with app.app_context():
        data, kind = client().download_media(media_id)

    assert (data, kind) == (recording, "audio/amr")


@pytest.mark.parametrize("case", ["never issued", "past 3 days"])
def test_an_unknown_or_expired_id_is_refused_with_40007(app, platform, case):
    media_id = "made-up-id"
    if case == "past 3 days":
        media_id = media.issue(platform)
        platform.media[media_id]["at"] -= media.TEMPORARY_SECONDS + 1

    with app.app_context(), pytest.raises(WeChatError) as refused:
        client().download_media(media_id)

    assert refused.value.errcode == 40007 and not refused.value.transient


def test_a_refused_token_is_refreshed_once(app, platform):
    media_id = media.issue(platform)
    with app.app_context():
        client().access_token()
        platform.expire_tokens()

        data, _kind = client().download_media(media_id)

    assert data == media.sample_voice()
