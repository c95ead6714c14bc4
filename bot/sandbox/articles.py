"""The emulator's publishing endpoints: images, drafts, free publish and mass sends."""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

import xmltodict
from flask import Flask, jsonify, request

from bot.sandbox.platform import (
    BODY_IMAGE_BYTES,
    CLIENTMSGID_SECONDS,
    CONTENT_LIMIT,
    DRAFT_LIMITS,
    MASS_PER_FOLLOWER_PER_MONTH,
    MASS_REPEAT_SECONDS,
    MASS_SENT,
    MATERIAL_IMAGE_BYTES,
    PlatformState,
)

# WeChat sends the job events "from" the account's administrator; any openid will do here.
EVENT_SENDER = "o-sandbox-admin"


def _event(state: PlatformState, name: str, fields: dict, blank_account: bool = False) -> str:
    """The plaintext XML of one platform event, addressed to the account (or to nobody)."""
    account = state.webhook.account if state.webhook else ""
    body = {
        "ToUserName": "" if blank_account else account,
        "FromUserName": EVENT_SENDER,
        "CreateTime": str(int(time.time())),
        "MsgType": "event",
        "Event": name,
        **fields,
    }
    return xmltodict.unparse({"xml": body}, full_document=False)


def article_url(job: dict) -> str:
    return f"https://mp.weixin.qq.com/s/{job['article_id']}"


def mass_send_job_finish(state: PlatformState, msg_id: int) -> str:
    """MASSSENDJOBFINISH for one mass send, with the counts the emulator recorded.

    With state.mass_event_blank_account its ToUserName is empty, as in real samples.
    """
    blank = state.mass_event_blank_account
    return _event(state, "MASSSENDJOBFINISH", state.mass_finish(msg_id), blank_account=blank)


def _job_status(state: PlatformState, job: dict) -> int:
    """A publish job's status as of this look: 1 (publishing) for its first
    publish_pending_polls looks (freepublish/get or batchget), then the verdict. Call locked."""
    job["polls"] += 1
    status = 1 if job["polls"] <= state.publish_pending_polls else state.publish_verdict
    job["status"] = status
    return status


def publish_job_finish(state: PlatformState, publish_id: str) -> str:
    """PUBLISHJOBFINISH for one publish job, with the verdict freepublish/get will give."""
    with state.lock:
        job = next(p for p in state.publishes if p["publish_id"] == publish_id)
        status = state.publish_verdict
    info = {"publish_id": job["publish_id"], "publish_status": str(status)}
    if status == 0:
        info["article_id"] = job["article_id"]
        info["article_detail"] = {
            "count": "1",
            "item": {"idx": "1", "article_url": article_url(job)},
        }
        info["fail_idx"] = ""
    else:
        info["fail_idx"] = "1"
    return _event(state, "PUBLISHJOBFINISH", {"PublishEventInfo": info})


def register(
    app: Flask, state: PlatformState, error, notify: Callable[[Callable[[], str]], None]
) -> None:
    """Add the publishing endpoints to the emulator app.

    notify(build) posts the event build() makes to the webhook, later and in the
    background, as WeChat reports finished jobs.
    """

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
            # Also a cover deleted from the 素材库 since it was uploaded (docs/wechat.md).
            if article.get("thumb_media_id") not in thumbs:
                return error(40007, "invalid media_id")
            if article.get("need_open_comment") and not state.comments_enabled:
                return error(88000, "without comment privilege")
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
            # A published (or mass-sent) draft has left the draft box: submitting it
            # again is refused like any unknown media_id (docs/wechat.md).
            if draft is None or draft["used"]:
                return error(40007, "invalid media_id")
            draft["used"] = True
            job = {
                "publish_id": str(2247483000 + len(state.publishes)),
                "msg_data_id": str(2247490000 + len(state.publishes)),
                "media_id": media_id,
                "articles": draft["articles"],
                "polls": 0,
                "article_id": "art-" + secrets.token_hex(8),
                "at": time.time(),
            }
            state.publishes.append(job)
        publish_id = job["publish_id"]
        notify(lambda: publish_job_finish(state, publish_id))
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
            status = _job_status(state, job)
        body = {"publish_id": publish_id, "publish_status": status}
        if status == 0:
            body["article_id"] = job["article_id"]
            url = article_url(job)
            body["article_detail"] = {"count": 1, "item": [{"idx": 1, "article_url": url}]}
            body["fail_idx"] = []
        elif status != 1:
            body["fail_idx"] = [1]
        return jsonify(body)

    @app.route("/cgi-bin/freepublish/batchget", methods=["POST"])
    def freepublish_batchget():
        """The articles published successfully, newest first; at most 20 a page."""
        body = request.get_json(force=True) or {}
        offset, count = int(body.get("offset", 0)), int(body.get("count", 20))
        if not 1 <= count <= 20:
            return error(40035, "count must be 1 to 20")
        no_content = bool(body.get("no_content"))
        with state.lock:
            done = [j for j in reversed(state.publishes) if _job_status(state, j) == 0]
        items = []
        for job in done[offset : offset + count]:
            news = []
            for article in job["articles"]:
                shown = {k: v for k, v in article.items() if not (no_content and k == "content")}
                news.append({**shown, "url": article_url(job), "is_deleted": False})
            items.append(
                {
                    "article_id": job["article_id"],
                    "content": {"news_item": news},
                    "update_time": int(job["at"]),
                }
            )
        return jsonify(total_count=len(done), item_count=len(items), item=items)

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
            if earlier is not None and now - earlier["at"] < MASS_REPEAT_SECONDS:
                # Repeated too soon: WeChat says "retry later" and names nothing yet.
                return error(45066, "clientmsgid is being processed, retry later")
            if earlier is not None:
                # As WeChat does: the same clientmsgid within 24 h sends nothing and
                # names the mass send it already made.
                return jsonify(errcode=45065, errmsg="clientmsgid exist", msg_id=earlier["msg_id"])
            if body["msgtype"] == "mpnews":
                draft = state.draft(media_id)
                if draft is None or draft["used"]:
                    return error(40007, "invalid media_id")
                draft["used"] = True
            status = state.mass_status
            sent, filtered = [], []
            for openid in sorted(state.tagged.get(target["tag_id"], ())):
                received = state.mass_received.setdefault(openid, {})
                if received.get(month, 0) >= MASS_PER_FOLLOWER_PER_MONTH:
                    filtered.append(openid)
                    continue
                if status == MASS_SENT:  # a failed send reaches nobody
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
                "status": status,
                "article_url": f"https://mp.weixin.qq.com/s/mass-{secrets.token_hex(8)}",
                "at": now,
            }
            state.mass_sends.append(item)
            if text and status == MASS_SENT:  # the sandbox chat page shows what each received
                for openid in sent:
                    state.deliver("mass", openid, content=text)
        msg_id = item["msg_id"]
        notify(lambda: mass_send_job_finish(state, msg_id))
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
                {
                    k: m.get(k)
                    for k in ("msg_id", "tag_id", "clientmsgid", "msgtype", "content", "status")
                }
                | {"sent": len(m["sent"]), "filtered": len(m["filtered"])}
                for m in state.mass_sends
            ]
        return jsonify(mass_sends=items)
