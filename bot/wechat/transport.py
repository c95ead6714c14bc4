"""The webhook's edge: signatures, AES (safe/compatible mode), parsing, replies, sealing.

Every failure here is the caller's fault and maps to 400 or 403; nothing in
this module touches the database or Redis. The body is parsed once, by the C
parser, into a Message; wechatpy's message classes are not used, so nothing
anywhere reads their private fields.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException

REQUIRED_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")
# Fields WeChat always sends as one plain value; a repeated or nested one is forged.
PLAIN_FIELDS = (
    *REQUIRED_FIELDS,
    "MsgId",
    "Content",
    "Recognition",
    "MediaId",
    "Format",
    "Event",
    "EventKey",
    "Location_X",
    "Location_Y",
    "Scale",
    "Label",
    "Latitude",
    "Longitude",
    "Precision",
)
# Coordinates a location carries: (message type or event, latitude field, longitude field).
COORDINATES = {
    "location": ("Location_X", "Location_Y"),
    "event:location": ("Latitude", "Longitude"),
}
# MsgId is a 64-bit unsigned number: at most 20 digits.
MSG_ID_DIGITS = 20
# Events WeChat has been seen to post with an empty (but present) ToUserName; for
# every other message an empty one is still refused (docs/wechat.md, the webhook).
BLANK_ACCOUNT_EVENTS = frozenset({"masssendjobfinish"})


class Refused(Exception):
    """The request is refused with `status` (400 or 403) and a short reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, eq=False)
class Message:
    """One message or event as WeChat posted it: its fields, parsed once.

    A field holds its text (None when empty), or a dict of its child fields
    (PublishEventInfo), or a list when the tag repeats; the shape xmltodict gives.
    """

    fields: Mapping[str, Any]

    @property
    def type(self) -> str:
        """MsgType in lower case: text, voice, location, event, image …"""
        return self.fields["MsgType"].lower()

    @property
    def source(self) -> str:
        """The sender's openid (FromUserName)."""
        return self.fields["FromUserName"]

    @property
    def target(self) -> str:
        """The account's own id (ToUserName); empty only on BLANK_ACCOUNT_EVENTS."""
        return self.fields["ToUserName"] or ""

    def text(self, name: str) -> str:
        """A plain field's text; empty when it is missing, empty or not plain text."""
        value = self.fields.get(name)
        return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Account:
    """What the webhook needs to know of the account to verify and seal messages."""

    token: str
    app_id: str
    aes_key: str = ""
    # How far a request's timestamp may lie from our clock. In plaintext mode
    # the signature covers only token, timestamp and nonce, not the body: a
    # signed URL that leaked (a log, a proxy) would otherwise post anything,
    # as anyone, forever.
    max_skew: int = 300


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts joined together."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify(account: Account, args) -> None:
    """Check the query's `signature` and timestamp; raise Refused(403) when either fails."""
    expected = sign(account.token, args.get("timestamp", ""), args.get("nonce", ""))
    if not _same(expected, args.get("signature", "")):
        raise Refused(403, "bad signature")
    timestamp = args.get("timestamp", "")
    # isdigit() alone accepts "²" and other Unicode digits int() refuses or misreads.
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused(403, "bad timestamp")
    if abs(int(timestamp) - time.time()) > account.max_skew:
        raise Refused(403, "stale timestamp")


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison that refuses, rather than raises on, a non-ASCII value."""
    # compare_digest raises TypeError on a str holding non-ASCII characters.
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


def _refuse_dtd(raw: bytes) -> None:
    # Refuse any DTD outright: WeChat never sends one, and it is where XXE and
    # entity bombs live. xmltodict >= 1.0 also refuses entity declarations.
    upper = raw.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise Refused(400, "DTD not allowed")


def _parse_message(raw: bytes) -> Message:
    root = _parse_xml(raw)
    fields = _value(root) if root.tag == "xml" else None
    if not isinstance(fields, dict):
        raise Refused(400, "not a WeChat message")
    missing = [f for f in REQUIRED_FIELDS if not isinstance(fields.get(f), str)]
    if missing == ["ToUserName"] and _may_be_unaddressed(fields):
        missing = []
    if missing:
        raise Refused(400, "missing " + ",".join(missing))
    _check_fields(fields)
    return Message(fields)


def _may_be_unaddressed(fields: Mapping[str, Any]) -> bool:
    """An event of BLANK_ACCOUNT_EVENTS whose ToUserName is there but empty."""
    event = fields.get("Event")
    return (
        "ToUserName" in fields
        and fields["ToUserName"] is None
        and isinstance(fields.get("MsgType"), str)
        and fields["MsgType"].lower() == "event"
        and isinstance(event, str)
        and event.lower() in BLANK_ACCOUNT_EVENTS
    )


def _check_fields(fields: Mapping[str, Any]) -> None:
    """Refuse (400) the fields WeChat never sends malformed, before anything acts on them."""
    malformed = [f for f in PLAIN_FIELDS if not isinstance(fields.get(f), str | None)]
    if malformed:
        raise Refused(400, "malformed " + ",".join(malformed))
    if not _digits(fields["CreateTime"], 12):
        raise Refused(400, "malformed CreateTime")
    is_event = fields["MsgType"].lower() == "event"
    # Deduplication keys a message on its sender and MsgId: without one, a
    # retry could not be told from a new message.
    if not is_event and not _digits(fields.get("MsgId"), MSG_ID_DIGITS):
        raise Refused(400, "missing or malformed MsgId")
    kind = "event:" + (fields.get("Event") or "").lower() if is_event else fields["MsgType"].lower()
    if kind in COORDINATES:
        lat, lon = (_number(fields.get(f)) for f in COORDINATES[kind])
        if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
            raise Refused(400, "malformed coordinates")


def _digits(value: str | None, most: int) -> bool:
    return bool(value) and value.isascii() and value.isdigit() and len(value) <= most


def _number(value: str | None) -> float | None:
    """A finite decimal number, or None (float() also reads "inf", "nan" and "1_0")."""
    if not value or not value.isascii() or "_" in value:
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _parse_xml(raw: bytes) -> ElementTree.Element:
    _refuse_dtd(raw)
    try:
        # Decoded first: WeChat posts UTF-8, and a body in any other encoding
        # could hide a DTD from the check above.
        return ElementTree.fromstring(raw.decode())
    except (UnicodeDecodeError, ElementTree.ParseError) as exc:
        raise Refused(400, "not a WeChat message") from exc


def _value(node: ElementTree.Element) -> str | dict | None:
    """A node as xmltodict would give it: stripped text or None, or a dict of its children."""
    if len(node) == 0:
        return (node.text or "").strip() or None
    fields: dict[str, Any] = {}
    for child in node:
        value = _value(child)
        if child.tag not in fields:
            fields[child.tag] = value
        elif isinstance(fields[child.tag], list):
            fields[child.tag].append(value)
        else:
            fields[child.tag] = [fields[child.tag], value]
    return fields


def _open_envelope(account: Account, args, body: bytes) -> bytes:
    """The decrypted inner XML of a safe-mode body, after checking msg_signature."""
    if not account.aes_key:
        raise Refused(400, "encrypted message but no AES key configured")
    root = _parse_xml(body)
    cipher_text = (root.findtext("Encrypt") or "").strip() if root.tag == "xml" else ""
    if not cipher_text:
        raise Refused(400, "missing Encrypt")
    expected = sign(account.token, args.get("timestamp", ""), args.get("nonce", ""), cipher_text)
    if not _same(expected, args.get("msg_signature", "")):
        raise Refused(403, "bad msg_signature")
    key = base64.b64decode(account.aes_key + "=")
    try:
        return PrpCrypto(key).decrypt(cipher_text, account.app_id).encode()
    except InvalidAppIdException as exc:
        raise Refused(403, "wrong AppID") from exc
    except Exception as exc:  # bad base64, padding or length all mean a bad body
        raise Refused(400, "cannot decrypt") from exc


def open_message(account: Account, args, body: bytes) -> tuple[Message, bool]:
    """Verify, decrypt when encrypted, and parse a POSTed message.

    Returns the message and whether the reply must be encrypted.
    """
    verify(account, args)
    encrypted = args.get("encrypt_type") == "aes"
    if encrypted:
        body = _open_envelope(account, args, body)
    return _parse_message(body), encrypted


def text_reply(message: Message, content: str) -> str:
    """The passive text reply to a message, as WeChat expects it."""
    return (
        f"<xml><ToUserName>{_cdata(message.source)}</ToUserName>"
        f"<FromUserName>{_cdata(message.target)}</FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime>"
        f"<MsgType><![CDATA[text]]></MsgType><Content>{_cdata(content)}</Content></xml>"
    )


def _cdata(text: str) -> str:
    # "]]>" would end the section early (wechatpy's renderer lets it through):
    # split it across two sections instead.
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def seal(account: Account, xml: str, nonce: str | None = None) -> str:
    """Encrypt a rendered reply for safe mode."""
    crypto = WeChatCrypto(account.token, account.aes_key, account.app_id)
    return crypto.encrypt_message(xml, nonce or secrets.token_hex(8), str(int(time.time())))
