"""`veteranbot contacts ...`: log staff calls and visits; list who is due and the 慰问名单."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from bot import clock, db
from bot.care import contacts
from bot.crypto import cipher
from bot.models import Station
from bot.records import directory
from bot.records.directory import short_name


@click.group("contacts")
def contacts_group():
    """Staff contacts with veterans (电话联系 / 上门走访)."""


def _day(value: str | None, param: str) -> date:
    if value is None:
        return clock.today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("日期格式应为 YYYY-MM-DD", param_hint=param) from None


@contacts_group.command("add")
@click.option("--file-no", required=True, help="The veteran's unified number (统一编号).")
@click.option("--kind", type=click.Choice(sorted(contacts.KINDS)), required=True)
@click.option("--date", "day", help="When (YYYY-MM-DD, default today in Asia/Shanghai).")
@click.option("--note", default="", help="What was found; stored encrypted.")
@click.option("--staff-openid", help="The staff member who made it (checked against their area).")
@with_appcontext
def add(file_no: str, kind: str, day: str | None, note: str, staff_openid: str | None) -> None:
    """Record one call or visit."""
    session = db.session()
    on = _day(day, "--date")
    if on > clock.today():
        raise click.BadParameter("不能记录将来的日期", param_hint="--date")
    veteran = contacts.by_file_no(session, file_no)
    if veteran is None:
        raise click.ClickException(f"没有统一编号为 {file_no} 的档案")
    member = None
    if staff_openid:
        member = contacts.staff_by_openid(session, staff_openid)
        if member is None:
            raise click.ClickException(f"openid {staff_openid} 没有绑定工作人员（staff add）")
        if not contacts.in_area(session, member.station, veteran):
            raise click.ClickException(
                f"{veteran.file_no} 不在 {member.name}（{member.station.name}）负责的范围内"
            )
    logged = contacts.record_once(
        session, cipher(), veteran, kind, on, note.strip(), staff=member, source="cli"
    )
    session.commit()
    if logged.contact is None:
        shown = f"{veteran.name}（{veteran.file_no}）{on.isoformat()}"
        click.echo(f"{shown} 已经记过：{logged.said()}，不重复记录")
        return
    owed = kind == "phone" and contacts.needs_visit(veteran)
    click.echo(
        f"已记录：{contacts.KINDS[kind]} {veteran.name}（{veteran.file_no}）{on.isoformat()}"
        + ("；困难/伤残对象本月仍需上门走访" if owed else "")
    )
    if logged.earlier:
        click.echo(f"注意：这一天之前已记过 {logged.said()}")


@contacts_group.command("due")
@click.option("--station", "code", help="Only this station's area (default: every county).")
@click.option("--date", "day", help="The day to judge 'this month' by (default today).")
@with_appcontext
def due(code: str | None, day: str | None) -> None:
    """Print who is not yet contacted this month (需走访 first) and the 慰问名单."""
    session = db.session()
    on = _day(day, "--date")
    if code:
        station = directory.by_code(session, code)
        if station is None:
            raise click.ClickException(f"没有编号为 {code} 的服务站")
        roots = [station]
    else:
        roots = list(
            session.scalars(
                select(Station).where(Station.parent_id.is_(None)).order_by(Station.code)
            )
        )
    for station in roots:
        _print_area(session, station, on)


def _print_area(session, station: Station, on: date) -> None:
    rows = contacts.due(session, station, on)
    visits = sum(d.needs_visit for d in rows)
    click.echo(
        f"{station.name}（{station.code}）{on.year}年{on.month}月 未联系 {len(rows)} 人"
        + (f"，其中需走访 {visits} 人" if visits else "")
    )
    for d in rows:
        flag = f"  需走访（{d.reason}）" if d.needs_visit else ""
        click.echo(_line(d.veteran) + flag)
    day, occasion = contacts.next_occasion(on)
    listed = contacts.condolence_list(session, station)
    click.echo(f"慰问名单（{occasion.name} {day.isoformat()}）共 {len(listed)} 户")
    for c in listed:
        click.echo(_line(c.veteran) + f"  {c.reason}")
    click.echo("")


def _line(veteran) -> str:
    return f"  {veteran.file_no}  {veteran.name}  {short_name(veteran.station.name)}"
