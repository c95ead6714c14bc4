"""Voice messages kept for staff: noted on arrival, downloaded once, attached to a call-back.

WeChat is withdrawing speech recognition, so a voice message may come without
words. The bot keeps it instead (a row per MediaId), downloads the audio with
media/get while WeChat still has it (3 days), and when the follower asks for a
call-back, files the recordings with that request. Staff reach them through a
signed link in their notice; the audio rests encrypted, like every personal field.
"""

from __future__ import annotations

import base64
import logging
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.crypto import FieldCipher
from bot.models import HelpRequest, VoiceMessage
from bot.wechat.client import WeChatClient
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)

# WeChat keeps temporary media 3 days; after that media/get answers 40007.
KEPT_BY_WECHAT = timedelta(days=3)
# How long a notice's link to the recordings opens them.
LINK_DAYS = 30
_SALT = "veteranbot/recordings"


def note(session: Session, openid: str, media_id: str, fmt: str) -> VoiceMessage:
    """The row of a voice message (added, no commit), or the one already noted for it."""
    found = session.scalar(select(VoiceMessage).where(VoiceMessage.media_id == media_id))
    if found is not None:
        return found
    voice = VoiceMessage(openid=openid, media_id=media_id, format=(fmt or "amr").lower()[:16])
    session.add(voice)
    session.flush()
    return voice


def keep(voice: VoiceMessage, cipher: FieldCipher, audio: bytes) -> None:
    """Store downloaded audio on its row, encrypted (no commit)."""
    voice.audio = cipher.encrypt(base64.b64encode(audio).decode())
    voice.size, voice.state, voice.reason = len(audio), "fetched", None
    voice.fetched_at = clock.utcnow()


def audio(voice: VoiceMessage, cipher: FieldCipher) -> bytes | None:
    """The recording's bytes, or None when it is not downloaded."""
    if not voice.audio:
        return None
    return base64.b64decode(cipher.decrypt(voice.audio))


def fetch(session: Session, wechat: WeChatClient, cipher: FieldCipher, voice_id: int) -> str:
    """Download one voice message's audio unless it is already here; commits; its state.

    A transient WeChat error is raised for the caller to retry; a permanent one
    (40007: WeChat no longer has it) marks the row failed with the reason.
    """
    voice = session.get(VoiceMessage, voice_id)
    if voice is None or voice.state != "waiting":
        return "gone" if voice is None else voice.state
    try:
        data, _kind = wechat.download_media(voice.media_id)
    except WeChatError as exc:
        if exc.transient:
            raise
        voice.state, voice.reason = "failed", exc.reason
        session.commit()
        log.warning("voice %s could not be downloaded: errcode %s", voice.id, exc.errcode)
        return voice.state
    keep(voice, cipher, data)
    session.commit()
    log.info("voice %s downloaded (%d bytes)", voice.id, len(data))
    return voice.state


def attach(session: Session, request: HelpRequest, voice_ids: list[int]) -> list[VoiceMessage]:
    """File the sender's voice messages with their request (no commit); the rows attached."""
    if not voice_ids:
        return []
    rows = session.scalars(
        select(VoiceMessage)
        .where(VoiceMessage.id.in_(voice_ids), VoiceMessage.openid == request.openid)
        .order_by(VoiceMessage.id)
    ).all()
    for voice in rows:
        voice.help_request_id = request.id
    return list(rows)


def of_request(session: Session, request_id: int) -> list[VoiceMessage]:
    """The recordings filed with a request, oldest first."""
    query = select(VoiceMessage).where(VoiceMessage.help_request_id == request_id)
    return list(session.scalars(query.order_by(VoiceMessage.id)))


def link(secret_key: str, public_url: str, number: str) -> str:
    """The signed address of a request's recordings, for the staff's notice."""
    token = URLSafeTimedSerializer(secret_key, salt=_SALT).dumps(number)
    # In the query as `signature`: bot.gunicorn_conf drops such queries from every log line.
    return f"{public_url}/recordings/{number}?signature={token}"


def signed_for(secret_key: str, token: str, number: str) -> bool:
    """True when token is a link's signature for this request number, within LINK_DAYS."""
    try:
        signed = URLSafeTimedSerializer(secret_key, salt=_SALT).loads(
            token, max_age=LINK_DAYS * 86400
        )
    except BadSignature:  # SignatureExpired included
        return False
    return signed == number
