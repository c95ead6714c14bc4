"""Editing a veteran's file by hand (the console), each changed field kept in its history.

The history (file_changes) records who changed which field, when, and the value
before and after, encrypted as the field itself would be: the address or the
emergency contact must not sit in the clear in their own history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.crypto import FieldCipher
from bot.models import FileChange, Staff, Veteran
from bot.records.identity import InvalidInput, normalize_mobile


@dataclass(frozen=True)
class Field:
    """One editable field: its label, the column, and whether the column is encrypted."""

    label: str
    column: str
    kind: str = "text"  # text, flag, date, phone
    encrypted: bool = False
    max_length: int = 64


FIELDS = {
    f.column: f
    for f in (
        Field("手机号", "phone", "phone"),
        Field("村民小组", "village_group", max_length=32),
        Field("住址", "address_cipher", encrypted=True, max_length=128),
        Field("紧急联系人", "emergency_cipher", encrypted=True),
        Field("光荣之家牌匾已挂", "plaque_hung", "flag"),
        Field("挂牌日期", "plaque_hung_on", "date"),
        Field("结对党员户", "paired_cipher", encrypted=True, max_length=32),
        Field("志愿服务队队员", "volunteer", "flag"),
        Field("困难", "hardship", "flag"),
        Field("伤残", "disability", "flag"),
    )
}


def current(veteran: Veteran, cipher: FieldCipher) -> dict[str, object]:
    """Every editable field's value as the form shows it (decrypted)."""
    values = {}
    for name, spec in FIELDS.items():
        value = getattr(veteran, name)
        if spec.encrypted:
            value = cipher.decrypt(value) if value else ""
        values[name] = value
    return values


def parse(form: dict[str, str]) -> dict[str, object]:
    """A submitted form's values, checked; InvalidInput names the first bad field."""
    values: dict[str, object] = {}
    for name, spec in FIELDS.items():
        raw = (form.get(name) or "").strip()
        if spec.kind == "flag":
            values[name] = raw in ("1", "on", "true", "是")
        elif spec.kind == "date":
            try:
                values[name] = date.fromisoformat(raw) if raw else None
            except ValueError:
                raise InvalidInput(f"{spec.label}：日期格式是 2026-08-01") from None
        elif spec.kind == "phone":
            values[name] = normalize_mobile(raw) if raw else ""
        else:
            if len(raw) > spec.max_length:
                raise InvalidInput(f"{spec.label}：最多 {spec.max_length} 个字")
            values[name] = raw
    if values["plaque_hung_on"] and not values["plaque_hung"]:
        raise InvalidInput("挂牌日期：先勾选“光荣之家牌匾已挂”")
    return values


def _show(spec: Field, value: object) -> str:
    if spec.kind == "flag":
        return "是" if value else "否"
    return "" if value is None else str(value)


def edit(
    session: Session,
    cipher: FieldCipher,
    veteran: Veteran,
    values: dict[str, object],
    staff: Staff,
    actor: str,
) -> list[str]:
    """Apply the values that differ, one history row per changed field; the labels changed.

    The caller commits (with its audit entry).
    """
    before = current(veteran, cipher)
    changed = []
    for name, value in values.items():
        spec = FIELDS[name]
        if before[name] == value:
            continue
        stored = cipher.encrypt(value) if spec.encrypted and value else value
        setattr(veteran, name, "" if spec.encrypted and not value else stored)
        session.add(
            FileChange(
                veteran_id=veteran.id,
                staff_id=staff.id,
                actor=actor,
                field=name,
                old_cipher=cipher.encrypt(_show(spec, before[name])),
                new_cipher=cipher.encrypt(_show(spec, value)),
            )
        )
        changed.append(spec.label)
    session.flush()
    return changed


@dataclass(frozen=True)
class Change:
    """One history line as shown: when, who, which field, before and after."""

    at: object
    actor: str
    label: str
    old: str
    new: str


def history(session: Session, cipher: FieldCipher, veteran_id: int) -> list[Change]:
    """A file's edits, newest first."""
    rows = session.scalars(
        select(FileChange).where(FileChange.veteran_id == veteran_id).order_by(FileChange.id.desc())
    )
    return [
        Change(
            r.created_at,
            r.actor,
            FIELDS[r.field].label if r.field in FIELDS else r.field,
            cipher.decrypt(r.old_cipher) if r.old_cipher else "",
            cipher.decrypt(r.new_cipher) if r.new_cipher else "",
        )
        for r in rows
    ]
