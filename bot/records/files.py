"""Veteran files (一人一档): one per ID number, with a unified number per village station."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.crypto import FieldCipher
from bot.models import Station, Veteran
from bot.records.identity import IdNumber

ALLOCATION_ATTEMPTS = 5


@dataclass
class FileFields:
    """What a registration or a ledger row says about a veteran."""

    name: str
    id_number: IdNumber
    station: Station
    phone: str = ""
    ethnicity: str = ""
    enlist_year: int | None = None
    discharge_year: int | None = None
    category: str = "退役士兵"


def format_file_no(station_code: str, seq: int) -> str:
    """The unified number: <village station code>-NNNN (it never embeds the ID number)."""
    return f"{station_code}-{seq:04d}"


def find(session: Session, cipher: FieldCipher, id_number: str) -> Veteran | None:
    """The file for an ID number, found by keyed hash without decrypting anything."""
    hashes = cipher.lookup_hashes(id_number)  # more than one while a key rotation runs
    return session.scalar(select(Veteran).where(Veteran.id_hash.in_(hashes)))


def by_openid(session: Session, openid: str) -> Veteran | None:
    """The file a WeChat follower registered or claimed."""
    return session.scalar(select(Veteran).where(Veteran.openid == openid))


def save(
    session: Session,
    cipher: FieldCipher,
    fields: FileFields,
    *,
    openid: str | None = None,
    source: str = "wechat",
) -> tuple[Veteran, bool]:
    """Create or update the file for fields.id_number; return (file, created).

    An existing file keeps its number, even when the veteran moves station, so
    the number stays a stable handle for staff (dynamic tracking). A follower
    registering with the ID of a ledger-imported file claims that file.
    """
    veteran = find(session, cipher, fields.id_number.value)
    created = veteran is None
    if created:
        veteran = Veteran(source=source)
    veteran.name = fields.name
    # Both under DATA_KEY, also for a file still under a previous key.
    veteran.id_hash = cipher.lookup_hash(fields.id_number.value)
    veteran.id_cipher = cipher.encrypt(fields.id_number.value)
    # The year only: the full date would all but give the ID number away (docs/architecture.md).
    veteran.birth_year = fields.id_number.birth_date.year
    veteran.gender = fields.id_number.gender
    veteran.station = fields.station
    # A later answer left blank keeps what the file already holds.
    for attr in ("phone", "ethnicity", "enlist_year", "discharge_year", "category"):
        value = getattr(fields, attr)
        if value or getattr(veteran, attr) is None:
            setattr(veteran, attr, value)
    if openid:
        other = by_openid(session, openid)
        if other is not None and other is not veteran:
            other.openid = None  # one WeChat account holds one file
            session.flush()
        veteran.openid = openid
        veteran.registered_at = utcnow()
    if created:
        _insert_numbered(session, veteran, fields.station)
    else:
        session.flush()
    return veteran, created


def _insert_numbered(session: Session, veteran: Veteran, station: Station) -> None:
    # Numbers are counted by the prefix that issued them, not by where veterans
    # live now: a veteran who moved keeps an old station's number. Two
    # registrations may still pick the same next number; the unique file_no
    # decides, and the loser takes the next one.
    prefix = f"{station.code}-"
    issued = select(func.max(Veteran.seq)).where(
        Veteran.file_no.startswith(prefix, autoescape=True)
    )
    for _ in range(ALLOCATION_ATTEMPTS):
        seq = (session.scalar(issued) or 0) + 1
        veteran.seq, veteran.file_no = seq, format_file_no(station.code, seq)
        savepoint = session.begin_nested()
        try:
            session.add(veteran)
            session.flush()
        except IntegrityError:
            savepoint.rollback()
            continue
        savepoint.commit()
        return
    raise RuntimeError("could not allocate a file number; try again")
