"""The audit log as the console writes and reads it: reveals, exports, sign-ins, bindings, edits."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console.scope import Scope
from bot.models import AuditLog, Staff

# What each action is called on the 审计 page.
ACTIONS = {
    "reveal": "查看身份证号",
    "export.ledger": "导出台账",
    "export.requests": "导出求助",
    "export.stats": "导出统计",
    "login": "登录",
    "login.failed": "登录失败",
    "password.set": "设置密码",
    "bind": "绑定工作人员",
    "unbind": "解除绑定",
    "edit": "修改档案",
    "erase": "删除个人信息",
}
PAGE_SIZE = 100


def actor(member: Staff) -> str:
    """How the log names a staff member: name and id (ids never change, names may)."""
    return f"{member.name}#{member.id}"[:64]


def record(
    session: Session, who: Staff | str, action: str, station_id: int | None, **detail
) -> AuditLog:
    """Add one entry about a station's business (the caller commits, with the change)."""
    entry = AuditLog(actor=actor(who) if isinstance(who, Staff) else who[:64], action=action)
    entry.station_id = station_id
    entry.detail = detail
    session.add(entry)
    return entry


def latest(
    session: Session, scope: Scope, action: str | None = None, before: int | None = None
) -> list:
    """The newest entries in scope (of one action, or all), a page at a time, newest first."""
    query = select(AuditLog).order_by(AuditLog.id.desc()).limit(PAGE_SIZE)
    if scope.station_ids is not None:
        query = query.where(AuditLog.station_id.in_(scope.station_ids))
    if action:
        query = query.where(AuditLog.action == action)
    if before:
        query = query.where(AuditLog.id < before)
    return list(session.scalars(query))
