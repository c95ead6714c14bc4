"""Staff contacts with veterans (电话联系 / 上门走访): the log, who is due, condolence lists.

Everything here is scoped by geography, as the privacy rules require: a
station's area is the station and every station under it, so village staff
see their village, township staff their township and its villages, and county
staff their county.

A veteran counts as contacted in a calendar month (Asia/Shanghai) after any
call or visit that month, except veterans in hardship (困难) or with a
disability (伤残): they are owed a visit, and a phone call does not clear them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.care import occasions as holidays
from bot.care.occasions import Occasion
from bot.crypto import FieldCipher
from bot.models import Contact, Staff, Station, Veteran
from bot.records.directory import subtree_ids

KINDS = {"phone": "电话", "visit": "走访"}
# Martyrs' families (烈属) are on every condolence list, whatever their means.
MARTYR_CATEGORY = "烈属"
# The days staff bring condolences to martyrs' families and veterans in hardship.
CONDOLENCE_OCCASIONS = ("spring-festival", "army-day")
# How many days ahead of an occasion its condolence list goes out.
CONDOLENCE_LEAD_DAYS = 7


@dataclass(frozen=True)
class Due:
    """A veteran not yet contacted this month, and whether only a visit will do."""

    veteran: Veteran
    needs_visit: bool

    @property
    def reason(self) -> str:
        """Why a visit is owed: 困难, 伤残 or both; empty when a call will do."""
        v = self.veteran
        return "、".join(
            word for flag, word in ((v.hardship, "困难"), (v.disability, "伤残")) if flag
        )


@dataclass(frozen=True)
class Condolence:
    """One household on a condolence-visit list (慰问名单), with why it is there."""

    veteran: Veteran
    reason: str


def month_bounds(day: date) -> tuple[date, date]:
    """The first day of day's month and the first day of the next."""
    start = day.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def needs_visit(veteran: Veteran) -> bool:
    """True for veterans owed a visit each month: in hardship or with a disability."""
    return bool(veteran.hardship or veteran.disability)


# -- finding and checking ------------------------------------------------------


def by_file_no(session: Session, file_no: str) -> Veteran | None:
    """The file with this unified number, read leniently (full-width, spoken 杠, no dash)."""
    number = normalise_file_no(file_no)
    if not number:
        return None
    found = session.scalar(select(Veteran).where(Veteran.file_no == number))
    if found is None:
        # Speech recognition and hurried typing drop or move the dashes
        # (513429-107-01-0001 said as 513429107010001): match on the characters
        # alone, and only when that names a single file.
        bare = number.replace("-", "")
        hits = session.scalars(
            select(Veteran).where(func.replace(Veteran.file_no, "-", "") == bare).limit(2)
        ).all()
        found = hits[0] if len(hits) == 1 else None
    return found


def normalise_file_no(text: str) -> str:
    """A typed or spoken number in the ledger's spelling: ASCII, upper case, '-' as dash."""
    value = unicodedata.normalize("NFKC", text).strip()
    for dash in ("杠", "—", "–", "_"):
        value = value.replace(dash, "-")
    return value.upper()


def staff_by_openid(session: Session, openid: str) -> Staff | None:
    """The staff member bound to this WeChat account, if any."""
    return session.scalar(select(Staff).where(Staff.openid == openid, Staff.unbound_at.is_(None)))


def area_ids(session: Session, station: Station) -> list[int]:
    """The ids of the stations a station's staff answer for: itself and all below it."""
    return subtree_ids(session, station)


def in_area(session: Session, station: Station, veteran: Veteran) -> bool:
    """True when the veteran's file belongs to the station's area."""
    return veteran.station_id in area_ids(session, station)


# -- recording -------------------------------------------------------------------


def record(
    session: Session,
    cipher: FieldCipher,
    veteran: Veteran,
    kind: str,
    on: date,
    note: str = "",
    staff: Staff | None = None,
    source: str = "wechat",
) -> Contact:
    """Add one call or visit to the log, the note encrypted; the caller commits."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}")
    contact = Contact(
        veteran=veteran,
        staff=staff,
        kind=kind,
        contacted_on=on,
        note_cipher=cipher.encrypt(note) if note else "",
        source=source,
    )
    session.add(contact)
    session.flush()
    return contact


@dataclass(frozen=True)
class Logged:
    """What logging a contact did: the new row (None for a repeat), and that day's earlier ones."""

    contact: Contact | None
    earlier: list[Contact]

    def said(self) -> str:
        """The earlier records of the day, as staff read them: 电话（张三）、走访（李四）."""
        return "、".join(
            f"{KINDS[c.kind]}（{c.staff.name if c.staff else '未署名'}）" for c in self.earlier
        )


def record_once(
    session: Session,
    cipher: FieldCipher,
    veteran: Veteran,
    kind: str,
    on: date,
    note: str = "",
    staff: Staff | None = None,
    source: str = "wechat",
) -> Logged:
    """record(), unless the same person logged the same kind for this veteran that day.

    A second tap on the same command, or the same visit typed again in the
    evening, must not count twice; a call and then a visit, or two colleagues'
    visits, are real and are kept, with the earlier ones said back.
    """
    earlier = list(
        session.scalars(
            select(Contact)
            .where(Contact.veteran_id == veteran.id, Contact.contacted_on == on)
            .order_by(Contact.id)
        )
    )
    staff_id = staff.id if staff else None
    if any(c.kind == kind and c.staff_id == staff_id for c in earlier):
        return Logged(None, earlier)
    return Logged(record(session, cipher, veteran, kind, on, note, staff, source), earlier)


def example_file_no(session: Session, area: Station) -> str | None:
    """The first 统一编号 in an area, for examples staff can send as written."""
    return session.scalar(
        select(Veteran.file_no)
        .where(Veteran.station_id.in_(subtree_ids(session, area)))
        .order_by(Veteran.file_no)
        .limit(1)
    )


# -- who is due ------------------------------------------------------------------


def due(session: Session, station: Station, day: date) -> list[Due]:
    """Veterans in the area not yet contacted in day's month: visit-owed first, then by number."""
    start, end = month_bounds(day)
    this_month = and_(Contact.contacted_on >= start, Contact.contacted_on < end)
    contacted = select(Contact.veteran_id).where(this_month)
    visited = select(Contact.veteran_id).where(this_month, Contact.kind == "visit")
    owed_visit = or_(Veteran.hardship.is_(True), Veteran.disability.is_(True))
    query = (
        select(Veteran)
        .where(Veteran.station_id.in_(area_ids(session, station)))
        .where(
            or_(
                and_(owed_visit, Veteran.id.not_in(visited)),
                and_(~owed_visit, Veteran.id.not_in(contacted)),
            )
        )
        .order_by(Veteran.file_no)
    )
    rows = [Due(v, needs_visit(v)) for v in session.scalars(query)]
    # Stable sort: the visit-owed keep their number order, ahead of the rest.
    return sorted(rows, key=lambda d: not d.needs_visit)


# -- condolence lists ------------------------------------------------------------


def occasions(year: int) -> list[tuple[date, Occasion]]:
    """The year's condolence occasions with their days: Spring Festival, then Army Day."""
    return [(holidays.date_of(key, year), holidays.OCCASIONS[key]) for key in CONDOLENCE_OCCASIONS]


def next_occasion(day: date) -> tuple[date, Occasion]:
    """The first condolence occasion on or after day, with its day."""
    ahead = occasions(day.year) + occasions(day.year + 1)
    return next((on, o) for on, o in ahead if on >= day)


def occasion_due(day: date, lead_days: int = CONDOLENCE_LEAD_DAYS) -> tuple[date, Occasion] | None:
    """The occasion whose list is due, with its day: one coming within lead_days (not today).

    A window rather than one exact day, so a missed beat still sends the list
    on a later day; the sender's markers keep it to one list per occasion.
    """
    on, coming = next_occasion(day + timedelta(days=1))
    return (on, coming) if (on - day).days <= lead_days else None


def condolence_list(session: Session, station: Station) -> list[Condolence]:
    """Martyrs' families and veterans in hardship in the area: martyrs' families first."""
    query = (
        select(Veteran)
        .where(Veteran.station_id.in_(area_ids(session, station)))
        .where(or_(Veteran.category == MARTYR_CATEGORY, Veteran.hardship.is_(True)))
        .order_by(Veteran.file_no)
    )
    rows = []
    for v in session.scalars(query):
        reasons = [MARTYR_CATEGORY] if v.category == MARTYR_CATEGORY else []
        reasons += ["困难"] if v.hardship else []
        rows.append(Condolence(v, "、".join(reasons)))
    return sorted(rows, key=lambda c: not c.reason.startswith(MARTYR_CATEGORY))
