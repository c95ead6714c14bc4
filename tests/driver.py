"""A test driver that plays the WeChat platform against our /wechat webhook over HTTP."""

from __future__ import annotations

import itertools
import secrets
import time

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.wechat.transport import sign

_msg_ids = itertools.count(int(time.time() * 1000))


class WeChatDriver:
    """Signs, optionally encrypts, and posts messages the way WeChat does."""

    def __init__(self, client, token: str, appid: str, aes_key: str = "", account="gh_test"):
        self.client = client
        self.token = token
        self.appid = appid
        self.aes_key = aes_key
        self.account = account

    # -- building ------------------------------------------------------------
    def xml(self, openid: str, msg_type: str, create_time: int | None = None, **fields) -> str:
        """The XML WeChat would post for one message or event."""
        body = {
            "ToUserName": self.account,
            "FromUserName": openid,
            "CreateTime": str(create_time or int(time.time())),
            "MsgType": msg_type,
        }
        body.update({k: str(v) for k, v in fields.items()})
        if msg_type != "event" and "MsgId" not in body:
            body["MsgId"] = str(next(_msg_ids))
        return xmltodict.unparse({"xml": body}, full_document=False)

    def query(self, body: str | None = None, timestamp: str | None = None) -> dict:
        """Signed query-string parameters (with msg_signature in safe mode)."""
        ts, nonce = timestamp or str(int(time.time())), secrets.token_hex(5)
        args = {
            "timestamp": ts,
            "nonce": nonce,
            "signature": sign(self.token, ts, nonce),
            "openid": "ignored",
        }
        if self.aes_key and body is not None:
            args["encrypt_type"] = "aes"
        return args

    # -- sending -------------------------------------------------------------
    def post(self, xml: str, args: dict | None = None, msg_signature: str | None = None):
        """Post raw XML (sealed in safe mode) and return the HTTP response.

        msg_signature, when given, replaces the correct one (to play a forger).
        """
        args = dict(args or self.query(xml))
        body = xml
        if args.get("encrypt_type") == "aes":
            crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
            sealed = xmltodict.parse(crypto.encrypt_message(xml, args["nonce"], args["timestamp"]))
            encrypt = sealed["xml"]["Encrypt"]
            args["msg_signature"] = msg_signature or sign(
                self.token, args["timestamp"], args["nonce"], encrypt
            )
            body = xmltodict.unparse({"xml": {"ToUserName": self.account, "Encrypt": encrypt}})
        return self.client.post(
            "/wechat", query_string=args, data=body.encode(), content_type="text/xml"
        )

    def reply(self, response) -> dict | None:
        """Decode a response: the reply's fields, or None for 'success' / empty."""
        assert response.status_code == 200, response.data
        text = response.get_data(as_text=True)
        if text in ("", "success"):
            return None
        fields = xmltodict.parse(text)["xml"]
        if "Encrypt" in fields:
            crypto = WeChatCrypto(self.token, self.aes_key, self.appid)
            plain = crypto.decrypt_message(
                text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
            )
            fields = xmltodict.parse(plain)["xml"]
        return fields

    def send(self, openid: str, msg_type: str, **fields) -> str | None:
        """Send one message; return the reply's text content (None when silent)."""
        fields = self.reply(self.post(self.xml(openid, msg_type, **fields)))
        return None if fields is None else fields.get("Content")

    def send_text(self, openid: str, text: str) -> str | None:
        """Type a text message."""
        return self.send(openid, "text", Content=text)

    def send_voice(self, openid: str, recognition: str) -> str | None:
        """Speak a voice message that WeChat recognised as `recognition`."""
        return self.send(
            openid, "voice", MediaId="media-voice", Format="amr", Recognition=recognition
        )

    def send_location(self, openid: str, lat: float, lon: float, label: str = "") -> str | None:
        """Share a location from the chat."""
        return self.send(openid, "location", Location_X=lat, Location_Y=lon, Scale=15, Label=label)

    def send_event(self, openid: str, event: str, **fields) -> str | None:
        """Send an event (subscribe, CLICK, LOCATION...)."""
        return self.send(openid, "event", Event=event, **fields)

    def click(self, openid: str, key: str) -> str | None:
        """Tap a custom-menu button of type click."""
        return self.send_event(openid, "CLICK", EventKey=key)

    def converse(self, openid: str, *texts: str) -> list[str | None]:
        """Send several texts in a row; return every reply."""
        return [self.send_text(openid, t) for t in texts]
