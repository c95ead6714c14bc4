"""Templates WeChat refused as unusable: kept in Redis, shown by /healthz, told to the editors.

47003 (a value or key the template refuses) and 40037 (no such template) mean
that a message did not reach a person it was meant for, and that every later
one sent with that template will fail the same way: the mapping or the id is
wrong. The outbox records each such template here when a send is refused and
forgets it when one is delivered; /healthz reports what is recorded, and the
sweep tells the editors (tasks/outbox.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import redis

from bot import clock

log = logging.getLogger(__name__)
KEY = "wechat:template-faults"
# What makes a template unusable rather than one message unlucky.
CODES = frozenset({47003, 40037})


def record(r: redis.Redis, template_id: str, errcode: int) -> None:
    """Remember that WeChat refused template_id with errcode (the latest refusal wins)."""
    log.error(
        "template %s refused by WeChat (%s): its notices are not delivered", template_id, errcode
    )
    at = clock.utcnow().isoformat(timespec="seconds")
    r.hset(KEY, template_id, json.dumps({"code": errcode, "at": at}))


def clear(r: redis.Redis, template_ids: Iterable[str]) -> None:
    """Forget the templates that just delivered a message: they work again."""
    ids = [t for t in template_ids if t]
    if ids:
        r.hdel(KEY, *ids)


def current(r: redis.Redis) -> dict[str, dict]:
    """Every template refused and not delivered since: id -> {"code": …, "at": …}."""
    found = {}
    for template_id, value in r.hgetall(KEY).items():
        name = template_id.decode() if isinstance(template_id, bytes) else template_id
        found[name] = json.loads(value)
    return found
