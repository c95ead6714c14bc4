"""台账: veterans in scope, a file page, editing a field, revealing the ID, logging a contact."""

from __future__ import annotations

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot import clock, db
from bot.care import contacts
from bot.console import audit, ledger
from bot.console import scope as scopes
from bot.console.blueprint import bp, personal
from bot.crypto import cipher, mask_id
from bot.models import Contact, HelpRequest
from bot.records import file_edits
from bot.records.directory import subtree_ids
from bot.records.identity import InvalidInput

REVEAL_REASON_MAX = 100


@bp.get("/veterans")
@personal
def veterans():
    """The ledger of my scope: search by name, file number or phone; filter by the file's fields."""
    session = db.session()
    station_id = request.args.get("station", type=int)
    station_ids = None
    if station_id:
        station_ids = subtree_ids(session, scopes.station(session, g.scope, station_id))
    search = ledger.Search(
        text=request.args.get("q", ""),
        station_id=station_id,
        flags=tuple(k for k in request.args.getlist("f") if k in ledger.FILTERS),
        page=request.args.get("page", 1, type=int),
    )
    rows, total = ledger.find(session, g.scope, search, station_ids, clock.today())
    return render_template(
        "console/veterans.html",
        title="台账",
        rows=rows,
        total=total,
        search=search,
        filters=ledger.FILTERS,
        stations=scopes.stations_in(session, g.scope),
        pages=(total + ledger.PAGE_SIZE - 1) // ledger.PAGE_SIZE,
    )


@bp.get("/veterans/<int:veteran_id>")
@personal
def veteran(veteran_id: int):
    """A file: its fields (ID masked), change history, contacts and requests."""
    session = db.session()
    found = scopes.veteran(session, g.scope, veteran_id)
    fields = cipher()
    logged = session.scalars(
        select(Contact)
        .options(joinedload(Contact.staff))
        .where(Contact.veteran_id == found.id)
        .order_by(Contact.contacted_on.desc(), Contact.id.desc())
        .limit(20)
    ).all()
    asked = session.scalars(
        select(HelpRequest)
        .where(HelpRequest.veteran_id == found.id)
        .order_by(HelpRequest.id.desc())
    ).all()
    return render_template(
        "console/veteran.html",
        title=found.name,
        v=found,
        masked_id=mask_id(fields.decrypt(found.id_cipher)) if found.id_cipher else "（已删除）",
        values=file_edits.current(found, fields),
        edit_fields=file_edits.FIELDS,
        history=file_edits.history(session, fields, found.id),
        contacts=[(c, fields.decrypt(c.note_cipher) if c.note_cipher else "") for c in logged],
        requests=asked,
        kinds=contacts.KINDS,
        needs_visit=contacts.needs_visit(found),
        today=clock.today(),
    )


@bp.post("/veterans/<int:veteran_id>/edit")
@personal
def veteran_edit(veteran_id: int):
    """Save the file's editable fields; each change goes into the file's history."""
    session = db.session()
    found = scopes.veteran(session, g.scope, veteran_id)
    try:
        values = file_edits.parse(request.form)
    except InvalidInput as exc:
        flash(f"没有保存：{exc}")
        return redirect(url_for("console.veteran", veteran_id=found.id) + "#edit")
    changed = file_edits.edit(session, cipher(), found, values, g.staff, audit.actor(g.staff))
    if changed:
        audit.record(
            session, g.staff, "edit", found.station_id, file_no=found.file_no, fields=changed
        )
    session.commit()
    flash(f"已保存：{'、'.join(changed)}" if changed else "没有改动")
    return redirect(url_for("console.veteran", veteran_id=found.id))


@bp.post("/veterans/<int:veteran_id>/reveal")
@personal
def veteran_reveal(veteran_id: int):
    """Show the full ID number once, after writing who, when and why to the audit log."""
    session = db.session()
    found = scopes.veteran(session, g.scope, veteran_id)
    reason = request.form.get("reason", "").strip()[:REVEAL_REASON_MAX]
    if found.erased_at is not None:
        flash("本人已要求删除个人信息，身份证号已不存在")
        return redirect(url_for("console.veteran", veteran_id=found.id))
    if not reason:
        flash("请写明查看完整身份证号的原因")
        return redirect(url_for("console.veteran", veteran_id=found.id))
    audit.record(session, g.staff, "reveal", found.station_id, file_no=found.file_no, reason=reason)
    # Logged before the number leaves the server: no reveal goes unrecorded.
    session.commit()
    return render_template(
        "console/revealed.html",
        title=found.name,
        v=found,
        id_number=cipher().decrypt(found.id_cipher),
        reason=reason,
    )


@bp.post("/veterans/<int:veteran_id>/contacts")
@personal
def veteran_contact(veteran_id: int):
    """Record a call or a visit (today or an earlier day), the note encrypted."""
    session = db.session()
    found = scopes.veteran(session, g.scope, veteran_id)
    kind = request.form.get("kind", "")
    try:
        on = date.fromisoformat(request.form.get("on", "") or clock.today().isoformat())
    except ValueError:
        on = None
    if kind not in contacts.KINDS or on is None or on > clock.today():
        flash("没有记录：请选电话或走访，日期不能晚于今天")
        return redirect(url_for("console.veteran", veteran_id=found.id))
    note = request.form.get("note", "").strip()[:500]
    contacts.record(session, cipher(), found, kind, on, note, g.staff, source="console")
    session.commit()
    flash(f"已记录：{contacts.KINDS[kind]} {on:%Y-%m-%d}")
    return redirect(url_for("console.veteran", veteran_id=found.id))
