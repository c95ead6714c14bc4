"""The webhook's transport rules, played the way WeChat plays them."""

from __future__ import annotations

from bot.wechat.transport import sign
from tests.conftest import TOKEN


def test_handshake_echoes_when_signed(client):
    args = {"timestamp": "1700000000", "nonce": "abc", "echostr": "hello-4242"}
    args["signature"] = sign(TOKEN, args["timestamp"], args["nonce"])
    response = client.get("/wechat", query_string=args)
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "hello-4242"


def test_handshake_with_bad_signature_is_forbidden(client):
    args = {"timestamp": "1700000000", "nonce": "abc", "echostr": "x", "signature": "0" * 40}
    assert client.get("/wechat", query_string=args).status_code == 403


def test_unmatched_text_gets_the_menu_never_silence(wechat):
    reply = wechat.send_text("o-newcomer", "今天天气怎么样")
    assert "登记" in reply and "求助" in reply and "联系服务站" in reply
