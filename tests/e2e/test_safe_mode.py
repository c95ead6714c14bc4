"""Safe (AES) and compatible modes, with the keys WeChat would use."""

from __future__ import annotations

import xmltodict

from bot import db
from bot.models import Follower
from bot.wechat.transport import sign
from tests.conftest import TOKEN


def test_encrypted_message_gets_an_encrypted_reply(safe_wechat):
    response = safe_wechat.post(safe_wechat.xml("o-safe", "text", Content="菜单"))
    sealed = xmltodict.parse(response.get_data(as_text=True))["xml"]
    assert "Encrypt" in sealed and "Content" not in sealed
    fields = safe_wechat.reply(response)
    assert fields["ToUserName"] == "o-safe" and "登记" in fields["Content"]


def test_bad_msg_signature_is_forbidden_and_changes_nothing(safe_wechat, app):
    xml = safe_wechat.xml("o-forged", "event", Event="subscribe")
    response = safe_wechat.post(xml, msg_signature="0" * 40)
    assert response.status_code == 403
    with app.app_context():
        assert db.session().get(Follower, "o-forged") is None


def test_ciphertext_that_is_not_ours_is_refused(safe_wechat):
    args = safe_wechat.query("x")
    garbage = "bm90IGEgY2lwaGVydGV4dA=="
    args["msg_signature"] = sign(TOKEN, args["timestamp"], args["nonce"], garbage)
    response = safe_wechat.client.post(
        "/wechat", query_string=args, data=f"<xml><Encrypt>{garbage}</Encrypt></xml>".encode()
    )
    assert response.status_code == 400


def test_compatible_mode_still_answers_plaintext(safe_wechat):
    plain = safe_wechat.xml("o-compat", "text", Content="菜单")
    args = safe_wechat.query(None)  # no encrypt_type: WeChat sent the plaintext form
    response = safe_wechat.post(plain, args)
    assert "登记" in xmltodict.parse(response.get_data(as_text=True))["xml"]["Content"]
