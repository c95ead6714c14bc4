"""Binding staff to stations and unbinding them: the one rule for the CLI and the console."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.models import Staff, Station
from bot.models.stations import ROLES

# WeChat openids are 28 URL-safe characters; the sandbox uses shorter ones.
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
LOGIN = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")


class BindingError(ValueError):
    """A binding cannot be made; the message says why, in plain Chinese."""


def bind(
    session: Session,
    station: Station,
    name: str,
    openid: str,
    role: str = "",
) -> tuple[Staff, Station | None]:
    """Bind (or move, rename, re-bind) the member with this openid; (member, old station if moved).

    The caller commits.
    """
    name = name.strip()
    if not name or len(name) > 32:
        raise BindingError("姓名不能为空，最多 32 个字")
    if not OPENID.match(openid):
        raise BindingError("openid 只含字母、数字、- 和 _")
    if role and role not in ROLES:
        raise BindingError(f"角色只能是 {'、'.join(ROLES)}")
    member = session.scalar(select(Staff).where(Staff.openid == openid))
    moved_from = None
    if member is None:
        member = Staff(openid=openid)
        session.add(member)
    elif member.station_id != station.id and member.unbound_at is None:
        moved_from = member.station
    member.name, member.station, member.role = name, station, role
    if member.unbound_at is not None:
        member.unbound_at = None
        member.auth_epoch = (member.auth_epoch or 0) + 1
    session.flush()
    return member, moved_from


def set_login(session: Session, member: Staff, login: str) -> None:
    """Give a member a desktop login name (unique, case-insensitive); the caller commits."""
    if not LOGIN.match(login):
        raise BindingError("用户名 3 到 32 位：字母、数字、. _ -")
    taken = session.scalar(
        select(Staff).where(func.lower(Staff.login) == login.lower(), Staff.id != member.id)
    )
    if taken is not None:
        raise BindingError(f"用户名 {login} 已被占用")
    member.login = login
    session.flush()


def unbind(member: Staff) -> None:
    """End a binding: no more notices or sign-ins; the row stays for the records it signs."""
    member.unbound_at = utcnow()
    member.auth_epoch = (member.auth_epoch or 0) + 1


def bound(query):
    """Restrict a query on Staff to members still bound."""
    return query.where(Staff.unbound_at.is_(None))
