"""`veteranbot db check` and `db revision`: the migrations build exactly what the models say."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from bot import db as database
from bot.commands.database import db


def run(application, *args: str):
    """`veteranbot db ARGS` in that app, as a developer would run it."""
    return application.test_cli_runner().invoke(db, list(args))


@pytest.fixture
def scratch(tmp_path):
    """A SQLite database of the test's own, migrated up to a revision; its URL and engine."""
    engines = []

    def migrate(revision: str):
        url = f"sqlite:///{tmp_path / 'scratch.db'}"
        engines.append(database.make_engine(url))
        database.upgrade(engines[-1], revision)
        return url, engines[-1]

    yield migrate
    for engine in engines:
        engine.dispose()


def test_the_migrations_build_what_the_models_describe(app):
    # conftest built the test database by upgrading an empty one to head, on
    # SQLite or on PostgreSQL, whichever this run uses.
    result = run(app, "check")
    assert result.exit_code == 0, result.output
    assert "模型与迁移一致" in result.output


def test_a_database_behind_the_migrations_fails_naming_what_it_lacks(make_app, scratch):
    url, _ = scratch("0002")
    result = run(make_app(DATABASE_URL=url), "check")
    assert result.exit_code == 1
    assert "table campaigns: in the models, not in the database" in result.stdout.splitlines()
    assert "数据库在 0002" in result.stderr and "veteranbot db upgrade" in result.stderr


def test_a_column_no_model_declares_fails_the_check_naming_it(make_app, scratch):
    # As if a model had lost a column and nobody wrote the migration.
    url, engine = scratch("head")
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE followers ADD COLUMN nickname VARCHAR(32)"))
    result = run(make_app(DATABASE_URL=url), "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "column followers.nickname: in the database, not in the models"
    ]
    assert "1 处不同" in result.stderr and "veteranbot db revision" in result.stderr


def test_revision_refuses_a_database_behind_the_migrations(make_app, scratch):
    url, _ = scratch("0002")
    versions = sorted((database.MIGRATIONS / "versions").glob("*.py"))
    result = run(make_app(DATABASE_URL=url), "revision", "-m", "add nicknames")
    assert result.exit_code == 1
    assert "数据库在 0002" in result.output and "veteranbot db upgrade" in result.output
    assert sorted((database.MIGRATIONS / "versions").glob("*.py")) == versions
