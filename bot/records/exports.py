"""Exports of the ledger (台账) and of help requests, each recorded in the audit log."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import clock
from bot.crypto import FieldCipher, mask_id
from bot.models import AuditLog, HelpRequest, Station, Veteran
from bot.records import directory
from bot.records.imports.table_files import write_table
from bot.requests import sla

LEDGER_COLUMNS = (
    "统一编号",
    "姓名",
    "性别",
    "民族",
    "身份证号",
    "手机号",
    "服务站",
    "入伍年份",
    "退役年份",
    "类别",
    "登记时间",
)
REQUEST_COLUMNS = (
    "求助编号",
    "统一编号",
    "姓名",
    "手机号",
    "类别",
    "内容",
    "状态",
    "服务站",
    "提交时间",
)
TIME_FORMAT = "%Y-%m-%d %H:%M"


def local_time(stored: datetime | None) -> str:
    """A stored (naive UTC) timestamp as Beijing time, to the minute."""
    if stored is None:
        return ""
    return clock.local(stored).strftime(TIME_FORMAT)


def ledger_rows(session: Session, cipher: FieldCipher, station: Station | None = None) -> list:
    """One row per file, in number order, with the ID number masked."""
    query = select(Veteran).order_by(Veteran.file_no)
    if station is not None:
        query = query.where(Veteran.station_id.in_(directory.subtree_ids(session, station)))
    return [
        [
            v.file_no,
            v.name,
            v.gender,
            v.ethnicity,
            mask_id(cipher.decrypt(v.id_cipher)),
            v.phone,
            v.station.name,
            v.enlist_year,
            v.discharge_year,
            v.category,
            # A ledger file's date is when it was opened on paper; a WeChat file's
            # is when the veteran registered.
            local_time(v.created_at),
        ]
        for v in session.scalars(query)
    ]


def request_rows(session: Session, station: Station | None = None) -> list:
    """One row per help request, oldest first; 手机号 is an unregistered requester's own."""
    now = clock.utcnow()
    query = select(HelpRequest).order_by(HelpRequest.created_at, HelpRequest.id)
    if station is not None:
        query = query.where(HelpRequest.station_id.in_(directory.subtree_ids(session, station)))
    return [
        [
            r.number or "",
            r.veteran.file_no if r.veteran else "",
            r.veteran.name if r.veteran else "",
            r.contact_phone,  # the unregistered requester's, to call back; files have theirs
            r.category if r.kind == "求助" else r.kind,
            r.description,
            sla.label(r, now),
            r.station.name,
            local_time(r.created_at),
        ]
        for r in session.scalars(query)
    ]


def os_user() -> str:
    """Who runs this command, as the operating system knows them."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        # A container user with no passwd entry has no name to give.
        return "unknown"


def export(
    session: Session,
    out: BinaryIO,
    *,
    kind: str,
    columns: tuple[str, ...],
    rows: list,
    fmt: str,
    actor: str,
    detail: dict,
) -> AuditLog:
    """Record the export in the audit log, commit, then write the table to out."""
    entry = AuditLog(
        actor=actor[:64],
        action=f"export.{kind}",
        detail={"format": fmt, "rows": len(rows), **detail},
    )
    session.add(entry)
    # Committed before a single row leaves the process: an export that fails
    # half-way is still logged, but no export ever goes unlogged.
    session.commit()
    write_table(out, fmt, columns, rows)
    return entry
