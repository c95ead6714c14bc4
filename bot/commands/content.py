"""`veteranbot content ...`: check the column's stories and preview one."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from bot import db
from bot.column.directory import EMPTY_DIRECTORY, station_codes
from publisher.check import check_all, check_story
from publisher.story import articles_dir, load_story


@click.group("content")
def content():
    """The 风采录 column's stories under CONTENT_DIR/articles."""


@content.command("check")
@with_appcontext
def check() -> None:
    """Check every story; print `path: field: reason` per fault and fail on any."""
    codes = station_codes(db.session())
    stories, faults = check_all(current_app.config["CONTENT_DIR"], codes)
    for fault in faults:
        click.echo(str(fault))
    if not codes and any(story.station for story in stories):
        click.echo(EMPTY_DIRECTORY, err=True)
    if faults:
        click.echo(f"{len(faults)} 处问题，请改正后再检查", err=True)
        raise click.exceptions.Exit(1)
    click.echo(f"检查通过：{len(stories)} 篇稿件")
    for story in stories:
        click.echo(f"  {story.publish_at:%Y-%m-%d %H:%M}  {story.slug}  {story.title}")


@content.command("preview")
@click.argument("slug")
@with_appcontext
def preview(slug: str) -> None:
    """Write the WeChat and site versions of one story to instance/preview/SLUG/."""
    from bot.column.preview import write_previews

    folder = articles_dir(current_app.config["CONTENT_DIR"]) / slug
    if slug.startswith(".") or "/" in slug or not folder.is_dir():
        raise click.ClickException(f"没有这篇稿件：{folder}")
    story, faults = load_story(folder)
    if story is None:
        for fault in faults:
            click.echo(str(fault))
        raise click.ClickException("稿件有问题，无法预览")
    for fault in check_story(story, station_codes(db.session())):
        click.echo(str(fault))  # still previewed: the editor is likely fixing exactly this
    wechat, site = write_previews(story)
    click.echo(f"微信版：{wechat}")
    click.echo(f"网站版：{site}")
