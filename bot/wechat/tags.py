"""User tags as WeChat keeps them: ids looked up by name and cached, followers tagged in batches.

The platform's rules (docs/wechat.md, "User tags"): a name is at most 30 bytes
(45158); creating a name that exists answers 45157, which after a concurrent
create means another process made it, so its id is read back from tags/get;
batchtagging takes at most 50 openids (40032) and answers 45159 for a tag id the
account does not have, which is either a cached id whose tag was deleted (look it
up again) or a tag created a moment ago (wait and retry); a follower carries at
most 20 tags (45059), and one such follower makes WeChat refuse the whole batch.

`wechat` is the WeChatClient (bot.wechat.client), passed in rather than imported.
"""

from __future__ import annotations

import logging
import time

from bot.wechat.errors import WeChatError

log = logging.getLogger(__name__)

NAME_BYTES = 30
OPENIDS_PER_CALL = 50
CACHE_SECONDS = 86400
# 45159 for a tag that tags/get already lists: a create not yet usable; wait, then retry.
SETTLING_PAUSES = (0.5, 1.0, 2.0)


def _key(wechat, name: str) -> str:
    return f"wechat:tag:{wechat.appid}:{name}"


def lookup(wechat, name: str) -> int | None:
    """The id tags/get gives for name, or None."""
    found = next((t["id"] for t in wechat.tags() if t["name"] == name), None)
    return None if found is None else int(found)


def tag_id(wechat, name: str) -> int:
    """The id of the tag called name, created if missing; cached in Redis for a day."""
    if cached := wechat.redis.get(_key(wechat, name)):
        return int(cached)
    found = lookup(wechat, name)
    if found is None:
        try:
            found = int(wechat.post("cgi-bin/tags/create", {"tag": {"name": name}})["tag"]["id"])
        except WeChatError as exc:
            if exc.errcode != 45157:
                raise
            found = lookup(wechat, name)  # another process created it meanwhile
            if found is None:
                raise
    wechat.redis.set(_key(wechat, name), found, ex=CACHE_SECONDS)
    return found


def forget(wechat, name: str) -> None:
    """Drop the cached id of name, so the next use looks it up again."""
    wechat.redis.delete(_key(wechat, name))


def batch(wechat, tag: int, openids: list[str]) -> list[str]:
    """Tag openids under the tag id in calls of 50; the openids refused for carrying 20 tags."""
    refused: list[str] = []
    for start in range(0, len(openids), OPENIDS_PER_CALL):
        refused += _one_call(wechat, tag, openids[start : start + OPENIDS_PER_CALL])
    return refused


def _one_call(wechat, tag: int, openids: list[str]) -> list[str]:
    body = {"openid_list": openids, "tagid": tag}
    try:
        wechat.post("cgi-bin/tags/members/batchtagging", body)
        return []
    except WeChatError as exc:
        if exc.errcode != 45059:
            raise
    if len(openids) == 1:
        return openids
    # One follower at 20 tags refuses the whole call: tag the others one by one.
    return [o for o in openids if _one_call(wechat, tag, [o])]


def tag(wechat, name: str, openids: list[str]) -> list[str]:
    """Put followers under the tag called name; the openids refused for carrying 20 tags."""
    current = tag_id(wechat, name)
    for pause in (*SETTLING_PAUSES, None):
        try:
            return batch(wechat, current, openids)
        except WeChatError as exc:
            if exc.errcode != 45159 or pause is None:
                raise
        forget(wechat, name)
        fresh = tag_id(wechat, name)
        if fresh == current:
            log.info("tag %s refused just after its creation; retrying in %ss", current, pause)
            time.sleep(pause)
        else:
            log.info("tag %s of %s no longer exists; now %s", current, name, fresh)
        current = fresh
    raise AssertionError("unreachable: the last pause re-raises")
