"""Safe (AES) and compatible modes, with the keys WeChat would use."""

from __future__ import annotations

import os
import socket

import xmltodict
from click.testing import CliRunner

from bot import db
from bot.commands.run import run
from bot.models import Follower
from bot.wechat.transport import sign
from tests.conftest import AES_KEY, APP_ID, TOKEN
from tests.fixtures.templates import template_settings


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


def run_with_a_real_account(tmp_path, **settings):
    """`veteranbot run` with a real account, stopped early: its port is taken."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        os.environ.update(
            INSTANCE_DIR=str(tmp_path / "instance"),
            WECHAT_APP_ID=APP_ID,
            WECHAT_APP_SECRET="real-secret",
            WECHAT_TOKEN=TOKEN,
            PORT=str(taken.getsockname()[1]),
            **{**template_settings(), **settings},
        )
        return CliRunner().invoke(run, [])


def test_run_warns_when_a_real_account_runs_in_plaintext(tmp_path):
    result = run_with_a_real_account(tmp_path)
    assert result.exit_code != 0 and "is not free" in result.output
    assert "WECHAT_ENCODING_AES_KEY is not set" in result.output and "安全模式" in result.output


def test_run_does_not_warn_in_safe_mode(tmp_path):
    result = run_with_a_real_account(tmp_path, WECHAT_ENCODING_AES_KEY=AES_KEY)
    assert "is not free" in result.output
    assert "WECHAT_ENCODING_AES_KEY is not set" not in result.output
