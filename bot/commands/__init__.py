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
    from bot.commands import database, helprequests, ledger, menu, run, staff, stations, veterans

    main.add_command(database.db)
    main.add_command(stations.stations)
    main.add_command(staff.staff)
    main.add_command(veterans.veterans)
    main.add_command(ledger.ledger)
    main.add_command(helprequests.requests_group)
    main.add_command(menu.menu)
    main.add_command(run.run)


_register()
