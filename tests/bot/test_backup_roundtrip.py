"""backup → a fresh empty database → restore → db upgrade: the same ledgers, byte for byte.

On the database the run uses: SQLite files of its own, or two scratch databases
on the PostgreSQL server of DATABASE_URL (created and dropped here; the run's
own database is never touched).
"""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from click.testing import CliRunner
from cryptography.fernet import Fernet
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import db as database
from bot.backups import dumps
from bot.commands import main
from bot.crypto import FieldCipher, fingerprint
from bot.models import OutboxMessage, PublishState
from tests.conftest import DATA_KEY, SECRET_KEY
from tests.fixtures.ledgers import SAMPLE, id_number, ledger_row, write_ledger

# pg_dump, pg_restore and psql are processes; SQLite's leg runs with them.
pytestmark = pytest.mark.slow

PASSPHRASE = "两把钥匙分开放 correct horse"


@pytest.fixture
def scratch(database_url, tmp_path):
    """Two empty databases beside the run's: (source URL, target URL)."""
    if not database_url.startswith("postgresql"):
        yield (f"sqlite:///{tmp_path / 'source.db'}", f"sqlite:///{tmp_path / 'restored.db'}")
        return
    base = make_url(database_url)
    names = [f"{base.database}_backup_{uuid.uuid4().hex[:8]}_{n}" for n in ("src", "dst")]
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield tuple(base.set(database=n).render_as_string(hide_password=False) for n in names)
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def veteranbot(tmp_path, redis_url):
    """`veteranbot ARGS` against DATABASE_URL url, as an operator runs it."""

    def run(url: str, *args: str, ok: bool = True, **settings: str):
        env = {
            "INSTANCE_DIR": str(tmp_path / "instance"),
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "DATA_KEY": DATA_KEY,
            "SECRET_KEY": SECRET_KEY,
            "CONTENT_DIR": str(tmp_path / "content"),
            **settings,
        }
        result = CliRunner().invoke(main, [str(a) for a in args], env=env)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return run


def test_backup_restore_gives_back_the_same_ledger(scratch, veteranbot, tmp_path):
    source, target = scratch
    ledger = [
        ledger_row(姓名="吉克阿木", 身份证号=id_number(seq="011")),
        ledger_row(姓名="阿苦日体", 身份证号=id_number(seq="023"), 手机号="13900005678"),
        ledger_row(姓名="曲比阿果", 身份证号=id_number(seq="033"), 类别="烈属"),
    ]
    veteranbot(source, "db", "upgrade")
    veteranbot(source, "stations", "import", SAMPLE)
    veteranbot(source, "veterans", "import", write_ledger(tmp_path / "ledger.csv", ledger))
    file_no = "513429-107-01-0001"
    veteranbot(source, "contacts", "add", "--file-no", file_no, "--kind", "visit", "--note", "腿伤")
    _add_story_state_and_outbox(source)
    before = veteranbot(source, "ledger", "export").stdout_bytes
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE + "\n", encoding="utf-8")
    sealed = tmp_path / "veteranbot.backup"

    veteranbot(source, "backup", sealed, "--passphrase-file", passphrase)
    assert "吉克阿木".encode() not in sealed.read_bytes()
    restored = veteranbot(target, "restore", sealed, "--passphrase-file", passphrase)
    assert "下一步：veteranbot db upgrade" in restored.output
    veteranbot(target, "db", "upgrade")

    assert _every_row(target) == _every_row(source)  # the stories' state and the outbox too
    after = veteranbot(target, "ledger", "export").stdout_bytes
    assert after == before and "吉克阿木" in after.decode("utf-8-sig")
    # The bot carries on: new files take the next ids and numbers, notes still decrypt.
    more = [ledger_row(姓名="沙马拉且", 身份证号=id_number(seq="045"))]
    veteranbot(target, "veterans", "import", write_ledger(tmp_path / "more.csv", more))
    assert "沙马拉且" in veteranbot(target, "ledger", "export").stdout.replace("\ufeff", "")
    engine = database.make_engine(target)
    with engine.connect() as conn:
        note = conn.scalar(text("SELECT note_cipher FROM contacts"))
    engine.dispose()
    assert FieldCipher(DATA_KEY).decrypt(note) == "腿伤"


def test_restore_refuses_a_database_that_is_not_empty(scratch, veteranbot, tmp_path):
    source, _ = scratch
    veteranbot(source, "db", "upgrade")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE, encoding="utf-8")
    veteranbot(source, "backup", tmp_path / "b", "--passphrase-file", passphrase)

    again = veteranbot(source, "restore", tmp_path / "b", "--passphrase-file", passphrase, ok=False)

    assert again.exit_code == 1 and "目标数据库不是空的" in again.output


def test_restore_wants_the_data_key_the_backup_was_made_under(scratch, veteranbot, tmp_path):
    source, target = scratch
    veteranbot(source, "db", "upgrade")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(PASSPHRASE, encoding="utf-8")
    veteranbot(source, "backup", tmp_path / "b", "--passphrase-file", passphrase)
    other = Fernet.generate_key().decode()

    wrong = veteranbot(
        target, "restore", tmp_path / "b", "--passphrase-file", passphrase, ok=False, DATA_KEY=other
    )

    assert wrong.exit_code == 1
    assert f"这份备份的数据是用密钥 {fingerprint(DATA_KEY)} 加密的" in wrong.output
    assert dumps.tables(target) == []  # nothing written
    # Mid-rotation, the old key among the previous ones is enough.
    veteranbot(
        target,
        "restore",
        tmp_path / "b",
        "--passphrase-file",
        passphrase,
        DATA_KEY=other,
        DATA_KEY_PREVIOUS=DATA_KEY,
    )


def _add_story_state_and_outbox(url: str) -> None:
    engine = database.make_engine(url)
    with Session(engine) as session:
        session.add(
            PublishState(
                slug="jiudu-station",
                channel="wechat",
                state="published",
                publish_at=datetime(2026, 8, 1, 1, 0),
                title="海拔两千八百米的服务站",
                article_url="https://mp.weixin.qq.com/s/abc",
            )
        )
        session.add(
            OutboxMessage(
                key="help:1:o-staff",
                kind="help",
                openid="o-staff",
                template_id="tpl",
                data={"number": {"value": "R-1"}},
            )
        )
        session.commit()
    engine.dispose()


def _every_row(url: str) -> dict[str, list]:
    engine = database.make_engine(url)
    try:
        with Session(engine) as session:
            return {
                table.name: [
                    tuple(r)
                    for r in session.execute(select(table).order_by(*table.primary_key.columns))
                ]
                for table in database.Base.metadata.sorted_tables
            }
    finally:
        engine.dispose()


def _in_order(table):
    return select(table).order_by(*table.primary_key.columns)
