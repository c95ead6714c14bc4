"""`veteranbot site build`: the 风采录 website, written whole into SITE_DIR."""

from __future__ import annotations

import time
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import clock, db
from bot.column.directory import station_facts
from publisher.site import build
from publisher.story import load_all


@click.group("site")
def site():
    """The column's static website."""


@site.command("build")
@with_appcontext
def build_command() -> None:
    """Build the whole site from CONTENT_DIR: every story whose time has come."""
    started = time.perf_counter()
    cfg = current_app.config
    loaded = load_all(cfg["CONTENT_DIR"])
    stations = station_facts(db.session())
    out = Path(cfg["SITE_DIR"])
    report = build(loaded.stories, out, cfg["SITE_URL"], clock.now(), stations=stations)
    seconds = time.perf_counter() - started
    click.echo(
        f"网站已生成：{report.stories} 篇故事已刊出（共 {len(loaded.stories)} 篇），"
        f"写入 {len(report.written)} 个文件，未变 {report.unchanged}，删除 {len(report.removed)}，"
        f"用时 {seconds:.2f} 秒 → {out}"
    )
    for skipped in report.skipped:
        click.echo(skipped, err=True)  # the page went out without this picture
    if loaded.faults:
        bad = len({fault.path for fault in loaded.faults})
        click.echo(f"{bad} 篇故事有问题，未收录；运行 veteranbot content check 查看。", err=True)
