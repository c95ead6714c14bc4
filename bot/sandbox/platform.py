"""The emulated platform's state: tokens, tags, menus, drafts, mass sends, delivered messages."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from bot.sandbox.oauth import OAuthState
from bot.sandbox.tokens import TokenBook

# WeChat's publishing limits (see docs/wechat-platform.md, "Publishing articles").
DRAFT_LIMITS = {"title": (32, 45003), "author": (16, 45110), "digest": (128, 45004)}
CONTENT_LIMIT = 20_000
BODY_IMAGE_BYTES = 1024 * 1024
MATERIAL_IMAGE_BYTES = 10 * 1024 * 1024
MASS_PER_FOLLOWER_PER_MONTH = 4
CLIENTMSGID_SECONDS = 24 * 3600
# A repeat of a clientmsgid this soon after the first send answers 45066 ("retry later")
# instead of 45065 (docs/wechat.md, "Mass sends").
MASS_REPEAT_SECONDS = 60
# MASSSENDJOBFINISH's Status when the send went out; anything else is a failure:
# "send fail", or "err(n)" for a review that stopped it (err(20013) 涉嫌版权 …).
MASS_SENT = "send success"
# message/template/send's client_msg_id: one message per openid and id for 10 minutes
# (service docs, api_sendtemplatemessage; docs/wechat.md).
CLIENT_MSG_ID_SECONDS = 10 * 60
# message/custom/send: only within 48 h of the follower's last message to the account,
# and at most 5 messages in that time (platform notes, "Customer-service messages").
CUSTOM_WINDOW_SECONDS = 48 * 3600
CUSTOM_PER_WINDOW = 5
# WeChat reports a finished mass send or publish job a moment after answering the call.
EVENT_DELAY_SECONDS = 0.5


@dataclass(frozen=True)
class Webhook:
    """Where the emulator posts the events WeChat sends on its own: our /wechat."""

    url: str
    token: str
    account: str  # the official account's original id (gh_…), the events' ToUserName


@dataclass
class PlatformState:
    """What the emulated platform knows: tokens, tags, menu and delivered messages."""

    appid: str
    secret: str
    tokens: TokenBook = field(default_factory=TokenBook)
    tags: dict[int, str] = field(default_factory=dict)
    tagged: dict[int, set[str]] = field(default_factory=dict)
    deleted_tags: set[int] = field(default_factory=set)  # their ids are never given again
    menu: dict | None = None
    outbox: list[dict] = field(default_factory=list)
    # The account's category templates: id -> bot.sandbox.templates.Template.
    templates: dict = field(default_factory=dict)
    # (openid, client_msg_id) -> the template message it delivered, for repeats.
    template_ids: dict[tuple[str, str], dict] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # follower openid -> when they last wrote to the account (Unix time), and how many
    # customer-service messages they have had since (the window's rules).
    inbound: dict[str, float] = field(default_factory=dict)
    custom_sent: dict[str, int] = field(default_factory=dict)
    # Temporary media (voice messages) by MediaId: audio, format, when (bot.sandbox.media).
    media: dict[str, dict] = field(default_factory=dict)
    token_fetches: int = 0
    # Error codes to answer instead of the real thing, consumed one per call: path -> [codes]
    faults: dict[str, list[int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Publishing: every upload, draft, publish job and mass send, in call order.
    body_images: list[dict] = field(default_factory=list)
    materials: list[dict] = field(default_factory=list)
    drafts: list[dict] = field(default_factory=list)
    publishes: list[dict] = field(default_factory=list)
    mass_sends: list[dict] = field(default_factory=list)
    # freepublish/get answers 1 (publishing) this many times per job, then the verdict:
    # 0 success, 2 originality check failed, 3 failed, 4 review rejected, 5 deleted, 6 banned.
    publish_pending_polls: int = 0
    publish_verdict: int = 0
    # follower openid -> "YYYY-MM" -> mass sends received that month.
    mass_received: dict[str, dict[str, int]] = field(default_factory=dict)
    # Added to every API call, as a slow network would (the greetings bench uses 20 ms).
    latency_ms: int = 0
    # path -> how many of the next calls do their work but lose the answer (HTTP 502),
    # as when a timeout hides a send that went through.
    lost_answers: dict[str, int] = field(default_factory=dict)
    # path -> seconds an answer takes to come back once the call did its work, so a
    # test can kill the caller after WeChat acted and before it heard (a worker killed
    # mid-send).
    slow_answers: dict[str, float] = field(default_factory=dict)
    # When set, MASSSENDJOBFINISH and PUBLISHJOBFINISH are posted there, as WeChat
    # does, event_delay seconds after a successful sendall or freepublish/submit.
    webhook: Webhook | None = None
    event_delay: float = EVENT_DELAY_SECONDS
    # Web authorisation (bot/sandbox/oauth.py): authorised domains and issued codes.
    oauth: OAuthState = field(default_factory=OAuthState)
    # How the next mass sends end, as their MASSSENDJOBFINISH reports: "send success",
    # "send fail" or "err(n)" (nobody receives a failed one).
    mass_status: str = MASS_SENT
    # Post MASSSENDJOBFINISH with an empty ToUserName, as real samples have shown.
    mass_event_blank_account: bool = False
    # Whether the account has comments (留言); draft/add with need_open_comment=1 on an
    # account without them answers 88000.
    comments_enabled: bool = True

    def mass_finish(self, msg_id: int) -> dict:
        """The fields WeChat's MASSSENDJOBFINISH event reports for one mass send."""
        with self.lock:
            item = next(m for m in self.mass_sends if m["msg_id"] == int(msg_id))
            total = len(item["sent"]) + len(item["filtered"])
            status = item["status"]
            if status == MASS_SENT:
                prepared, sent, errors = len(item["sent"]), len(item["sent"]), 0
            elif status.startswith("err("):  # stopped by review: prepared for nobody
                prepared = sent = errors = 0
            else:  # "send fail": prepared for everyone, reached nobody
                prepared, sent, errors = len(item["sent"]), 0, len(item["sent"])
            fields = {
                "MsgID": str(item["msg_id"]),
                "Status": status,
                "TotalCount": str(total),
                "FilterCount": str(prepared),
                "SentCount": str(sent),
                "ErrorCount": str(errors),
            }
            if item["msgtype"] == "mpnews" and status == MASS_SENT:
                fields["ArticleUrlResult"] = {
                    "Count": "1",
                    "ResultList": {"item": {"ArticleIdx": "1", "ArticleUrl": item["article_url"]}},
                }
            return fields

    def age_mass_sends(self, seconds: float) -> None:
        """Move every mass send seconds into the past, as if that much time had gone by."""
        with self.lock:
            for item in self.mass_sends:
                item["at"] -= seconds

    def deliver(self, kind: str, touser: str, **payload) -> dict:
        """Record a message as delivered to one follower."""
        item = {"kind": kind, "touser": touser, "at": time.time(), "msgid": len(self.outbox) + 1}
        item.update(payload)
        self.outbox.append(item)
        return item

    def earlier_template(self, touser: str, client_msg_id: str, now: float) -> dict | None:
        """The template message already delivered to touser under client_msg_id within 10 min."""
        item = self.template_ids.get((touser, client_msg_id))
        # The outbox only grows (tests clear it): an entry stands while its message is
        # still where it was delivered, at msgid - 1.
        at = item["msgid"] - 1 if item else len(self.outbox)
        if at >= len(self.outbox) or self.outbox[at] is not item:
            return None
        return item if now - item["at"] < CLIENT_MSG_ID_SECONDS else None

    def deliver_template(self, touser: str, client_msg_id: str, **payload) -> dict:
        """Record a template message as delivered, remembering its client_msg_id if any."""
        item = self.deliver("template", touser, client_msg_id=client_msg_id, **payload)
        if client_msg_id:
            self.template_ids[(touser, client_msg_id)] = item
        return item

    def heard_from(self, openid: str, at: float | None = None) -> None:
        """The follower wrote to the account (at, default now): their window opens afresh."""
        with self.lock:
            self.inbound[openid] = time.time() if at is None else at
            self.custom_sent[openid] = 0

    def custom_refusal(self, touser: str, now: float) -> int:
        """The errcode message/custom/send answers for touser now; 0 when it may be sent."""
        last = self.inbound.get(touser)
        if last is None or now - last >= CUSTOM_WINDOW_SECONDS:
            return 45015
        if self.custom_sent.get(touser, 0) >= CUSTOM_PER_WINDOW:
            return 45047
        return 0

    def messages_to(self, openid: str) -> list[dict]:
        """Everything delivered to one follower, oldest first."""
        return [m for m in self.outbox if m["touser"] == openid]

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as WeChat does after 7200 s or a reset."""
        self.tokens.expire()

    def inject(self, path: str, *codes: int) -> None:
        """Make the next calls to path answer with these errcodes, in order."""
        self.faults.setdefault(path, []).extend(codes)

    def reset_publishing(self) -> None:
        """Forget every upload, draft, publish job and mass send, and the verdict knobs."""
        with self.lock:
            for items in (self.body_images, self.materials, self.drafts, self.publishes):
                items.clear()
            self.mass_sends.clear()
            self.mass_received.clear()
            self.publish_pending_polls = 0
            self.publish_verdict = 0
            self.mass_status = MASS_SENT
            self.mass_event_blank_account = False
            self.comments_enabled = True

    def delete_material(self, media_id: str) -> bool:
        """Delete a permanent material, as an editor can in the 素材库; False if there is none.

        A draft/add naming it as thumb_media_id is then answered 40007, as WeChat does.
        """
        with self.lock:
            kept = [m for m in self.materials if m["media_id"] != media_id]
            found = len(kept) < len(self.materials)
            self.materials[:] = kept
        return found

    def draft(self, media_id: str) -> dict | None:
        """The draft with this media_id, if one was added."""
        return next((d for d in self.drafts if d["media_id"] == media_id), None)
