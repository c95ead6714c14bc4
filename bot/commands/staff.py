"""`veteranbot staff ...`: bind station staff to their WeChat accounts."""

from __future__ import annotations

import re

import click
from flask.cli import with_appcontext
from sqlalchemy import or_, select

from bot import db
from bot.models import Staff
from bot.records import directory

# WeChat openids are 28 URL-safe characters; the sandbox uses shorter ones.
OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@click.group("staff")
def staff():
    """Staff commands."""


@staff.command("add")
@click.option("--station", "code", required=True, help="The station's code.")
@click.option("--name", required=True, help="The staff member's name.")
@click.option("--openid", required=True, help="Their openid on the account.")
@with_appcontext
def add(code: str, name: str, openid: str) -> None:
    """Bind a staff member's WeChat to a station (again: move or rename them)."""
    name = name.strip()
    if not name or len(name) > 32:
        raise click.BadParameter("姓名不能为空，最多 32 个字", param_hint="--name")
    if not OPENID.match(openid):
        raise click.BadParameter("openid 只含字母、数字、- 和 _", param_hint="--openid")
    session = db.session()
    station = directory.by_code(session, code)
    if station is None:
        raise click.ClickException(f"没有编号为 {code} 的服务站（先用 stations import 导入）")
    member = session.scalar(select(Staff).where(Staff.openid == openid))
    moved_from = member.station.name if member and member.station_id != station.id else None
    if member is None:
        member = Staff(openid=openid)
        session.add(member)
    member.name, member.station = name, station
    session.commit()
    note = f"（原在{moved_from}）" if moved_from else ""
    click.echo(f"{name} 已绑定到 {station.name}（{station.code}）{note}")


@staff.command("list")
@click.option(
    "--station",
    "code",
    help="Only who answers for this station: its own staff, those above it, those below it.",
)
@with_appcontext
def list_command(code: str | None) -> None:
    """List staff, their station, and the villages a township's staff answer for."""
    query = select(Staff).order_by(Staff.station_id, Staff.id)
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
        if member.station.level == "township":
            villages = [
                directory.short_name(v.name) for v in directory.children(session, member.station)
            ]
            line += f"\t另负责 {len(villages)} 个村：{'、'.join(villages)}" if villages else ""
        click.echo(line)
