"""The `veteranbot` command line: one click group, a module per topic."""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from bot import create_app


def _build_app():
    return create_app()


@click.group(
    cls=FlaskGroup,
    create_app=_build_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    set_debug_flag=False,
)
def main():
    """veteranbot: the Liangshan veterans' WeChat bot and its ledgers."""


def _register() -> None:
    from bot.commands import database

    main.add_command(database.db)


_register()
