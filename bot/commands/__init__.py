"""The `veteranbot` command line: one click group, a module per topic."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo

from bot import create_app


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """veteranbot: the Liangshan veterans' WeChat bot and its ledgers."""
    # Commands marked with_appcontext build the app lazily from this, so
    # `veteranbot --help` and `veteranbot run` never start anything themselves.
    ctx.obj = ScriptInfo(create_app=create_app, set_debug_flag=False, load_dotenv_defaults=False)


def _register() -> None:
    from bot.commands import content, database, ledger, menu, run, site, staff, stations, veterans

    main.add_command(database.db)
    main.add_command(stations.stations)
    main.add_command(staff.staff)
    main.add_command(veterans.veterans)
    main.add_command(ledger.ledger)
    main.add_command(ledger.requests_group)
    main.add_command(menu.menu)
    main.add_command(run.run)
    main.add_command(site.site)
    main.add_command(content.content)
    from bot.commands import publishing

    main.add_command(publishing.publish_due)
    main.add_command(publishing.publish_one)
    main.add_command(publishing.queue)


_register()
