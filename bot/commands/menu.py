"""`veteranbot menu ...`: install and show the account's custom menu."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext

from bot.wechat import client as wechat
from bot.wechat.custom_menu import layout
from bot.wechat.errors import WeChatError


@click.group("menu")
def menu():
    """The account's custom menu."""


@menu.command("push")
@with_appcontext
def push() -> None:
    """Install the custom menu (登记, 求助, 找服务站, 风采录) on the account."""
    body = layout(current_app.config["SITE_URL"])
    try:
        wechat.client().create_menu(body)
    except WeChatError as exc:
        raise click.ClickException(f"菜单安装失败：{exc}") from None
    for top in body["button"]:
        subs = "、".join(b["name"] for b in top.get("sub_button", []))
        click.echo(f"{top['name']}：{subs}" if subs else top["name"])
    click.echo("菜单已安装（微信客户端可能要几分钟后才显示新菜单）")


@menu.command("show")
@with_appcontext
def show() -> None:
    """Print the menu push would install, as JSON."""
    click.echo(json.dumps(layout(current_app.config["SITE_URL"]), ensure_ascii=False, indent=2))
