"""What the publisher needs from the outside world, declared as Protocols.

The publisher never imports the bot: the bot hands it a WeChat port (over its
shared-token client) and a state store (over its database). Tests use the same
adapters against the emulator, so these contracts are the only seam.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

CHANNELS = ("wechat", "site")
FINAL = frozenset({"published", "failed"})


class PublishError(Exception):
    """A platform call failed: WeChat's code (None for transport), a message, and whether
    the same call may succeed later; wait, the least time before it may (45066: 60 s)."""

    def __init__(
        self, code: int | None, message: str, transient: bool, wait: timedelta | None = None
    ):
        super().__init__(f"{code}: {message}" if code is not None else message)
        self.code = code
        self.message = message
        self.transient = transient
        self.wait = wait or timedelta(0)


class StateConflict(Exception):
    """Another run saved this channel's state since we read it; we must stop."""


@dataclass
class ChannelState:
    """Where one story stands on one channel, and every platform id it has collected."""

    slug: str
    channel: str
    # pending → uploading → drafted → submitting → submitted → published | failed;
    # "submitting" is the recorded intent to submit (or mass-send) a stored draft,
    # so a resumed run knows a call may have gone out.
    state: str = "pending"
    mode: str = "publish"
    publish_at: datetime | None = None  # timezone-aware, copied from the story
    title: str = ""
    thumb_media_id: str | None = None
    media_id: str | None = None  # the draft's
    publish_id: str | None = None
    msg_data_id: str | None = None
    msg_id: str | None = None  # mass sends
    clientmsgid: str | None = None
    article_url: str | None = None
    reason: str | None = None
    failed_step: str | None = None  # the state it failed in, so a retry knows where to resume
    hint: str | None = None  # what a PUBLISHJOBFINISH event said (polling decides)
    attempts: int = 0
    retry_after: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0  # 0: never saved; each save must find the version it read


class WeChatPort(Protocol):
    """The WeChat calls publishing makes; each raises PublishError on failure."""

    def upload_body_image(self, data: bytes, filename: str) -> str:
        """media/uploadimg: an mmbiz.qpic.cn URL for an image inside the article."""

    def add_cover(self, data: bytes, filename: str) -> str:
        """material/add_material?type=image: the permanent material's media_id."""

    def add_draft(self, article: dict) -> str:
        """draft/add with one article: the draft's media_id."""

    def find_draft(self, content_source_url: str) -> str | None:
        """The media_id of a recent draft whose 阅读原文 link is this URL, if any."""

    def find_published(self, content_source_url: str) -> str | None:
        """freepublish/batchget: the article URL of a recent published article whose
        阅读原文 link is this URL, if any."""

    def submit(self, media_id: str) -> tuple[str, str]:
        """freepublish/submit: (publish_id, msg_data_id)."""

    def publish_status(self, publish_id: str) -> dict:
        """freepublish/get: WeChat's answer (publish_status, article_detail, fail_idx)."""

    def mass_send(self, media_id: str, tag_id: int, clientmsgid: str) -> str | None:
        """message/mass/sendall of the draft as mpnews to a tag: the msg_id.

        A clientmsgid already used within 24 h sends nothing; the port returns the
        earlier msg_id when the platform names it (45065), or None when it does not.
        """

    def veterans_tag_id(self) -> int:
        """The id of the veterans' user tag that mass sends go to."""


class StateStore(Protocol):
    """Per-channel state and the upload cache, saved where every worker sees them."""

    def load(self, slug: str, channel: str) -> ChannelState:
        """The channel's state; a fresh pending one (version 0) when never saved."""

    def save(self, state: ChannelState) -> None:
        """Persist durably, bumping state.version; StateConflict if another run saved first."""

    def cached_media(self, sha256: str, kind: str) -> str | None:
        """The URL (kind "body") or media_id (kind "cover") of an image uploaded before."""

    def remember_media(self, sha256: str, kind: str, value: str) -> None:
        """Record an upload durably, so the same bytes are never uploaded again."""

    def forget_media(self, sha256: str, kind: str, value: str) -> None:
        """Drop a recorded upload the platform no longer has, if it is still that value."""
