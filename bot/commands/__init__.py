"""The `veteranbot` command line: one click group, a module per topic."""

from __future__ import annotations

import click
from flask.cli import ScriptInfo
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot import create_app, logs
from bot.commands import (
    cases,  # noqa: F401  (adds requests check-sla and veterans erase)
    contacts,
    content,
    database,
    greetings,
    ledger,
    menu,
    outbox,
    publishing,
    run,
    site,
    staff,
    stations,
    veterans,
)
from bot.config import ConfigError, read_environment


class _Main(click.Group):
    """The root group: a database that was never migrated gets a clear next step."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(f"设置有误 {exc}") from None
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
    logs.configure(read_environment()["LOG_LEVEL"])
    ctx.obj = ScriptInfo(create_app=create_app, set_debug_flag=False, load_dotenv_defaults=False)


for command in (
    database.db,
    stations.stations,
    staff.staff,
    veterans.veterans,
    ledger.ledger,
    ledger.requests_group,
    menu.menu,
    run.run,
    site.site,
    content.content,
    contacts.contacts_group,
    publishing.publish_due,
    publishing.publish_one,
    publishing.queue,
    greetings.greetings_group,
    outbox.outbox_command,
):
    main.add_command(command)
