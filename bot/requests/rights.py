"""The veteran's own rights over their file: see it (masked), have it corrected or deleted.

更正 and 删除 open a case of that kind at the veteran's station, worked like
any other. erase_veteran() carries a deletion out: the personal fields go,
and the row stays as an anonymous tombstone with its file number, so the
ledger's numbering and its counts by station and category hold.
"""

from __future__ import annotations

from sqlalchemy import or_, select, update

from bot.crypto import FieldCipher, mask_id, mask_phone
from bot.models import AuditLog, Consent, Contact, HelpRequest, Staff, Veteran
from bot.requests import notices, timeline, wording, workflow
from bot.requests.desk import Desk

ERASED = "（已删除）"


def my_file(cipher: FieldCipher, veteran: Veteran) -> dict:
    """The veteran's own file as they may see it over WeChat: numbers masked."""
    return {
        "file_no": veteran.file_no,
        "name": veteran.name,
        "gender": veteran.gender,
        "ethnicity": veteran.ethnicity,
        "id_number": mask_id(cipher.decrypt(veteran.id_cipher)),
        "birth_year": veteran.birth_year,
        "phone": mask_phone(veteran.phone) if veteran.phone else "",
        "station": veteran.station.name,
        "enlist_year": veteran.enlist_year,
        "discharge_year": veteran.discharge_year,
        "category": veteran.category,
    }


def open_rights_case(desk: Desk, veteran: Veteran, openid: str, kind: str, text: str):
    """A 更正 or 删除 case for the veteran's station (no commit); the case and who was told."""
    assert kind in ("更正", "删除")
    return workflow.open_case(
        desk,
        openid=openid,
        station=veteran.station,
        category="其他",
        description=text,
        veteran_id=veteran.id,
        kind=kind,
    )


def open_deletion(desk: Desk, veteran: Veteran) -> HelpRequest | None:
    """The veteran's open 删除 case, if one is waiting."""
    return desk.session.scalar(
        select(HelpRequest).where(
            HelpRequest.veteran_id == veteran.id,
            HelpRequest.kind == "删除",
            HelpRequest.status.in_(workflow.OPEN),
        )
    )


def erase_veteran(desk: Desk, veteran: Veteran, actor: str, member: Staff | None = None) -> None:
    """Erase a veteran's personal data, keep the tombstone, tell them, audit it (no commit).

    Goes: name, ID number, birth year, phone, ethnicity, service years, the
    hardship and disability flags, the WeChat link; the notes of their
    contacts; their cases' text, phone and timeline notes. Stays: the file
    number, station, gender and category (statistics), and the dates.
    """
    session, file_no = desk.session, veteran.file_no
    case = open_deletion(desk, veteran)
    if case is None and veteran.openid:
        case, _ = open_rights_case(desk, veteran, veteran.openid, "删除", "删除我的信息")
    if case is not None:
        case.resolved_at = desk.now
        event = timeline.record(
            session,
            desk.cipher,
            case,
            "办结",
            at=desk.now,
            actor="staff" if member else "system",
            staff=member,
            to_status="已办结",
            note="已删除个人信息",
            public=True,
        )
        notices.tell_veteran(desk, case, event, wording.erased(file_no), "已办结")
    cases = list(
        session.scalars(
            select(HelpRequest.id).where(
                or_(
                    HelpRequest.veteran_id == veteran.id,
                    HelpRequest.openid == (veteran.openid or "\x00"),
                )
            )
        )
    )
    if cases:
        session.execute(
            update(HelpRequest)
            .where(HelpRequest.id.in_(cases))
            .values(description=ERASED, contact_phone="", openid="")
            .execution_options(synchronize_session=False)
        )
        timeline.erase_notes(session, cases)
    session.execute(update(Contact).where(Contact.veteran_id == veteran.id).values(note_cipher=""))
    if veteran.openid:
        session.execute(
            update(Consent)
            .where(Consent.openid == veteran.openid, Consent.withdrawn_at.is_(None))
            .values(withdrawn_at=desk.now)
        )
    veteran.name, veteran.ethnicity, veteran.phone = ERASED, "", ""
    veteran.id_cipher, veteran.id_hash = "", f"erased:{file_no}"
    veteran.birth_year, veteran.enlist_year, veteran.discharge_year = 0, None, None
    veteran.hardship = veteran.disability = False
    veteran.openid, veteran.erased_at = None, desk.now
    session.add(AuditLog(actor=actor[:64], action="erase.veteran", detail={"file_no": file_no}))
    session.flush()
