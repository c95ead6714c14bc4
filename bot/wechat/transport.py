"""The webhook's edge: signatures, AES (safe/compatible mode), parsing, reply sealing.

Every failure here is the caller's fault and maps to 400 or 403; nothing in
this module touches the database or Redis.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

import xmltodict
from wechatpy import parse_message
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.messages import BaseMessage

REQUIRED_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType")


class Refused(Exception):
    """The request is refused with `status` (400 or 403) and a short reason."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Account:
    """What the webhook needs to know of the account to verify and seal messages."""

    token: str
    app_id: str
    aes_key: str = ""


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts joined together."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def verify(account: Account, args) -> None:
    """Check the query's `signature`; raise Refused(403) when it does not match."""
    expected = sign(account.token, args.get("timestamp", ""), args.get("nonce", ""))
    if not hmac.compare_digest(expected, args.get("signature", "")):
        raise Refused(403, "bad signature")


def _refuse_dtd(raw: bytes) -> None:
    # Refuse any DTD outright: WeChat never sends one, and it is where XXE and
    # entity bombs live. xmltodict >= 1.0 also refuses entity declarations.
    upper = raw.upper()
    if b"<!DOCTYPE" in upper or b"<!ENTITY" in upper:
        raise Refused(400, "DTD not allowed")


def _parse_message(raw: bytes) -> BaseMessage:
    _refuse_dtd(raw)
    try:
        # One parse: wechatpy's parser goes through xmltodict itself.
        message = parse_message(raw.decode())
        fields = message._data
    except Exception as exc:  # expat, xmltodict and wechatpy raise several types
        raise Refused(400, "not a WeChat message") from exc
    missing = [f for f in REQUIRED_FIELDS if not isinstance(fields.get(f), str)]
    if missing:
        raise Refused(400, "missing " + ",".join(missing))
    return message


def _open_envelope(account: Account, args, body: bytes) -> bytes:
    """The decrypted inner XML of a safe-mode body, after checking msg_signature."""
    if not account.aes_key:
        raise Refused(400, "encrypted message but no AES key configured")
    _refuse_dtd(body)
    try:
        cipher_text = xmltodict.parse(body)["xml"]["Encrypt"]
    except Exception as exc:  # not XML, or no <xml><Encrypt>
        raise Refused(400, "missing Encrypt") from exc
    if not isinstance(cipher_text, str):
        raise Refused(400, "missing Encrypt")
    expected = sign(account.token, args.get("timestamp", ""), args.get("nonce", ""), cipher_text)
    if not hmac.compare_digest(expected, args.get("msg_signature", "")):
        raise Refused(403, "bad msg_signature")
    key = base64.b64decode(account.aes_key + "=")
    try:
        return PrpCrypto(key).decrypt(cipher_text, account.app_id).encode()
    except InvalidAppIdException as exc:
        raise Refused(403, "wrong AppID") from exc
    except Exception as exc:  # bad base64, padding or length all mean a bad body
        raise Refused(400, "cannot decrypt") from exc


def open_message(account: Account, args, body: bytes) -> tuple[BaseMessage, bool]:
    """Verify, decrypt when encrypted, and parse a POSTed message.

    Returns the message and whether the reply must be encrypted.
    """
    verify(account, args)
    encrypted = args.get("encrypt_type") == "aes"
    if encrypted:
        body = _open_envelope(account, args, body)
    return _parse_message(body), encrypted


def seal(account: Account, xml: str, nonce: str | None = None) -> str:
    """Encrypt a rendered reply for safe mode."""
    crypto = WeChatCrypto(account.token, account.aes_key, account.app_id)
    return crypto.encrypt_message(xml, nonce or secrets.token_hex(8), str(int(time.time())))
