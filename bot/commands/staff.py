"""`veteranbot staff ...`: bind station staff to their WeChat accounts and console logins."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from bot import db, store
from bot.console import audit, passwords
from bot.models import Staff
from bot.records import directory, staffing
from bot.records.exports import os_user


@click.group("staff")
def staff():
    """Staff commands."""


@staff.command("add")
@click.option("--station", "code", required=True, help="The station's code.")
@click.option("--name", required=True, help="The staff member's name.")
@click.option("--openid", required=True, help="Their openid on the account.")
@click.option(
    "--login", help="A console login name for desktop sign-in; prints a link to set the password."
)
@click.option(
    "--role",
    type=click.Choice(["prefecture", "editor"]),
    help="Console role beyond the station's level: prefecture (sees every county) or editor.",
)
@with_appcontext
def add(code: str, name: str, openid: str, login: str | None, role: str | None) -> None:
    """Bind a staff member's WeChat to a station (again: move, rename, re-bind, new link)."""
    session = db.session()
    station = directory.by_code(session, code)
    if station is None:
        raise click.ClickException(f"没有编号为 {code} 的服务站（先用 stations import 导入）")
    try:
        member, moved_from = staffing.bind(session, station, name, openid, role or "")
        if login:
            staffing.set_login(session, member, login)
    except staffing.BindingError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(
        session, f"cli:{os_user()}", "bind", station.id, staff=member.name, staff_id=member.id
    )
    session.commit()
    note = f"（原在{moved_from.name}）" if moved_from else ""
    click.echo(f"{member.name} 已绑定到 {station.name}（{station.code}）{note}")
    if login:
        token = passwords.new_link(store.client(), member.id)
        link = f"{current_app.config['PUBLIC_URL']}/console/password/{token}"
        click.echo(f"用户名 {member.login}；设置密码的链接（24 小时内有效，只能用一次）：")
        click.echo(link)


@staff.command("unbind")
@click.option("--openid", required=True, help="The staff member's openid.")
@with_appcontext
def unbind(openid: str) -> None:
    """End a staff member's binding: no more notices, reminders or console sign-in."""
    session = db.session()
    member = session.scalar(select(Staff).where(Staff.openid == openid))
    if member is None or member.unbound_at is not None:
        raise click.ClickException("没有绑定这个 openid 的工作人员")
    staffing.unbind(member)
    audit.record(
        session,
        f"cli:{os_user()}",
        "unbind",
        member.station_id,
        staff=member.name,
        staff_id=member.id,
    )
    session.commit()
    click.echo(f"{member.name} 已解除与 {member.station.name} 的绑定")


@staff.command("list")
@click.option(
    "--station",
    "code",
    help="Only who answers for this station: its own staff, those above it, those below it.",
)
@with_appcontext
def list_command(code: str | None) -> None:
    """List bound staff, their station, role and login, and the villages a township's answer for."""
    query = staffing.bound(select(Staff)).order_by(Staff.station_id, Staff.id)
    session = db.session()
    if code:
        station = directory.by_code(session, code)
        if station is None:
            raise click.ClickException(f"没有编号为 {code} 的服务站")
        answering = {s.id for s in directory.responsible_staff(session, station)}
        below = directory.subtree_ids(session, station)
        query = query.where(or_(Staff.id.in_(answering), Staff.station_id.in_(below)))
    members = list(session.scalars(query))
    if not members:
        click.echo("没有绑定的工作人员" + (f"负责 {code}" if code else ""))
    for member in members:
        line = f"{member.station.code}\t{member.station.name}\t{member.name}\t{member.openid}"
        line += f"\t{member.effective_role}" + (f"\t{member.login}" if member.login else "")
        if member.station.level == "township":
            villages = [
                directory.short_name(v.name) for v in directory.children(session, member.station)
            ]
            line += f"\t另负责 {len(villages)} 个村：{'、'.join(villages)}" if villages else ""
        click.echo(line)
