"""The outbox: every message meant for a person is a row, written with the change, delivered once.

A Celery task with Redis "already told" markers lost every notice when the
database blinked (the task failed and was never retried), sent a notice twice
when its worker died between WeChat's answer and the marker, and forgot whole
batches when Redis restarted empty. Here instead:

- add() writes the message in the caller's transaction: it exists exactly when
  the change that causes it (a filed request, a day's reminders) was committed;
- deliver() claims each due row (pending → sending, a versioned save, so of two
  senders only one sends it), sends it with the row's key as WeChat's
  client_msg_id, and saves sent, failed (a permanent error, with its reason) or
  pending again (a transient one, with backoff);
- the sweep (tasks.outbox.sweep, every minute) delivers every due row, so the
  outbox is right even when Redis has lost every queued task.

A sender that dies after WeChat delivered but before "sent" was saved leaves
the row in sending. STUCK later the row is due again and sent with the same
client_msg_id, which WeChat drops as a repeat for 10 minutes: STUCK, the
sweep's minute and one send must fit well inside them, hence 2 minutes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import redis
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import clock, db, retry
from bot.models import OutboxMessage
from bot.wechat.client import WeChatClient
from bot.wechat.errors import QuotaExceeded, WeChatError

log = logging.getLogger(__name__)

STUCK = timedelta(minutes=2)
UNSENT = ("pending", "sending")
# Template sends in flight at once; the client's HTTP pool holds as many connections.
SEND_THREADS = 16
# Rows claimed per round: a monthly reminder to 2,000 staff goes out in a few rounds.
BATCH = 500
# WeChat documents no length for client_msg_id; 32 ASCII characters is the shortest
# limit it sets on an id-like field (character_string), so longer keys are hashed.
CLIENT_MSG_ID_CHARS = 32
# The daily API quota resets at midnight, Beijing time; try a little after it.
QUOTA_RESET = time(0, 5)
# Insert-or-nothing, so a key already written (a rerun, a concurrent run) is skipped.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_FIELDS = (
    OutboxMessage.id,
    OutboxMessage.key,
    OutboxMessage.openid,
    OutboxMessage.template_id,
    OutboxMessage.data,
    OutboxMessage.url,
    OutboxMessage.attempts,
    OutboxMessage.version,
)


@dataclass
class Delivery:
    """What one deliver() call did: sent, failed for good, and put back to wait."""

    sent: int = 0
    failed: int = 0
    waiting: int = 0
    retry_at: datetime | None = None  # the earliest next attempt of those waiting


def add(
    session: Session, key: str, openid: str, template_id: str, data: dict, url: str = ""
) -> int | None:
    """Write a message in the caller's transaction (no commit); its id, or None if key exists.

    key names the message and its recipient (help:<request id>:<staff id>); its
    first part is the row's kind. A key is written once, ever: adding it again
    is how a rerun knows who was already told.
    """
    insert = _INSERTS[session.get_bind().dialect.name]
    row = {
        "key": key,
        "kind": key.split(":", 1)[0],
        "openid": openid,
        "template_id": template_id,
        "data": data,
        "url": url,
        "next_attempt_at": clock.utcnow(),
    }
    statement = insert(OutboxMessage.__table__).values(**row)
    statement = statement.on_conflict_do_nothing(index_elements=["key"])
    return session.execute(statement.returning(OutboxMessage.id)).scalar()


def keys_under(session: Session, prefix: str) -> set[str]:
    """The keys already written that start with prefix."""
    query = select(OutboxMessage.key).where(OutboxMessage.key.startswith(prefix, autoescape=True))
    return set(session.scalars(query))


def ids_under(session: Session, prefix: str) -> list[int]:
    """The ids of the rows whose key starts with prefix, oldest first."""
    query = select(OutboxMessage.id).where(OutboxMessage.key.startswith(prefix, autoescape=True))
    return list(session.scalars(query.order_by(OutboxMessage.id)))


def client_msg_id(key: str) -> str:
    """WeChat's idempotency id for a row: the key itself when short ASCII, else its digest."""
    if key.isascii() and len(key) <= CLIENT_MSG_ID_CHARS:
        return key
    return hashlib.sha256(key.encode()).hexdigest()[:CLIENT_MSG_ID_CHARS]


def deliver(
    session: Session,
    wechat: WeChatClient,
    ids: Iterable[int] | None = None,
    now: datetime | None = None,
) -> Delivery:
    """Send every due row (of ids, or all: the sweep) once; commits each row's state.

    Due: pending once next_attempt_at has come, or stuck in sending past it.
    Rows are claimed and settled here, in this thread; only the HTTP calls run
    in parallel, since a reminder to thousands of staff would otherwise wait on
    each round trip in turn. A database error is raised: the rows it left
    pending or sending are due again later, and nothing is lost.
    """
    now = now or clock.utcnow()
    wanted = None if ids is None else list(ids)
    done = Delivery()
    while batch := _due(session, wanted, now):
        with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
            sending = [(m, pool.submit(_send, wechat, m)) for m in batch if _claim(session, m, now)]
            for message, future in sending:
                _settle(session, message, future.result(), now, done)
        if not sending:  # every row went to another sender meanwhile
            break
    return done


def oldest_unsent(session: Session) -> datetime | None:
    """When the oldest row not yet sent was written; None when every row is settled."""
    query = select(func.min(OutboxMessage.created_at)).where(OutboxMessage.state.in_(UNSENT))
    return session.scalar(query)


def unsettled(session: Session, failed_limit: int = 50) -> list[OutboxMessage]:
    """Rows not yet sent (next attempt first), then the latest failed rows."""
    waiting = select(OutboxMessage).where(OutboxMessage.state.in_(UNSENT))
    failed = select(OutboxMessage).where(OutboxMessage.state == "failed")
    return [
        *session.scalars(waiting.order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)),
        *session.scalars(failed.order_by(OutboxMessage.id.desc()).limit(failed_limit)),
    ]


def count_by_state(session: Session) -> dict[str, int]:
    """How many rows are in each state."""
    query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    return dict(session.execute(query).all())


def _due(session: Session, ids: list[int] | None, now: datetime) -> list:
    query = select(*_FIELDS).where(
        OutboxMessage.state.in_(UNSENT), OutboxMessage.next_attempt_at <= now
    )
    if ids is not None:
        if not ids:
            return []
        query = query.where(OutboxMessage.id.in_(ids))
    return list(session.execute(query.order_by(OutboxMessage.id).limit(BATCH)))


def _claim(session: Session, message, now: datetime) -> bool:
    """pending (or stuck) → sending, if no other sender moved the row since it was read."""
    return db.save_versioned(
        session,
        OutboxMessage,
        {"id": message.id},
        message.version,
        state="sending",
        attempts=message.attempts + 1,
        next_attempt_at=now + STUCK,
    )


def _send(wechat: WeChatClient, message) -> str | Exception:
    """WeChat's msgid for the message, or what went wrong (never raised: the pool keeps going)."""
    try:
        answer = wechat.send_template(
            message.openid,
            message.template_id,
            message.data,
            message.url,
            client_msg_id=client_msg_id(message.key),
        )
    except Exception as exc:  # every outcome is saved on the row; settled in the main thread
        return exc
    return str(answer.get("msgid", ""))


def _settle(session: Session, message, outcome: str | Exception, now: datetime, done) -> None:
    """Save the outcome on the row we claimed (its version is one past the one read)."""
    attempt = message.attempts + 1
    if isinstance(outcome, str):
        values = {"state": "sent", "sent_at": now, "msgid": outcome, "reason": None}
        done.sent += 1
    elif isinstance(outcome, QuotaExceeded):
        # Permanent for today only: the message still matters tomorrow.
        values = {"state": "pending", "next_attempt_at": _after_reset(now)}
    elif _transient(outcome):
        values = {"state": "pending", "next_attempt_at": now + retry.for_notices(attempt)}
    else:
        values = {"state": "failed"}
        done.failed += 1
    if values["state"] == "pending":
        done.waiting += 1
        done.retry_at = min(filter(None, (done.retry_at, values["next_attempt_at"])))
    if not isinstance(outcome, str):
        values["reason"] = _reason(outcome)
        log.warning("outbox %s attempt %s: %s", message.key, attempt, _log_reason(outcome))
    key = {"id": message.id}
    # Not saved: a sweep took the row for stuck meanwhile, and that sender settles it.
    if not db.save_versioned(session, OutboxMessage, key, message.version + 1, **values):
        log.warning("outbox %s was settled by another sender", message.key)


def _transient(exc: Exception) -> bool:
    """A WeChat error the table calls transient, or Redis (the shared token) not answering."""
    if isinstance(exc, WeChatError):
        return exc.transient
    return isinstance(exc, redis.RedisError)


def _reason(exc: Exception) -> str:
    """Why the row is not sent, for staff reading `veteranbot outbox`."""
    if isinstance(exc, WeChatError):
        return exc.reason
    if isinstance(exc, redis.RedisError):
        return f"Redis 不可用（{type(exc).__name__}），稍后重试"
    return f"程序错误（{type(exc).__name__}），请查日志"


def _log_reason(exc: Exception) -> str:
    # WeChat's errmsg and an exception's text could quote the message; log codes and types.
    if isinstance(exc, WeChatError):
        return f"{exc.path} {exc.errcode}"
    return type(exc).__name__


def _after_reset(now: datetime) -> datetime:
    """A few minutes after the next midnight in Asia/Shanghai, as naive UTC."""
    tomorrow = clock.local(now).date() + timedelta(days=1)
    reset = datetime.combine(tomorrow, QUOTA_RESET, tzinfo=clock.SHANGHAI)
    return reset.astimezone(UTC).replace(tzinfo=None)
