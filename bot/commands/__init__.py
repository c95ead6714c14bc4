"""The `veteranbot` command line: one click group, a module per topic."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot import create_app


class _Main(click.Group):
    """The root group: a database that was never migrated gets a clear next step."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except (OperationalError, ProgrammingError) as exc:
            if not _missing_table(exc):
                raise
            raise click.ClickException("数据库还没有建表：请先运行 veteranbot db upgrade") from None


def _missing_table(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None)
    return type(orig).__name__ == "UndefinedTable" or "no such table" in str(orig)


@click.group(cls=_Main)
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
    from bot.commands import contacts

    main.add_command(contacts.contacts_group)
    from bot.commands import publishing

    main.add_command(publishing.publish_due)
    main.add_command(publishing.publish_one)
    main.add_command(publishing.queue)
    from bot.commands import greetings

    main.add_command(greetings.greetings_group)


_register()
