"""服务站: the directory below my station with its bound staff; administrators bind and unbind."""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot import db
from bot.console import audit
from bot.console import scope as scopes
from bot.console.blueprint import admin, bp, personal
from bot.models import Staff, Station
from bot.records import staffing


def _with_staff(query):
    return query.options(selectinload(Station.staff)).order_by(Station.code)


@bp.get("/stations")
@personal
def stations():
    """One station (mine by default) with its staff, and its children with theirs."""
    session = db.session()
    station_id = request.args.get("id", type=int)
    if station_id:
        here = scopes.station(session, g.scope, station_id)
        below = session.scalars(_with_staff(select(Station).where(Station.parent_id == here.id)))
    elif g.scope.station_ids is None:
        here = None  # the prefecture: every county
        below = session.scalars(_with_staff(select(Station).where(Station.parent_id.is_(None))))
    else:
        here = scopes.station(session, g.scope, g.scope.root_id)
        below = session.scalars(_with_staff(select(Station).where(Station.parent_id == here.id)))
    up = (
        here.parent
        if here is not None and here.parent_id and g.scope.covers(here.parent_id)
        else None
    )
    return render_template(
        "console/stations.html",
        title="服务站",
        here=here,
        up=up,
        below=list(below),
        roles=scopes.ROLE_NAMES,
    )


@bp.post("/stations/<int:station_id>/staff")
@admin
def station_bind(station_id: int):
    """Bind a staff member's WeChat (openid) to a station in my scope."""
    session = db.session()
    station = scopes.station(session, g.scope, station_id)
    openid = request.form.get("openid", "").strip()
    earlier = session.scalar(select(Staff).where(Staff.openid == openid))
    if (
        earlier is not None
        and earlier.unbound_at is None
        and not g.scope.covers(earlier.station_id)
    ):
        # Bound outside my scope: neither move them nor say where they are.
        flash("没有绑定：这个 openid 已绑定在别的服务站")
        return redirect(url_for("console.stations", id=station.id))
    try:
        member, moved_from = staffing.bind(session, station, request.form.get("name", ""), openid)
    except staffing.BindingError as exc:
        flash(f"没有绑定：{exc}")
        return redirect(url_for("console.stations", id=station.id))
    audit.record(
        session,
        g.staff,
        "bind",
        station.id,
        staff=member.name,
        staff_id=member.id,
        moved_from=moved_from.name if moved_from else None,
    )
    session.commit()
    flash(f"已绑定：{member.name} → {station.name}")
    return redirect(url_for("console.stations", id=station.id))


@bp.post("/staff/<int:staff_id>/unbind")
@admin
def staff_unbind(staff_id: int):
    """End a staff member's binding (a station in my scope); they cannot unbind themselves."""
    session = db.session()
    member = session.get(Staff, staff_id)
    if member is None or member.unbound_at is not None or not g.scope.covers(member.station_id):
        return render_template(
            "console/message.html", title="没有找到", text="没有这个工作人员。"
        ), 404
    if member.id == g.staff.id:
        flash("不能解除自己的绑定")
        return redirect(url_for("console.stations", id=member.station_id))
    staffing.unbind(member)
    audit.record(
        session, g.staff, "unbind", member.station_id, staff=member.name, staff_id=member.id
    )
    session.commit()
    flash(f"已解除绑定：{member.name}")
    return redirect(url_for("console.stations", id=member.station_id))
