"""A voice message without words: recognised by our own service if one is set, else a call-back.

WeChat is withdrawing speech recognition, and "请靠近话筒再说一遍" was a dead end
for a veteran who cannot type. Now the recording is kept (bot.requests.recordings)
and one reply offers a call-back: "1" files a 回电 request with the recording for
staff to listen to. Anything else goes on with whatever the voice interrupted.

The download: with no recognition service, the reply does not depend on the
audio, so the webhook only notes the MediaId and a Celery task downloads it
(tasks.bot.fetch_voice), outside WeChat's 5 s and with the task's retries; WeChat
keeps it 3 days. With a service set, the words decide the reply, so the webhook
downloads and asks within SPEECH_RECOGNITION_SECONDS, and keeps the audio it got.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from flask import current_app, g, render_template

from bot import db, queue
from bot.crypto import cipher
from bot.dialogs import choices, help_request
from bot.dialogs import state as dialog_state
from bot.dialogs.reply import Reply
from bot.dialogs.turn import Turn
from bot.models.requests import CALLBACK
from bot.requests import recordings, speech
from bot.wechat.client import client
from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)

# Answers to the offer that mean yes; "1" is the one it asks for.
ACCEPT = {"1", "要", "需要", "要的", "好", "好的", "是", "是的", "对", "回电", "回电话", "打电话"}
# Of the webhook's 4 s, what the database and the reply's store need after recognition.
RESERVED_SECONDS = 1.5
# Less time than this is not worth a download.
MIN_SECONDS = 0.2


@dataclass(frozen=True)
class Heard:
    """What recognition made of a voice message: its words, and the audio if downloaded."""

    text: str = ""
    audio: bytes | None = None


def hear(media_id: str, fmt: str) -> Heard:
    """Download and recognise a voice message within the webhook's budget, if a service is set."""
    cfg = current_app.config
    url = cfg["SPEECH_RECOGNITION_URL"]
    if not url:
        return Heard()
    deadline = time.monotonic() + cfg["SPEECH_RECOGNITION_SECONDS"]
    if (answer_by := g.get("webhook_deadline")) is not None:
        deadline = min(deadline, answer_by - RESERVED_SECONDS)
    left = deadline - time.monotonic()
    if left < MIN_SECONDS:
        return Heard()
    try:
        audio, _kind = client().download_media(media_id, timeout=left)
    except WeChatError as exc:
        log.warning("voice download for recognition failed: %s", exc.errcode)
        return Heard()
    left = deadline - time.monotonic()
    if left < MIN_SECONDS:
        return Heard(audio=audio)
    return Heard(speech.recognise(url, audio, fmt, left), audio)


def offer(openid: str, media_id: str, fmt: str, audio: bytes | None = None) -> Reply:
    """Keep the voice message and offer a call-back, in one reply."""
    session = db.session()
    voice = recordings.note(session, openid, media_id, fmt)
    if audio is not None and voice.state == "waiting":
        recordings.keep(voice, cipher(), audio)
    elif voice.state == "waiting":
        queue.enqueue("tasks.bot.fetch_voice", voice.id)  # sent once this commits
    session.commit()
    current = dialog_state.load(openid)
    if current and current.get("dialog") == "voice":
        if voice.id not in current["voice_ids"]:
            current["voice_ids"].append(voice.id)
    else:
        current = {"dialog": "voice", "voice_ids": [voice.id], "resume": current}
    dialog_state.save(openid, current)
    return Reply(render_template("replies/voice_offer.txt", resume=current["resume"]))


def step(turn: Turn, current: dict) -> Reply | None:
    """A call-back on "1"; otherwise None, with the interrupted dialog (if any) back in place."""
    if not turn.has_location and _accepts(turn.text):
        ids = current["voice_ids"]
        earlier = current.get("resume") or {}
        if earlier.get("category") == CALLBACK:  # a call-back already on its way: one request
            ids = [*earlier.get("voice_ids", []), *ids]
        return help_request.call_back(turn, ids)
    if current.get("resume"):
        dialog_state.save(turn.openid, current["resume"])
    else:
        dialog_state.clear(turn.openid)
    return None


def _accepts(text: str) -> bool:
    said = text.strip(" \t\r\n。，！？.,!?")
    return said in ACCEPT or choices.number(said) == 1
