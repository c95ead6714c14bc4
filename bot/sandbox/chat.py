"""The sandbox chat page: talk to the bot as a veteran would, without a WeChat account.

The page posts JSON here; this blueprint plays WeChat's part, building the XML,
signing it (and sealing it in safe mode) with the account's token and posting
it to the app's own /wechat through the same code path WeChat's calls take.
Pushed messages (template and customer-service) are read back from the API
emulator. Registered only in SANDBOX mode.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import time

import requests
import xmltodict
from flask import Blueprint, current_app, jsonify, render_template, request
from wechatpy.crypto import WeChatCrypto

from bot.wechat.custom_menu import click_keys, layout
from bot.wechat.transport import sign

bp = Blueprint("sandbox_chat", __name__, static_folder="static", static_url_path="/sandbox/static")

ACCOUNT = "gh_sandbox"  # the official account's original id, as WeChat names it
OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_TEXT = 2000
# Identities the page offers; the staff one is bound with `veteranbot staff add`.
STAFF_OPENID = "sandbox-staff-jiudu"
STAFF_STATION = "513429-107"  # 九都镇 in content/stations/butuo-sample.csv
# Places near the sample stations, for the location buttons: (label, lat, lon).
PLACES = [
    ("布拖县城", 27.7063, 102.8118),
    ("九都镇", 27.6420, 102.9050),
    ("好谷村", 27.6610, 102.9190),
]


class BadField(ValueError):
    """The chat request is missing a field or has a bad one; the message names it."""


@bp.get("/")
def page():
    """The chat page."""
    return render_template(
        "sandbox/chat.html",
        menu=_menu(),
        places=PLACES,
        staff_openid=STAFF_OPENID,
        staff_station=STAFF_STATION,
    )


def _menu() -> dict:
    # The very menu `veteranbot menu push` installs, so the sandbox shows what followers see.
    return layout(current_app.config["SITE_URL"])


@bp.post("/sandbox/send")
def send():
    """Deliver one message or event to /wechat as WeChat would; return the bot's reply."""
    body = request.get_json(silent=True)
    try:
        if not isinstance(body, dict):
            raise BadField("body: JSON object expected")
        fields = message_fields(body)
    except BadField as exc:
        return jsonify(error=str(exc)), 400
    if fields["MsgType"] != "event":
        _heard_from(fields["FromUserName"])
    if fields["MsgType"] == "voice":
        try:
            fields["MediaId"] = recorded_voice()
        except (requests.RequestException, ValueError, KeyError):
            return jsonify(error="the WeChat emulator does not answer"), 502
    response = post_to_webhook(fields)
    if response.status_code != 200:
        return jsonify(error=f"/wechat answered {response.status_code}"), 502
    return jsonify(reply=read_reply(response.get_data(as_text=True)))


@bp.get("/sandbox/messages/<openid>")
def pushed(openid: str):
    """Messages the platform delivered to `openid` (after `since`), from the emulator."""
    since = request.args.get("since", "0")
    if not OPENID.fullmatch(openid) or not since.isdigit():
        return jsonify(error="bad openid or since"), 400
    url = f"{current_app.config['WECHAT_API_BASE_URL']}/_sandbox/messages/{openid}"
    try:
        answer = requests.get(url, params={"since": since}, timeout=(1, 3))
        answer.raise_for_status()
        return jsonify(messages=answer.json()["messages"])
    except (requests.RequestException, ValueError, KeyError):
        return jsonify(error="the WeChat emulator does not answer"), 502


def _heard_from(openid: str) -> None:
    """Tell the emulator the follower wrote, as WeChat knows: their 48-hour window opens."""
    url = f"{current_app.config['WECHAT_API_BASE_URL']}/_sandbox/inbound/{openid}"
    # Unreachable, the emulator refuses customer-service messages: notices go as templates.
    with contextlib.suppress(requests.RequestException):
        requests.post(url, timeout=(1, 3))


def message_fields(body: dict) -> dict:
    """The XML fields WeChat would post for the page's request; BadField when invalid."""
    openid = body.get("openid")
    if not isinstance(openid, str) or not OPENID.fullmatch(openid):
        raise BadField("openid: 1-64 letters, digits, - or _")
    kind = body.get("type")
    head = {
        "ToUserName": ACCOUNT,
        "FromUserName": openid,
        "CreateTime": str(int(time.time())),
    }
    if kind == "text":
        return head | {"MsgType": "text", "Content": _text(body, "content"), **_msg_id()}
    if kind == "voice":
        # What WeChat's speech recognition heard; an empty string means it heard nothing.
        recognition = body.get("recognition")
        if not isinstance(recognition, str) or len(recognition) > MAX_TEXT:
            raise BadField("recognition: text expected")
        return head | {
            "MsgType": "voice",
            "MediaId": "",  # the emulator issues it (recorded_voice), as WeChat would
            "Format": "amr",
            "Recognition": recognition,
            **_msg_id(),
        }
    if kind == "location":
        lat, lon = _coordinate(body, "lat", 90), _coordinate(body, "lon", 180)
        label = body.get("label") or ""
        if not isinstance(label, str):
            raise BadField("label: text expected")
        return head | {
            "MsgType": "location",
            "Location_X": str(lat),
            "Location_Y": str(lon),
            "Scale": "15",
            "Label": label[:100],
            **_msg_id(),
        }
    if kind == "click":
        keys = click_keys(_menu())
        if body.get("key") not in keys:
            raise BadField("key: one of " + ", ".join(keys))
        return head | {"MsgType": "event", "Event": "CLICK", "EventKey": body["key"]}
    if kind in ("subscribe", "unsubscribe"):
        return head | {"MsgType": "event", "Event": kind, "EventKey": ""}
    raise BadField("type: one of text, voice, location, click, subscribe, unsubscribe")


def recorded_voice() -> str:
    """A MediaId the emulator issued for a short recording, so media/get can fetch it."""
    url = f"{current_app.config['WECHAT_API_BASE_URL']}/_sandbox/voice"
    answer = requests.post(url, timeout=(1, 3))
    answer.raise_for_status()
    return answer.json()["media_id"]


def _text(body: dict, name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise BadField(f"{name}: non-empty text of at most {MAX_TEXT} characters")
    return value


def _coordinate(body: dict, name: str, limit: int) -> float:
    value = body.get(name)
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadField(f"{name}: a number expected") from None
    if isinstance(value, bool) or not -limit <= number <= limit:
        raise BadField(f"{name}: between -{limit} and {limit}")
    return number


def _msg_id() -> dict:
    # WeChat's MsgIds are 64-bit; random ones never collide with earlier runs,
    # whose ids the dedup keys in Redis may still remember.
    return {"MsgId": str(secrets.randbits(62))}


def post_to_webhook(fields: dict):
    """Sign (and in safe mode seal) the message and post it to this app's /wechat."""
    cfg = current_app.config
    token, aes_key, appid = (
        cfg["WECHAT_TOKEN"],
        cfg["WECHAT_ENCODING_AES_KEY"],
        cfg["WECHAT_APP_ID"],
    )
    xml = xmltodict.unparse({"xml": fields}, full_document=False)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    args = {"timestamp": timestamp, "nonce": nonce, "signature": sign(token, timestamp, nonce)}
    args["openid"] = fields["FromUserName"]
    if aes_key:
        crypto = WeChatCrypto(token, aes_key, appid)
        sealed = xmltodict.parse(crypto.encrypt_message(xml, nonce, timestamp))["xml"]
        args["encrypt_type"] = "aes"
        args["msg_signature"] = sign(token, timestamp, nonce, sealed["Encrypt"])
        xml = xmltodict.unparse(
            {"xml": {"ToUserName": ACCOUNT, "Encrypt": sealed["Encrypt"]}}, full_document=False
        )
    # The test client runs the real view, signature check included, without a
    # second port to configure; WeChat itself would come in over HTTP.
    return current_app.test_client().post(
        "/wechat", query_string=args, data=xml.encode(), content_type="text/xml"
    )


def read_reply(text: str) -> dict | None:
    """The reply's fields ({"type": ..., "content": ...}), or None when the bot stays silent."""
    if text in ("", "success"):
        return None
    fields = xmltodict.parse(text)["xml"]
    if "Encrypt" in fields:
        cfg = current_app.config
        crypto = WeChatCrypto(
            cfg["WECHAT_TOKEN"], cfg["WECHAT_ENCODING_AES_KEY"], cfg["WECHAT_APP_ID"]
        )
        plain = crypto.decrypt_message(
            text, fields["MsgSignature"], fields["TimeStamp"], fields["Nonce"]
        )
        fields = xmltodict.parse(plain)["xml"]
    reply = {"type": fields.get("MsgType", "text"), "content": fields.get("Content")}
    if reply["type"] == "news":
        items = (fields.get("Articles") or {}).get("item") or []
        items = items if isinstance(items, list) else [items]
        reply["articles"] = [{k: a.get(k) for k in ("Title", "Description", "Url")} for a in items]
    return reply
