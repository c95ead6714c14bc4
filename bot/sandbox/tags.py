"""The emulator's user tags: tags/get, create, delete, members/batchtagging, getidlist.

WeChat's limits (user tag management, service docs; docs/wechat.md, "User tags"): a tag
name is at most 30 bytes (45158) and new (45157); an account holds at most 100 tags
(45056); batchtagging takes at most 50 openids (40032), names a tag the account has
(45159), and leaves no follower with more than 20 tags (45059; the call tags nobody).
"""

from __future__ import annotations

from flask import Flask, jsonify, request

TAG_NAME_BYTES = 30
TAGS_PER_ACCOUNT = 100
TAGS_PER_FOLLOWER = 20
OPENIDS_PER_BATCH = 50


def tags_of(state, openid: str) -> list[int]:
    """The ids of the tags a follower carries (call with state.lock held)."""
    return sorted(tag for tag, members in state.tagged.items() if openid in members)


def register(app: Flask, state, error) -> None:
    """Add the user-tag endpoints to the emulator app over a PlatformState."""

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
        if len(name.encode()) > TAG_NAME_BYTES:
            return error(45158, "tag name too long")
        with state.lock:
            if name in state.tags.values():
                return error(45157, "tag name already exists")
            if len(state.tags) >= TAGS_PER_ACCOUNT:
                return error(45056, "too many tags")
            # Ids are never reused: a deleted tag's id stays invalid.
            tag_id = max([99, *state.tags, *state.deleted_tags]) + 1
            state.tags[tag_id] = name
        return jsonify(tag={"id": tag_id, "name": name})

    @app.route("/cgi-bin/tags/delete", methods=["POST"])
    def tags_delete():
        tag_id = request.get_json(force=True)["tag"]["id"]
        with state.lock:
            if tag_id not in state.tags:
                return error(45159, "invalid tag id")
            del state.tags[tag_id]
            state.tagged.pop(tag_id, None)
            state.deleted_tags.add(tag_id)
        return error(0, "ok")

    @app.route("/cgi-bin/tags/members/batchtagging", methods=["POST"])
    def tags_batch():
        body = request.get_json(force=True)
        openids = body.get("openid_list") or []
        if len(openids) > OPENIDS_PER_BATCH:
            return error(40032, "invalid openid list size, at most 50")
        with state.lock:
            tag_id = body.get("tagid")
            if tag_id not in state.tags:
                return error(45159, "invalid tag id")
            members = state.tagged.setdefault(tag_id, set())
            full = [
                o
                for o in openids
                if o not in members and len(tags_of(state, o)) >= TAGS_PER_FOLLOWER
            ]
            if full:
                return error(45059, "has too many tags")
            members.update(openids)
        return error(0, "ok")

    @app.route("/cgi-bin/tags/getidlist", methods=["POST"])
    def tags_of_follower():
        openid = request.get_json(force=True)["openid"]
        with state.lock:
            return jsonify(tagid_list=tags_of(state, openid))
