"""The sandbox chat page: its JSON endpoint plays WeChat against the real /wechat."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.models import Follower
from bot.wechat.custom_menu import click_keys, layout
from tests.conftest import AES_KEY

STAFF = "sandbox-staff-jiudu"


@pytest.fixture
def app_settings(app_settings):
    """SANDBOX mode: no real AppID/secret (the emulator stays the API host)."""
    return {**app_settings, "WECHAT_APP_ID": "", "WECHAT_APP_SECRET": ""}


def say(client, **payload):
    """Post one chat-page request; return the HTTP response."""
    return client.post("/sandbox/send", json={"openid": "sandbox-veteran-1", **payload})


def test_page_renders_in_chinese_with_its_assets(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for words in (
        "模拟语音",
        "登记",
        "求助",
        "找服务站",
        "取消关注",
        STAFF,
        "veteranbot staff add",
    ):
        assert words in html
    for asset in ("chat.js", "chat.css"):
        with client.get(f"/sandbox/static/{asset}") as response:
            assert response.status_code == 200


def test_the_browsers_favicon_request_gets_an_icon(client):
    with client.get("/favicon.ico") as response:
        assert response.status_code == 200
        icon = Image.open(io.BytesIO(response.get_data()))
    assert icon.format == "ICO"


def test_text_gets_the_bots_reply(client, wechat):
    answer = say(client, type="text", content="今天天气怎么样")
    assert answer.status_code == 200
    reply = answer.get_json()["reply"]
    assert reply["type"] == "text"
    # The same words straight through the webhook get the same menu.
    assert reply["content"] == wechat.send_text("o-direct", "今天天气怎么样")


def test_voice_is_understood_through_its_recognition(client):
    typed = say(client, type="text", content="菜单").get_json()["reply"]["content"]
    spoken = say(client, type="voice", recognition="菜单。").get_json()["reply"]["content"]
    assert spoken == typed


def test_voice_without_recognition_shows_the_call_back_path(client, platform):
    reply = say(client, type="voice", recognition="").get_json()["reply"]["content"]

    assert reply.strip().endswith("需要服务站给您回电话吗？回复 1")
    # The recording is one the emulator issued, so the bot can download it.
    assert len(platform.media) == 1


def test_menu_click_reaches_the_same_dialog_as_the_word(client, wechat):
    clicked = say(client, type="click", key="REGISTER").get_json()["reply"]["content"]
    assert clicked == wechat.send_text("o-direct", "登记")


@pytest.mark.parametrize("key", sorted(click_keys(layout("http://127.0.0.1/column"))))
def test_every_menu_button_gets_an_answer(client, key):
    answer = say(client, type="click", key=key)
    assert answer.status_code == 200
    assert answer.get_json()["reply"]["content"]


def test_location_gets_an_answer(client):
    answer = say(client, type="location", lat="27.6420", lon="102.9050", label="九都镇")
    assert answer.status_code == 200
    assert answer.get_json()["reply"]["content"]


def test_follow_and_unfollow(client, session):
    welcome = say(client, type="subscribe").get_json()["reply"]["content"]
    assert "欢迎" in welcome
    assert say(client, type="unsubscribe").get_json() == {"reply": None}
    session.expire_all()
    assert session.get(Follower, "sandbox-veteran-1").subscribed is False


@pytest.mark.parametrize(
    "payload",
    [
        {"type": "text", "content": "你好", "openid": None},
        {"type": "text", "content": "你好", "openid": "has space"},
        {"type": "text", "content": "你好", "openid": "x" * 65},
        {"type": "text"},
        {"type": "text", "content": "   "},
        {"type": "text", "content": 42},
        {"type": "voice"},
        {"type": "location", "lat": "abc", "lon": "102.8"},
        {"type": "location", "lat": "97", "lon": "102.8"},
        {"type": "location", "lat": "27.7"},
        {"type": "location", "lat": True, "lon": "102.8"},
        {"type": "click", "key": "DELETE_ALL"},
        {"type": "image"},
        {},
    ],
)
def test_bad_fields_are_refused(client, payload):
    payload.setdefault("openid", "sandbox-veteran-1")
    answer = client.post("/sandbox/send", json=payload)
    assert answer.status_code == 400
    assert answer.get_json()["error"]


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b""])
def test_a_body_that_is_not_a_json_object_is_refused(client, body):
    answer = client.post("/sandbox/send", data=body, content_type="application/json")
    assert answer.status_code == 400


def test_pushed_messages_come_through_the_proxy(client, platform):
    with platform.lock:
        first = platform.deliver(
            "template",
            STAFF,
            template_id="sandbox-help",
            data={"keyword1": {"value": "QZ-0001"}, "keyword2": {"value": "就业创业"}},
        )
        platform.deliver("text", "someone-else", content="不是给你的")
    answer = client.get(f"/sandbox/messages/{STAFF}")
    assert answer.status_code == 200
    (message,) = answer.get_json()["messages"]
    assert message["template_id"] == "sandbox-help"
    assert message["data"]["keyword1"]["value"] == "QZ-0001"
    later = client.get(f"/sandbox/messages/{STAFF}", query_string={"since": first["msgid"]})
    assert later.get_json() == {"messages": []}


@pytest.mark.parametrize("query", ["/sandbox/messages/bad%20id", "/sandbox/messages/ok?since=-1"])
def test_proxy_refuses_bad_arguments(client, query):
    assert client.get(query).status_code == 400


def test_proxy_reports_an_emulator_that_is_down(make_app):
    # Port 9 (discard) on loopback is closed: the connection is refused at once.
    down = make_app(WECHAT_API_BASE_URL="http://127.0.0.1:9").test_client()
    answer = down.get(f"/sandbox/messages/{STAFF}")
    assert answer.status_code == 502


def test_safe_mode_messages_are_sealed_and_opened(make_app):
    safe = make_app(WECHAT_ENCODING_AES_KEY=AES_KEY).test_client()
    answer = say(safe, type="text", content="今天天气怎么样")
    assert answer.status_code == 200
    assert "登记" in answer.get_json()["reply"]["content"]


def test_no_chat_page_with_a_real_account(make_app):
    real = make_app(WECHAT_APP_ID="wxreal0000000001", WECHAT_APP_SECRET="real-secret")
    assert real.test_client().get("/").status_code == 404
    assert real.test_client().post("/sandbox/send", json={}).status_code == 404
