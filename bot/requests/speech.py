"""The seam for a speech-recognition service: audio in, text out, over HTTP.

WeChat's own recognition is being withdrawn. No model ships with the bot; an
operator who runs one (or rents one) sets SPEECH_RECOGNITION_URL. The contract is
small on purpose: POST the audio file as the body, with its Content-Type
(audio/amr for WeChat's voice messages), and answer 200 with {"text": "…"}.
Anything else counts as "nothing heard": the follower is offered a call-back.
"""

from __future__ import annotations

import logging

import requests

log = logging.getLogger(__name__)
CONTENT_TYPES = {"amr": "audio/amr", "speex": "audio/speex"}
MAX_TEXT = 500


def recognise(url: str, audio: bytes, fmt: str, timeout: float) -> str:
    """The words the service heard in audio, or "" when it heard none or failed in time."""
    kind = CONTENT_TYPES.get(fmt, "application/octet-stream")
    try:
        answer = requests.post(url, data=audio, headers={"Content-Type": kind}, timeout=timeout)
        answer.raise_for_status()
        text = answer.json().get("text")
    except (requests.RequestException, ValueError, AttributeError) as exc:
        # Only the type: the service's answer may hold what the follower said.
        log.warning("speech recognition failed: %s", type(exc).__name__)
        return ""
    return text.strip()[:MAX_TEXT] if isinstance(text, str) else ""
