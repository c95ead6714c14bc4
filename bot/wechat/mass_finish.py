"""MASSSENDJOBFINISH: what a finished mass send reports, read honestly, and a mailbox for it.

WeChat posts the event a moment after message/mass/sendall. Its Status is
"send success" (delivered, though a few followers may still have missed it),
"send fail", or "err(n)" when review stopped the send; only the first means
anyone received it (docs/wechat.md, "Mass sends").

The event names the send by MsgID only. When sendall's answer was lost, we
learn that msg_id later (the 45065 of a repeat), after the event came and
found nothing to record on: the mailbox keeps such events in Redis until the
send that owns the msg_id takes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import redis

SENT = "send success"
# Longer than the 24 h a clientmsgid repeat can still name the first send's msg_id.
MAILBOX_SECONDS = 3 * 86400
# What err(n) means (WeChat's 事件推送群发结果), for editors and the bureau.
REVIEW_ERRORS = {
    10001: "涉嫌广告",
    20001: "涉嫌政治",
    20002: "涉嫌色情",
    20004: "涉嫌社会",
    20006: "涉嫌违法犯罪",
    20008: "涉嫌欺诈",
    20013: "涉嫌版权",
    21000: "涉嫌其他",
    22000: "涉嫌互推（互相宣传）",
    30001: "原创校验出现系统错误，且设置了被判为转载就不群发",
    30002: "原创校验判定为不能群发",
    30003: "原创校验判定为转载，且设置了被判为转载就不群发",
    40001: "管理员拒绝了群发",
    40002: "管理员 30 分钟内没有确认群发",
}
_ERR = re.compile(r"err\((\d+)\)")


@dataclass(frozen=True)
class MassFinish:
    """One MASSSENDJOBFINISH, read: whether it was delivered, and why not."""

    msg_id: str
    status: str
    total: int | None = None
    filtered: int | None = None
    sent: int | None = None
    errors: int | None = None
    article_urls: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> bool:
        """Only "send success" reached anyone; "send fail" and err(n) reached nobody."""
        return self.status == SENT

    @property
    def reason(self) -> str | None:
        """Why it was not delivered, in plain Chinese with WeChat's Status; None when it was."""
        if self.delivered:
            return None
        found = _ERR.fullmatch(self.status)
        if found:
            what = REVIEW_ERRORS.get(int(found.group(1)), "未通过审核")
            return f"微信群发未送达：{what}（{self.status}）"
        return f"微信群发未送达（{self.status or '没有状态'}）"

    @property
    def counts(self) -> str:
        """The counts as the report shows them."""
        return (
            f"总数 {_shown(self.total)} 过滤后 {_shown(self.filtered)} "
            f"成功 {_shown(self.sent)} 失败 {_shown(self.errors)}"
        )


def read(fields: Mapping[str, Any]) -> MassFinish | None:
    """The event's fields read; None without a MsgID. A missing count stays None, not 0."""
    msg_id = _text(fields.get("MsgID") or fields.get("MsgId"))
    if not msg_id:
        return None
    result = fields.get("ArticleUrlResult")
    items = (result.get("ResultList") or {}).get("item") if isinstance(result, dict) else None
    items = [items] if isinstance(items, dict) else items or []
    urls = [_text(i.get("ArticleUrl")) for i in items if isinstance(i, dict)]
    return MassFinish(
        msg_id=msg_id,
        status=_text(fields.get("Status"))[:64],
        total=_count(fields.get("TotalCount")),
        filtered=_count(fields.get("FilterCount")),
        sent=_count(fields.get("SentCount")),
        errors=_count(fields.get("ErrorCount")),
        article_urls=[u for u in urls if u],
    )


def keep(r: redis.Redis, fields: Mapping[str, Any]) -> None:
    """Keep an event no send has claimed yet, for the send that learns its msg_id later."""
    finish = read(fields)
    if finish is not None:
        r.set(_key(finish.msg_id), json.dumps(dict(fields)), ex=MAILBOX_SECONDS)


def take(r: redis.Redis, msg_id: str | None) -> dict | None:
    """The kept event of msg_id, removed from the mailbox; None when none waits."""
    if not msg_id:
        return None
    kept = r.getdel(_key(msg_id))
    return json.loads(kept) if kept else None


def _key(msg_id: str) -> str:
    return f"wechat:massfinish:{msg_id}"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    text = _text(value)
    return int(text) if text.lstrip("-").isdigit() else None


def _shown(value: int | None) -> str:
    return "?" if value is None else str(value)
