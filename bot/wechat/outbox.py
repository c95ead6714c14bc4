"""The outbox: every message meant for a person is a row, written with the change, delivered once.

A Celery task with Redis "already told" markers lost every notice when the
database blinked (the task failed and was never retried), sent a notice twice
when its worker died between WeChat's answer and the marker, and forgot whole
batches when Redis restarted empty. Here instead:

- add() writes the message in the caller's transaction: it exists exactly when
  the change that causes it (a filed request, a day's reminders) was committed;
- deliver() claims due rows (pending → sending, in one statement that re-checks
  each row, so of two senders only one sends it), sends each with the row's key
  as WeChat's client_msg_id, and saves sent, failed (a permanent error, with its
  reason) or pending again (a transient one, with backoff), version-checked;
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
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

import redis
from sqlalchemy import and_, bindparam, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import clock, retry
from bot.models import OutboxMessage
from bot.wechat import template_faults
from bot.wechat.client import WeChatClient
from bot.wechat.errors import QuotaExceeded, WeChatError

log = logging.getLogger(__name__)

STUCK = timedelta(minutes=2)
UNSENT = ("pending", "sending")
# Template sends in flight at once; the client's HTTP pool holds as many connections.
SEND_THREADS = 16
# Rows claimed per round: a monthly reminder to 2,000 staff goes out in a few rounds.
BATCH = 500
# Outcomes saved per statement and commit. A commit per row (bot.db.save_versioned's
# way) cost more than the sends for 2,000 reminders; a sender dying between commits
# leaves its rows in sending, and their repeats are dropped by WeChat (client_msg_id).
SETTLE_EVERY = 50
# WeChat documents no length for client_msg_id; 32 ASCII characters is the shortest
# limit it sets on an id-like field (character_string), so longer keys are hashed.
CLIENT_MSG_ID_CHARS = 32
# The daily API quota resets at midnight, Beijing time; try a little after it.
QUOTA_RESET = time(0, 5)
# A customer-service message refused because the 48-hour window closed (45015) or
# its messages in the window are spent (45047): its template fallback goes instead.
WINDOW_SHUT = frozenset({45015, 45047})
# Insert-or-nothing, so a key already written (a rerun, a concurrent run) is skipped.
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
_TABLE = OutboxMessage.__table__
# What a sender needs of a claimed row (the counters as the claim left them).
_FIELDS = ("id", "key", "openid", "template_id", "data", "url", "attempts", "version")
# A claimed row's outcome, saved only if the row is still at the claim's version.
_SETTLE = (
    _TABLE.update()
    .where(_TABLE.c.id == bindparam("o_id"), _TABLE.c.version == bindparam("o_version"))
    .values(
        state=bindparam("o_state"),
        sent_at=bindparam("o_sent_at"),
        msgid=bindparam("o_msgid"),
        reason=bindparam("o_reason"),
        next_attempt_at=bindparam("o_next"),
        version=_TABLE.c.version + 1,
    )
)


@dataclass
class Delivery:
    """What one deliver() call did: sent, failed for good, and put back to wait."""

    sent: int = 0
    failed: int = 0
    waiting: int = 0
    retry_at: datetime | None = None  # the earliest next attempt of those waiting
    # Templates WeChat refused as unusable (47003, 40037), and templates that delivered.
    refused: dict[str, int] = field(default_factory=dict)
    working: set[str] = field(default_factory=set)


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
    statement = insert(_TABLE).values(**row)
    statement = statement.on_conflict_do_nothing(index_elements=["key"])
    return session.execute(statement.returning(_TABLE.c.id)).scalar()


def add_text(
    session: Session,
    key: str,
    openid: str,
    text: str,
    fallback: dict | None = None,
    menu: list[str] | None = None,
) -> int | None:
    """Write a customer-service text message (no commit); its id, or None if key exists.

    For a follower inside WeChat's 48-hour window (bot.wechat.window). A row
    without a template id is one of these. fallback ({"template_id", "data",
    "url"}) is sent instead when WeChat says the window has closed after all
    (45015) or its messages in the window are spent (45047). menu: choices the
    follower answers with one tap (a msgmenu message: a tap sends the choice's
    words back as a text message).
    """
    data = {"text": text, "fallback": fallback, "menu": menu or []}
    return add(session, key, openid, "", data)


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
    # Claimed rows are due again only after STUCK, settled ones later or never: this ends.
    while claimed := _claim(session, wanted, now):
        settled: list[dict] = []
        with ThreadPoolExecutor(max_workers=SEND_THREADS) as pool:
            outcomes = pool.map(lambda message: _send(wechat, message), claimed)
            for message, outcome in zip(claimed, outcomes, strict=True):
                settled.append(_settle(message, outcome, now, done))
                _note_template(message, outcome, done)
                if len(settled) == SETTLE_EVERY:
                    _save(session, settled)
        _save(session, settled)
    _report_templates(wechat, done)
    return done


def _note_template(message, outcome: str | Exception, done: Delivery) -> None:
    template_id = message.template_id
    if not template_id:
        # A customer-service row: only its template fallback can be refused as unusable,
        # and a sent one may never have tried it.
        template_id = (message.data.get("fallback") or {}).get("template_id", "")
        if not template_id or isinstance(outcome, str):
            return
    if isinstance(outcome, str):
        done.working.add(template_id)
        done.refused.pop(template_id, None)
    elif isinstance(outcome, WeChatError) and outcome.errcode in template_faults.CODES:
        done.refused[template_id] = outcome.errcode
        done.working.discard(template_id)


def _report_templates(wechat: WeChatClient, done: Delivery) -> None:
    """Record refused templates (for /healthz and the editors), forget ones that work again."""
    try:
        for template_id, errcode in done.refused.items():
            template_faults.record(wechat.redis, template_id, errcode)
        template_faults.clear(wechat.redis, done.working)
    except redis.RedisError as exc:  # the rows are settled; only the report is lost
        log.warning("outbox: template faults not recorded (%s)", type(exc).__name__)


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


def prune(session: Session, before: datetime) -> int:
    """Delete the rows sent before `before` (naive UTC) and commit; how many.

    Only sent rows: pending, sending and failed ones still matter to someone.
    A pruned key may be written again, so `before` must lie further back than
    any rerun that could write it (config.OUTBOX_MIN_KEEP_DAYS).
    """
    table = _TABLE
    gone = session.execute(
        delete(table).where(table.c.state == "sent", table.c.sent_at < before)
    ).rowcount
    session.commit()
    return gone


def reopen(session: Session, key: str, now: datetime | None = None) -> OutboxMessage | None:
    """Make a failed row pending again, due now, and commit; the row, or None if not failed.

    For after its cause was fixed (a template id, a staff member who followed
    again): the next deliver or sweep sends it, under its same key.
    """
    table = _TABLE
    reopened = session.execute(
        table.update()
        .where(table.c.key == key, table.c.state == "failed")
        .values(
            state="pending",
            reason=None,
            next_attempt_at=now or clock.utcnow(),
            version=table.c.version + 1,
        )
    ).rowcount
    session.commit()
    if not reopened:
        return None
    query = select(OutboxMessage).where(OutboxMessage.key == key)
    return session.scalar(query.execution_options(populate_existing=True))


def count_by_state(session: Session) -> dict[str, int]:
    """How many rows are in each state."""
    query = select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    return dict(session.execute(query).all())


def _claim(session: Session, ids: list[int] | None, now: datetime) -> list:
    """Move up to BATCH due rows to sending in one statement, and commit; the rows claimed.

    The statement re-checks "due" on every row it updates, so of two senders
    reading the same rows (a deliver task and the sweep) only one claims each:
    the other finds it no longer due (PostgreSQL re-reads a row another
    transaction changed; SQLite runs one writer at a time). It bumps the
    version, which the settling save checks.
    """
    if ids is not None and not ids:
        return []
    table = _TABLE
    due = and_(table.c.state.in_(UNSENT), table.c.next_attempt_at <= now)
    if ids is not None:
        due = and_(due, table.c.id.in_(ids))
    batch = select(table.c.id).where(due).order_by(table.c.id).limit(BATCH).scalar_subquery()
    claim = (
        table.update()
        .where(table.c.id.in_(batch), due)
        .values(
            state="sending",
            attempts=table.c.attempts + 1,
            version=table.c.version + 1,
            next_attempt_at=now + STUCK,
        )
        .returning(*(table.c[name] for name in _FIELDS))
    )
    claimed = sorted(session.execute(claim).all(), key=lambda row: row.id)
    session.commit()
    return claimed


def _send(wechat: WeChatClient, message) -> str | Exception:
    """WeChat's msgid for the message, or what went wrong (never raised: the pool keeps going)."""
    if not message.template_id:
        return _send_text(wechat, message)
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


def _send_text(wechat: WeChatClient, message) -> str | Exception:
    """A customer-service row: the text, or its template fallback once the window is shut.

    message/custom/send takes no idempotency id: a send whose answer was lost
    and that is retried may reach the follower twice (docs/architecture.md).
    """
    fallback, menu = message.data.get("fallback"), message.data.get("menu")
    try:
        if menu:
            answer = wechat.post("cgi-bin/message/custom/send", _menu_body(message, menu))
        else:
            answer = wechat.send_text(message.openid, message.data["text"])
    except WeChatError as exc:
        if exc.errcode not in WINDOW_SHUT or not fallback:
            return exc
        try:
            answer = wechat.send_template(
                message.openid,
                fallback["template_id"],
                fallback["data"],
                fallback.get("url", ""),
                client_msg_id=client_msg_id(message.key),
            )
        except Exception as again:  # saved on the row, as any other outcome
            return again
    except Exception as exc:
        return exc
    return str(answer.get("msgid", ""))


def _menu_body(message, menu: list[str]) -> dict:
    """A msgmenu customer-service message: the text, then one tappable line per choice."""
    items = [{"id": str(n), "content": choice} for n, choice in enumerate(menu, 1)]
    return {
        "touser": message.openid,
        "msgtype": "msgmenu",
        "msgmenu": {"head_content": message.data["text"], "list": items, "tail_content": ""},
    }


def _settle(message, outcome: str | Exception, now: datetime, done: Delivery) -> dict:
    """What to save on a claimed row after its send, as _SETTLE's parameters."""
    values = {"o_state": "failed", "o_sent_at": None, "o_msgid": None, "o_next": now}
    if isinstance(outcome, str):
        values.update(o_state="sent", o_sent_at=now, o_msgid=outcome)
        done.sent += 1
    elif isinstance(outcome, QuotaExceeded):
        # Permanent for today only: the message still matters tomorrow.
        values.update(o_state="pending", o_next=_after_reset(now))
    elif _transient(outcome):
        values.update(o_state="pending", o_next=now + retry.for_notices(message.attempts))
    else:
        done.failed += 1
    if values["o_state"] == "pending":
        done.waiting += 1
        done.retry_at = min(filter(None, (done.retry_at, values["o_next"])))
    if not isinstance(outcome, str):
        log.warning("outbox %s attempt %s: %s", message.key, message.attempts, _log_reason(outcome))
    reason = None if isinstance(outcome, str) else _reason(outcome)
    return {**values, "o_reason": reason, "o_id": message.id, "o_version": message.version}


def _save(session: Session, settled: list[dict]) -> None:
    """Save a run of outcomes in one statement and commit, each if still at its claim's version."""
    if not settled:
        return
    saved = session.execute(_SETTLE, settled).rowcount
    session.commit()
    if saved != len(settled):  # a sweep took some for stuck meanwhile; that sender settles them
        log.warning(
            "outbox: %s of %s rows were settled by another sender",
            len(settled) - saved,
            len(settled),
        )
    settled.clear()


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
