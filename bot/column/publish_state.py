"""publisher.ports.StateStore over the database: per-story channel states and the media cache."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import fields
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import db
from bot.models import MediaUpload, PublishState
from bot.store import Lease
from bot.wechat.mass_finish import MassFinish
from publisher.ports import ChannelState, StateConflict

# What editors read for each channel state (`veteranbot queue`, /preview/).
STATE_NAMES = {
    "pending": "待发布",
    "uploading": "上传中",
    "drafted": "已存草稿",
    "submitting": "提交中",
    "submitted": "发表中",
    "published": "已发布",
    "failed": "失败",
}
_COLUMNS = [f.name for f in fields(ChannelState) if f.name not in ("version", "hint")]
_TIMES = ("publish_at", "retry_after", "updated_at")


def _to_db(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC).replace(tzinfo=None) if value else None


def _from_db(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value else None


def _state(row: PublishState) -> ChannelState:
    st = ChannelState(slug=row.slug, channel=row.channel, version=row.version, hint=row.hint)
    for name in _COLUMNS:
        value = getattr(row, name)
        setattr(st, name, _from_db(value) if name in _TIMES else value)
    return st


class DbStateStore:
    """publisher.ports.StateStore over the app's database; each save commits.

    leases: the run's Redis locks (bot.store.Lease). Once one is lost, each save
    still records its step (the version check guards it) and then stops the run.
    on_failed: writes what a channel's failure must tell people (the editors'
    outbox rows) in the transaction that saves it, and returns the rows' ids;
    they gather in `notices`, for the caller to deliver after the commit.
    """

    def __init__(
        self,
        session: Session,
        leases: Sequence[Lease] = (),
        on_failed: Callable[[Session, ChannelState], list[int]] | None = None,
    ):
        self.session = session
        self.leases = leases
        self.on_failed = on_failed
        self.notices: list[int] = []
        self._seen: dict[tuple[str, str], str] = {}  # the state each channel was last read in

    def load(self, slug: str, channel: str) -> ChannelState:
        """The saved state, or a fresh pending one."""
        # End any open read transaction: SQLite would otherwise show its old snapshot.
        self.session.commit()
        row = self.session.scalar(
            select(PublishState)
            .where(PublishState.slug == slug, PublishState.channel == channel)
            .execution_options(populate_existing=True)
        )
        st = _state(row) if row else ChannelState(slug=slug, channel=channel)
        self._seen[(slug, channel)] = st.state
        return st

    def save(self, st: ChannelState) -> None:
        """Insert or update where the version is still the one read; commit.

        A channel that newly fails commits its notices with it: a crash after
        the commit leaves both, before it neither.
        """
        values = {n: _to_db(getattr(st, n)) if n in _TIMES else getattr(st, n) for n in _COLUMNS}
        failing = st.state == "failed" and self._seen.get((st.slug, st.channel)) != "failed"
        try:
            if st.version == 0:
                self.session.add(PublishState(**values, version=1))
                self.session.flush()
            else:
                key = {"slug": st.slug, "channel": st.channel}
                if not db.update_versioned(self.session, PublishState, key, st.version, **values):
                    raise StateConflict(f"{st.slug}/{st.channel} was saved by another run")
            told = self.on_failed(self.session, st) if failing and self.on_failed else []
            self.session.commit()
        except (IntegrityError, StateConflict) as exc:
            self.session.rollback()
            raise StateConflict(f"{st.slug}/{st.channel} was saved by another run") from exc
        except Exception:
            self.session.rollback()
            raise
        st.version += 1
        self._seen[(st.slug, st.channel)] = st.state
        self.notices += told
        lost = [lease.name for lease in self.leases if lease.lost]
        if lost:
            raise StateConflict(f"{st.slug}/{st.channel}: lock {lost[0]} lost; another run may act")

    def cached_media(self, sha256: str, kind: str) -> str | None:
        """A previous upload of the same bytes."""
        row = self.session.get(MediaUpload, (sha256, kind))
        return row.value if row else None

    def remember_media(self, sha256: str, kind: str, value: str) -> None:
        """Record an upload; a concurrent identical record is fine."""
        self.session.add(MediaUpload(sha256=sha256, kind=kind, value=value))
        try:
            self.session.commit()
        except IntegrityError:
            self.session.rollback()

    def forget_media(self, sha256: str, kind: str, value: str) -> None:
        """Drop an upload the platform no longer has; one another run replaced stays."""
        self.session.execute(
            delete(MediaUpload).where(
                MediaUpload.sha256 == sha256, MediaUpload.kind == kind, MediaUpload.value == value
            )
        )
        self.session.commit()


def states(session: Session) -> dict[tuple[str, str], ChannelState]:
    """Every saved channel state, by (slug, channel)."""
    rows = session.scalars(select(PublishState)).all()
    return {(r.slug, r.channel): _state(r) for r in rows}


def record_hint(session: Session, publish_id: str, status: str, article_url: str) -> str | None:
    """Note what a PUBLISHJOBFINISH event said on the matching channel; return its slug."""
    row = session.scalar(select(PublishState).where(PublishState.publish_id == publish_id))
    if row is None:
        return None
    row.hint = f"PUBLISHJOBFINISH publish_status={status} {article_url}".strip()
    session.commit()
    return row.slug


def record_mass_finish(session: Session, finish: MassFinish) -> tuple[PublishState, bool] | None:
    """Record MASSSENDJOBFINISH on the mass-sent channel with that msg_id; None if none has.

    Returns the row and whether this event failed it.

    "send success" keeps it published and records the article's URL (its
    ArticleUrlResult); "send fail" or err(n) fails it with the reason (reopening
    starts a new draft and send). Not committed: the caller commits it with the
    notices it writes.
    """
    row = session.scalar(
        select(PublishState).where(
            PublishState.msg_id == finish.msg_id, PublishState.channel == "wechat"
        )
    )
    if row is None:
        return None
    row.hint = f"MASSSENDJOBFINISH {finish.status}：{finish.counts}"
    failed_now = not finish.delivered and row.state != "failed"
    if finish.delivered:
        row.article_url = next(iter(finish.article_urls), None) or row.article_url
    elif failed_now:
        row.state, row.failed_step, row.retry_after = "failed", "submitted", None
        row.reason = f"{finish.reason}；{finish.counts}"
    row.version += 1
    row.updated_at = datetime.now(UTC).replace(tzinfo=None)
    return row, failed_now
