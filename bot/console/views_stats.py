"""统计: the table per station rolled up, a coverage chart, CSV and XLSX (audited)."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from flask import g, render_template, request, send_file

from bot import clock, db
from bot.console import audit, stats
from bot.console import scope as scopes
from bot.console.blueprint import bp
from bot.records.imports.table_files import write_table

PERIODS = {"month": "本月", "year": "今年", "all": "全部"}
MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _since(period: str) -> datetime:
    today = clock.today()
    start = {"month": today.replace(day=1), "year": today.replace(month=1, day=1)}.get(period)
    if start is None:
        return datetime(2000, 1, 1)
    # Midnight in Asia/Shanghai, stored as naive UTC.
    return datetime.combine(start, datetime.min.time()) - timedelta(hours=8)


def _figures():
    session = db.session()
    station_id = request.args.get("id", type=int)
    if station_id:
        root = scopes.station(session, g.scope, station_id)
    elif g.scope.station_ids is None:
        root = None
    else:
        root = scopes.station(session, g.scope, g.scope.root_id)
    period = request.args.get("period", "month")
    period = period if period in PERIODS else "month"
    rows, total = stats.table(session, g.scope, root, _since(period), clock.utcnow(), clock.today())
    return session, root, period, rows, total


@bp.get("/stats")
def stats_page():
    """The statistics of my scope, one level at a time."""
    _, root, period, rows, total = _figures()
    up = (
        root.parent
        if root is not None and root.parent_id and g.scope.covers(root.parent_id)
        else None
    )
    return render_template(
        "console/stats.html",
        title="统计",
        root=root,
        up=up,
        period=period,
        periods=PERIODS,
        rows=rows,
        total=total,
    )


@bp.get("/stats.<fmt>")
def stats_export(fmt: str):
    """The same table as CSV or XLSX; every export is written to the audit log first."""
    if fmt not in MIME:
        return render_template("console/message.html", title="没有找到", text="没有这种格式。"), 404
    session, root, period, rows, total = _figures()
    audit.record(
        session,
        g.staff,
        "export.stats",
        root.id if root else None,
        format=fmt,
        period=period,
        rows=len(rows),
    )
    session.commit()  # logged before the file leaves the server
    out = io.BytesIO()
    write_table(out, fmt, stats.COLUMNS, [r.cells() for r in [*rows, total]])
    out.seek(0)
    name = f"statistics-{(root.code if root else 'all')}-{period}.{fmt}"
    return send_file(out, mimetype=MIME[fmt], as_attachment=True, download_name=name)
