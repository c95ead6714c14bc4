"""Every column the field cipher writes, and moving them all under a new DATA_KEY.

The registry is what `veteranbot keys rotate` re-encrypts and what /healthz
samples: a new encrypted column is one line in COLUMNS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from cryptography.fernet import InvalidToken
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from bot import models  # noqa: F401  (registers every table on Base.metadata)
from bot.crypto import FieldCipher
from bot.db import Base


@dataclass(frozen=True)
class Encrypted:
    """A column of field-cipher text; hash_column, if any, holds the plaintext's lookup_hash."""

    table: str
    column: str
    hash_column: str | None = None

    @property
    def name(self) -> str:
        return f"{self.table}.{self.column}"


COLUMNS = (
    # The look-up hash is keyed by DATA_KEY too, and rotates with it: a leaked old
    # key would otherwise still let anyone with a dump test ID numbers against it.
    Encrypted("veterans", "id_cipher", hash_column="id_hash"),
    Encrypted("contacts", "note_cipher"),
    Encrypted("voice_messages", "audio"),
    Encrypted("case_events", "note_cipher"),
    Encrypted("veterans", "address_cipher"),
    Encrypted("veterans", "emergency_cipher"),
    Encrypted("veterans", "paired_cipher"),
    Encrypted("file_changes", "old_cipher"),
    Encrypted("file_changes", "new_cipher"),
)
# A batch re-encrypted and committed at a time: a rotation stopped halfway loses at
# most one batch's work, and holds no row locked for long.
BATCH = 200


@dataclass
class Progress:
    """What a rotation found in one column."""

    column: Encrypted
    rows: int = 0
    rotated: int = 0
    current: int = 0  # already under DATA_KEY: written since, or rotated by an earlier run
    changed: int = 0  # rewritten by the bot between our read and our write; the next run sees it
    unreadable: list[int] = field(default_factory=list)  # ids no key of the ring opens


def rotate(
    session: Session,
    cipher: FieldCipher,
    batch: int = BATCH,
    report: Callable[[Progress], None] = lambda _p: None,
) -> list[Progress]:
    """Re-encrypt every registered column under DATA_KEY, a committed batch at a time.

    Resumable by construction: a value already under DATA_KEY is left alone, so
    a run stopped anywhere is finished by the next. Each write is conditional on
    the value read, so a row the bot rewrites meanwhile (it writes under DATA_KEY
    already) is never overwritten with stale text.
    """
    done = []
    for column in COLUMNS:
        progress = Progress(column)
        for rows in _batches(session, column, batch):
            for row_id, token in rows:
                _rotate_one(session, cipher, column, row_id, token, progress)
            session.commit()
            report(progress)
        done.append(progress)
    return done


def _rotate_one(session, cipher, column, row_id, token, progress: Progress) -> None:
    progress.rows += 1
    if cipher.is_current(token):
        progress.current += 1
        return
    try:
        plain = cipher.decrypt(token)
    except InvalidToken:
        progress.unreadable.append(row_id)
        return
    table = _table(column)
    values = {column.column: cipher.encrypt(plain)}
    if column.hash_column:
        values[column.hash_column] = cipher.lookup_hash(plain)
    written = session.execute(
        table.update().where(table.c.id == row_id, table.c[column.column] == token).values(**values)
    )
    if written.rowcount == 1:
        progress.rotated += 1
    else:
        progress.changed += 1


def _batches(session: Session, column: Encrypted, size: int) -> Iterator[list]:
    """(id, value) of every non-empty value, in id order, size rows at a time."""
    table = _table(column)
    value = table.c[column.column]
    last = None
    while True:
        query = select(table.c.id, value).where(value.is_not(None), value != "")
        if last is not None:
            query = query.where(table.c.id > last)
        rows = session.execute(query.order_by(table.c.id).limit(size)).all()
        session.rollback()  # no read transaction held open across the batch's work
        if not rows:
            return
        last = rows[-1][0]
        yield rows


def unreadable_sample(session: Session, cipher: FieldCipher) -> str | None:
    """Which sample row the key ring cannot open ("veterans.id_cipher #3"), or None.

    The oldest and the newest value of each column: the newest catches a wrong
    DATA_KEY, the oldest a previous key dropped before its rotation ended.
    """
    for column in COLUMNS:
        table = _table(column)
        value = table.c[column.column]
        query = select(table.c.id, value).where(value.is_not(None), value != "").limit(1)
        for order in (table.c.id, table.c.id.desc()):
            row = session.execute(query.order_by(order)).first()
            if row is None:
                break
            try:
                cipher.decrypt(row[1])
            except InvalidToken:
                return f"{column.name} #{row[0]}"
    return None


def _table(column: Encrypted) -> Table:
    return Base.metadata.tables[column.table]
