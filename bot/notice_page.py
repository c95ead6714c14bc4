"""GET /notice?signature=…: the page behind a notice's link, with what its fields cannot hold.

A template message shows a few fields of 20 characters: a reminder carries its
count, an editor notice the start of its reason, and their link opens this
page with the whole list or reason (bot/wechat/links.py signs it). Lists are
read from the database when the page is opened, so a veteran contacted since
is no longer on it. The case console will replace this page.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template, request
from sqlalchemy.orm import Session

from bot import db
from bot.care import contacts, reminders
from bot.care.occasions import OCCASIONS
from bot.models import Staff
from bot.records.directory import short_name
from bot.wechat.links import PARAM, Links

bp = Blueprint("notice", __name__)
GONE = "链接无效或已过期（有效期 31 天）。请在公众号里回复“待走访”或“慰问名单”查看最新名单。"


@bp.get("/notice")
def page():
    """The list or reason a signed link names; 404 for a link that is forged, old or stale."""
    payload = Links.from_config(current_app.config).read(request.args.get(PARAM, ""))
    shown = _content(db.session(), payload) if payload else None
    if shown is None:
        return render_template("notice/gone.html", message=GONE), 404
    response = current_app.make_response(render_template("notice/page.html", **shown))
    # The page names veterans: no cache keeps it, and no Referer carries the link on.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _content(session: Session, payload: dict) -> dict | None:
    kind = payload.get("kind")
    if kind == "editor":
        return {
            "title": f"风采录：{payload.get('title', '')}",
            "lines": [f"渠道：{payload.get('channel', '')}", f"原因：{payload.get('reason', '')}"],
            "hint": _editor_hint(payload.get("slug", "")),
            "rows": [],
        }
    member = session.get(Staff, payload.get("staff") or 0)
    if member is None or kind not in ("care", "condolence"):
        return None
    area = short_name(member.station.name)
    if kind == "care":
        day = date.fromisoformat(payload["day"])
        due = contacts.due(session, member.station, day)
        tpl = "reminders/monthly.txt"
        visits = sum(d.needs_visit for d in due)
        return {
            "title": str(reminders.macro(tpl, "first")(area, day.month)),
            "lines": [str(reminders.macro(tpl, "summary")(len(due), visits))],
            "hint": str(reminders.macro(tpl, "remark")(member.station.code)),
            "rows": [(d.veteran.file_no, d.veteran.name, d.reason or "电话或走访") for d in due],
        }
    occasion = OCCASIONS.get(payload.get("occasion", ""))
    if occasion is None:
        return None
    on = payload.get("on", "")
    rows = contacts.condolence_list(session, member.station)
    tpl = "reminders/condolence.txt"
    martyrs = sum(c.reason.startswith(contacts.MARTYR_CATEGORY) for c in rows)
    return {
        "title": str(reminders.macro(tpl, "first")(area, occasion.name)),
        "lines": [str(reminders.macro(tpl, "summary")(len(rows), martyrs))],
        "hint": str(reminders.macro(tpl, "remark")(occasion.name, on, member.station.code)),
        "rows": [(c.veteran.file_no, c.veteran.name, c.reason) for c in rows],
    }


def _editor_hint(slug: str) -> str:
    if not slug:
        return "运行 veteranbot queue 查看排期和各渠道的状态。"
    return f"运行 veteranbot queue 查看状态；修正后运行 veteranbot publish {slug} 重新发布。"
