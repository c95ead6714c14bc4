"""An emulator of the WeChat API subset this project calls, served over HTTP on loopback.

It keeps its state in memory, answers with WeChat's JSON shapes and error codes,
and records every message it was asked to deliver, so the sandbox chat page and
the tests can see what a follower would receive.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field

from flask import Flask, jsonify, request

# WeChat's publishing limits (see docs/wechat-platform.md, "Publishing articles").
DRAFT_LIMITS = {"title": (32, 45003), "author": (16, 45110), "digest": (128, 45004)}
CONTENT_LIMIT = 20_000
BODY_IMAGE_BYTES = 1024 * 1024
MATERIAL_IMAGE_BYTES = 10 * 1024 * 1024
MASS_PER_FOLLOWER_PER_MONTH = 4
CLIENTMSGID_SECONDS = 24 * 3600


@dataclass
class PlatformState:
    """What the emulated platform knows: tokens, tags, menu and delivered messages."""

    appid: str
    secret: str
    tokens: set[str] = field(default_factory=set)
    tags: dict[int, str] = field(default_factory=dict)
    tagged: dict[int, set[str]] = field(default_factory=dict)
    menu: dict | None = None
    outbox: list[dict] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
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

    def mass_finish(self, msg_id: int) -> dict:
        """The fields WeChat's MASSSENDJOBFINISH event reports for one mass send."""
        with self.lock:
            item = next(m for m in self.mass_sends if m["msg_id"] == int(msg_id))
            total = len(item["sent"]) + len(item["filtered"])
            return {
                "MsgID": str(item["msg_id"]),
                "Status": "send success",
                "TotalCount": str(total),
                "FilterCount": str(len(item["sent"])),
                "SentCount": str(len(item["sent"])),
                "ErrorCount": "0",
            }

    def deliver(self, kind: str, touser: str, **payload) -> dict:
        """Record a message as delivered to one follower."""
        item = {"kind": kind, "touser": touser, "at": time.time(), "msgid": len(self.outbox) + 1}
        item.update(payload)
        self.outbox.append(item)
        return item

    def messages_to(self, openid: str) -> list[dict]:
        """Everything delivered to one follower, oldest first."""
        return [m for m in self.outbox if m["touser"] == openid]

    def expire_tokens(self) -> None:
        """Invalidate every issued token, as WeChat does after 7200 s or a reset."""
        self.tokens.clear()

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

    def draft(self, media_id: str) -> dict | None:
        """The draft with this media_id, if one was added."""
        return next((d for d in self.drafts if d["media_id"] == media_id), None)


def create_emulator(state: PlatformState) -> Flask:
    """The emulator's WSGI app over the given state."""
    app = Flask(__name__)
    app.extensions["platform"] = state

    def error(code: int, msg: str):
        return jsonify(errcode=code, errmsg=msg)

    @app.before_request
    def _gate():
        path = request.path.lstrip("/")
        if state.latency_ms and not path.startswith("_sandbox"):
            time.sleep(state.latency_ms / 1000)
        with state.lock:
            state.calls.append(path)
            pending = state.faults.get(path)
            if pending:
                return error(pending.pop(0), "injected by the sandbox")
        if path in ("cgi-bin/token", "cgi-bin/stable_token") or path.startswith("_sandbox"):
            return None
        if request.args.get("access_token") not in state.tokens:
            return error(40001, "invalid credential, access_token is invalid or not latest")
        return None

    @app.after_request
    def _lose(response):
        path = request.path.lstrip("/")
        with state.lock:
            if state.lost_answers.get(path):
                state.lost_answers[path] -= 1
                return app.response_class("upstream timed out", status=502)
        return response

    @app.route("/cgi-bin/stable_token", methods=["POST"])
    def stable_token():
        body = request.get_json(force=True, silent=True) or {}
        if body.get("appid") != state.appid or body.get("secret") != state.secret:
            return error(40125, "invalid appsecret")
        with state.lock:
            state.token_fetches += 1
            token = secrets.token_urlsafe(24)
            state.tokens.add(token)
        return jsonify(access_token=token, expires_in=7200)

    @app.route("/cgi-bin/message/template/send", methods=["POST"])
    def template_send():
        body = request.get_json(force=True)
        with state.lock:
            item = state.deliver(
                "template",
                body["touser"],
                template_id=body["template_id"],
                data=body.get("data", {}),
                url=body.get("url", ""),
            )
        return jsonify(errcode=0, errmsg="ok", msgid=item["msgid"])

    @app.route("/cgi-bin/message/custom/send", methods=["POST"])
    def custom_send():
        body = request.get_json(force=True)
        with state.lock:
            state.deliver("text", body["touser"], content=body.get("text", {}).get("content", ""))
        return jsonify(errcode=0, errmsg="ok")

    @app.route("/cgi-bin/tags/get")
    def tags_get():
        with state.lock:
            tags = [
                {"id": i, "name": n, "count": len(state.tagged.get(i, ()))}
                for i, n in state.tags.items()
            ]
        return jsonify(tags=tags)

    @app.route("/cgi-bin/tags/create", methods=["POST"])
    def tags_create():
        name = request.get_json(force=True)["tag"]["name"]
        with state.lock:
            if name in state.tags.values():
                return error(45157, "tag name already exists")
            if len(state.tags) >= 100:
                return error(45056, "too many tags")
            tag_id = 100 + len(state.tags)
            state.tags[tag_id] = name
        return jsonify(tag={"id": tag_id, "name": name})

    @app.route("/cgi-bin/tags/members/batchtagging", methods=["POST"])
    def tags_batch():
        body = request.get_json(force=True)
        with state.lock:
            if body["tagid"] not in state.tags:
                return error(45059, "tag does not exist")
            state.tagged.setdefault(body["tagid"], set()).update(body["openid_list"])
        return error(0, "ok")

    @app.route("/cgi-bin/menu/create", methods=["POST"])
    def menu_create():
        body = request.get_json(force=True)
        buttons = body.get("button", [])
        if not 1 <= len(buttons) <= 3 or any(len(b.get("sub_button", [])) > 5 for b in buttons):
            return error(40016, "invalid button size")
        with state.lock:
            state.menu = body
        return error(0, "ok")

    def upload(limit: int) -> tuple[dict | None, object]:
        """The uploaded image (multipart field `media`), or an error answer."""
        media = request.files.get("media")
        if media is None:
            return None, error(41005, "media data missing")
        data = media.read()
        if not (media.filename or "").lower().endswith((".jpg", ".jpeg", ".png")):
            return None, error(40005, "invalid file type")
        if len(data) > limit:
            return None, error(40009, "invalid image size")
        digest = hashlib.sha256(data).hexdigest()
        return {"sha256": digest, "filename": media.filename, "size": len(data)}, None

    @app.route("/cgi-bin/media/uploadimg", methods=["POST"])
    def media_uploadimg():
        item, refused = upload(BODY_IMAGE_BYTES)
        if refused:
            return refused
        ext = "png" if item["filename"].lower().endswith(".png") else "jpg"
        item["url"] = f"http://mmbiz.qpic.cn/mmbiz_{ext}/{secrets.token_hex(12)}/0?wx_fmt={ext}"
        with state.lock:
            state.body_images.append(item)
        return jsonify(url=item["url"])

    @app.route("/cgi-bin/material/add_material", methods=["POST"])
    def material_add():
        if request.args.get("type") != "image":
            return error(40004, "invalid media type")
        item, refused = upload(MATERIAL_IMAGE_BYTES)
        if refused:
            return refused
        item["media_id"] = "mat-" + secrets.token_hex(10)
        item["url"] = f"http://mmbiz.qpic.cn/mmbiz_jpg/{secrets.token_hex(12)}/0"
        with state.lock:
            state.materials.append(item)
        return jsonify(media_id=item["media_id"], url=item["url"])

    @app.route("/cgi-bin/draft/add", methods=["POST"])
    def draft_add():
        articles = (request.get_json(force=True) or {}).get("articles") or []
        if not articles:
            return error(40035, "articles missing")
        with state.lock:
            thumbs = {m["media_id"] for m in state.materials}
        for article in articles:
            for name, (limit, code) in DRAFT_LIMITS.items():
                if len(article.get(name) or "") > limit:
                    return error(code, f"{name} size out of limit")
            content = article.get("content") or ""
            if not content or len(content) >= CONTENT_LIMIT:
                return error(45002, "content size out of limit")
            if article.get("thumb_media_id") not in thumbs:
                return error(40007, "invalid media_id")
        media_id = "draft-" + secrets.token_hex(10)
        with state.lock:
            state.drafts.append({"media_id": media_id, "articles": articles, "used": False})
        return jsonify(media_id=media_id)

    @app.route("/cgi-bin/draft/batchget", methods=["POST"])
    def draft_batchget():
        body = request.get_json(force=True) or {}
        offset, count = int(body.get("offset", 0)), min(int(body.get("count", 20)), 20)
        with state.lock:
            # Newest first, as WeChat lists the draft box; published drafts have left it.
            drafts = [d for d in reversed(state.drafts) if not d["used"]]
        items = [
            {"media_id": d["media_id"], "content": {"news_item": d["articles"]}}
            for d in drafts[offset : offset + count]
        ]
        return jsonify(total_count=len(drafts), item_count=len(items), item=items)

    @app.route("/cgi-bin/freepublish/submit", methods=["POST"])
    def freepublish_submit():
        media_id = (request.get_json(force=True) or {}).get("media_id")
        with state.lock:
            draft = state.draft(media_id)
            if draft is None:
                return error(40007, "invalid media_id")
            # One publish job per draft: submitting the same draft again answers
            # with the job it already has, so a resubmission never publishes twice.
            job = next((p for p in state.publishes if p["media_id"] == media_id), None)
            if job is None:
                if draft["used"]:
                    return error(40007, "invalid media_id")
                draft["used"] = True
                job = {
                    "publish_id": str(2247483000 + len(state.publishes)),
                    "msg_data_id": str(2247490000 + len(state.publishes)),
                    "media_id": media_id,
                    "polls": 0,
                    "article_id": "art-" + secrets.token_hex(8),
                }
                state.publishes.append(job)
        return jsonify(
            errcode=0, errmsg="ok", publish_id=job["publish_id"], msg_data_id=job["msg_data_id"]
        )

    @app.route("/cgi-bin/freepublish/get", methods=["POST"])
    def freepublish_get():
        publish_id = str((request.get_json(force=True) or {}).get("publish_id"))
        with state.lock:
            job = next((p for p in state.publishes if p["publish_id"] == publish_id), None)
            if job is None:
                return error(40007, "invalid publish_id")
            job["polls"] += 1
            status = 1 if job["polls"] <= state.publish_pending_polls else state.publish_verdict
            job["status"] = status
        body = {"publish_id": publish_id, "publish_status": status}
        if status == 0:
            body["article_id"] = job["article_id"]
            url = f"https://mp.weixin.qq.com/s/{job['article_id']}"
            body["article_detail"] = {"count": 1, "item": [{"idx": 1, "article_url": url}]}
            body["fail_idx"] = []
        elif status != 1:
            body["fail_idx"] = [1]
        return jsonify(body)

    @app.route("/cgi-bin/message/mass/sendall", methods=["POST"])
    def mass_sendall():
        body = request.get_json(force=True) or {}
        target = body.get("filter") or {}
        media_id = (body.get("mpnews") or {}).get("media_id")
        text = (body.get("text") or {}).get("content") or ""
        clientmsgid = body.get("clientmsgid") or ""
        if target.get("is_to_all") is not False or "tag_id" not in target:
            return error(40035, "filter.tag_id required; is_to_all must be false")
        if body.get("msgtype") not in ("mpnews", "text") or len(clientmsgid.encode()) > 64:
            return error(40035, "invalid parameter")
        if body["msgtype"] == "text" and not text:
            return error(40035, "text.content required")
        now = time.time()
        month = time.strftime("%Y-%m", time.localtime(now))
        with state.lock:
            if target["tag_id"] not in state.tags:
                return error(45059, "tag does not exist")
            earlier = next(
                (
                    m
                    for m in state.mass_sends
                    if clientmsgid
                    and m["clientmsgid"] == clientmsgid
                    and now - m["at"] < CLIENTMSGID_SECONDS
                ),
                None,
            )
            if earlier is not None:
                # As WeChat does: the same clientmsgid within 24 h sends nothing and
                # names the mass send it already made.
                return jsonify(errcode=45065, errmsg="clientmsgid exist", msg_id=earlier["msg_id"])
            if body["msgtype"] == "mpnews":
                draft = state.draft(media_id)
                if draft is None or draft["used"]:
                    return error(40007, "invalid media_id")
                draft["used"] = True
            sent, filtered = [], []
            for openid in sorted(state.tagged.get(target["tag_id"], ())):
                received = state.mass_received.setdefault(openid, {})
                if received.get(month, 0) >= MASS_PER_FOLLOWER_PER_MONTH:
                    filtered.append(openid)
                    continue
                received[month] = received.get(month, 0) + 1
                sent.append(openid)
            item = {
                "msg_id": 1000000001 + len(state.mass_sends),
                "msg_data_id": 2247500000 + len(state.mass_sends),
                "media_id": media_id,
                "msgtype": body["msgtype"],
                "content": text,
                "tag_id": target["tag_id"],
                "clientmsgid": clientmsgid,
                "sent": sent,
                "filtered": filtered,
                "at": now,
            }
            state.mass_sends.append(item)
            if text:  # the sandbox chat page shows what each follower received
                for openid in sent:
                    state.deliver("mass", openid, content=text)
        return jsonify(
            errcode=0,
            errmsg="send job submission success",
            msg_id=item["msg_id"],
            msg_data_id=item["msg_data_id"],
        )

    @app.route("/_sandbox/mass")
    def sandbox_mass():
        """Every mass send so far: tag, clientmsgid, type and how many it reached."""
        with state.lock:
            items = [
                {k: m.get(k) for k in ("msg_id", "tag_id", "clientmsgid", "msgtype", "content")}
                | {"sent": len(m["sent"]), "filtered": len(m["filtered"])}
                for m in state.mass_sends
            ]
        return jsonify(mass_sends=items)

    @app.route("/_sandbox/messages/<openid>")
    def sandbox_messages(openid):
        """For the chat page: what this follower has received, after `since`."""
        since = int(request.args.get("since", 0))
        with state.lock:
            items = [m for m in state.messages_to(openid) if m["msgid"] > since]
        return jsonify(messages=items)

    return app
