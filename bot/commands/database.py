"""`veteranbot db ...`: apply the migrations, write the next one, check they match the models."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask.cli import ScriptInfo, with_appcontext
from sqlalchemy import Connection

from bot import db as database
from bot import models  # noqa: F401  (registers every table on Base.metadata)
from bot.config import prepare_instance, read_environment

# Autogenerate brackets its output with these; a migration someone has read needs neither.
_ALEMBIC_MARKERS = re.compile(r"^\s*# ### (commands auto generated|end Alembic).*\n", re.M)
_WHERE = {
    "add": "in the models, not in the database",
    "remove": "in the database, not in the models",
}


@click.group()
def db():
    """Database schema commands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@click.pass_obj
def upgrade(info: ScriptInfo, revision: str) -> None:
    """Create the instance folder and keys on first use, then migrate up to REVISION."""
    # The one step besides `run` that writes key files: the app cannot load without them.
    prepare_instance(read_environment())
    with info.load_app().app_context():
        before = database.revision_of(database.engine())
        database.upgrade(database.engine(), revision)
        after = database.revision_of(database.engine())
    click.echo(f"database at {after}" + ("" if before == after else f" (was {before or 'empty'})"))


@db.command("revision")
@click.option("-m", "--message", required=True, help="What the change is, in a few English words.")
@with_appcontext
def revision(message: str) -> None:
    """Write the next migration: what the models have that the database (at head) lacks."""
    scripts = _scripts()
    with database.engine().connect() as conn:
        problem = _not_at_head(conn, scripts)
        if problem:
            raise click.ClickException(problem)
        written = command.revision(
            database.alembic_config(conn), message, autogenerate=True, rev_id=_next_id(scripts)
        )
    path = Path(written.path)
    _tidy(path)
    click.echo(f"已生成 {path}")
    click.echo("请读一遍：改名、搬数据这类 autogenerate 看不出的要手改；然后 veteranbot db upgrade")


@db.command("check")
@with_appcontext
def check() -> None:
    """List every difference between the models and the database's schema; fail on any.

    It only reads: the schema is reflected inside a transaction that is rolled
    back, so checking a production database is safe.
    """
    scripts = _scripts()
    with database.engine().connect() as conn:
        problem = _not_at_head(conn, scripts)
        found = differences(conn)
    for line in found:
        click.echo(line)
    if problem:
        _fail(problem)
    if found:
        _fail(f"模型与迁移有 {len(found)} 处不同：用 veteranbot db revision -m ... 写一个迁移")
    click.echo(f"模型与迁移一致（数据库在 {_ids(set(scripts.get_heads()))}）")


def differences(conn: Connection) -> list[str]:
    """One line per difference between the database behind conn and the models."""
    context = MigrationContext.configure(conn, opts=database.MIGRATION_OPTIONS)
    found = []
    for diff in compare_metadata(context, database.Base.metadata):
        # A column's changes come grouped in a list; each is a line of its own.
        found += [_describe(d) for d in diff] if isinstance(diff, list) else [_describe(diff)]
    return found


def _describe(diff: tuple) -> str:
    kind, *rest = diff
    verb, _, what = kind.partition("_")
    if verb == "modify":
        _schema, table, column, _info, old, new = rest
        return (
            f"column {table}.{column}: "
            f"{_show(what, old)} in the database, {_show(what, new)} in the models"
        )
    return f"{_subject(what, rest)}: {_WHERE.get(verb, verb)}"


def _subject(what: str, rest: list) -> str:
    if what == "table":
        return f"table {rest[0].name}"
    if what == "column":
        _schema, table, column = rest
        return f"column {table}.{column.name}"
    if what in ("index", "constraint", "fk"):
        item = rest[0]
        columns = ", ".join(getattr(c, "name", str(c)) for c in getattr(item, "columns", ()))
        name = {"index": "index", "constraint": "unique constraint", "fk": "foreign key"}[what]
        label = f" {item.name}" if item.name else ""
        target = f" -> {item.referred_table.name}" if what == "fk" else ""
        return f"{name}{label} on {item.table.name} ({columns}){target}"
    return f"{what.replace('_', ' ')} {rest!r}"


def _show(what: str, value) -> str:
    if what == "nullable":
        return "NULL allowed" if value else "NOT NULL"
    if what == "default":
        value = getattr(value, "arg", value)  # a model's server_default is a DefaultClause
        return f"server default {value!s}" if value is not None else "no server default"
    return f"{what} {value}"


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(database.alembic_config())


def _not_at_head(conn: Connection, scripts: ScriptDirectory) -> str | None:
    """Why the database cannot stand for the migrations (behind, or they fork), if it cannot."""
    at, heads = set(MigrationContext.configure(conn).get_current_heads()), set(scripts.get_heads())
    if len(heads) > 1:
        # Two branches each added a migration after the same one.
        return f"迁移分叉了（{_ids(heads)}）：把后写的那个的 down_revision 改成另一个"
    if at - {s.revision for s in scripts.walk_revisions()}:
        # Typically a database migrated by another branch's code.
        return f"数据库在 {_ids(at)}，代码里没有这个迁移（换了分支？）"
    if at != heads:
        return f"数据库在 {_ids(at)}，最新迁移是 {_ids(heads)}：先运行 veteranbot db upgrade"
    return None


def _next_id(scripts: ScriptDirectory) -> str:
    """0004 after 0003: our revision ids are numbers, so files sort in the order they run."""
    numbers = [int(s.revision) for s in scripts.walk_revisions() if s.revision.isdigit()]
    return f"{max(numbers, default=0) + 1:04d}"


def _tidy(path: Path) -> None:
    """Drop Alembic's markers and, where ruff is installed (dev installs), format the file."""
    path.write_text(_ALEMBIC_MARKERS.sub("", path.read_text(encoding="utf-8")), encoding="utf-8")
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff:
        subprocess.run([ruff, "check", "--fix", "--select", "I", "-q", str(path)], check=False)
        subprocess.run([ruff, "format", "-q", str(path)], check=False)


def _ids(revisions: set[str]) -> str:
    return ", ".join(sorted(revisions)) or "（未迁移）"


def _fail(message: str) -> None:
    click.echo(message, err=True)
    raise click.exceptions.Exit(1)
