"""The data key: its fingerprint, a rotation to a new key that can stop and resume, /healthz."""

from __future__ import annotations

from datetime import date

import pytest
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import select

from bot import db
from bot.care import contacts
from bot.commands.keys import keys
from bot.crypto import FieldCipher, fingerprint
from bot.models import Contact, Veteran, VoiceMessage
from bot.records import encrypted, files
from bot.requests import recordings
from tests.conftest import DATA_KEY
from tests.fixtures import factories
from tests.fixtures.factories import id_number

NEW_KEY = Fernet.generate_key().decode()
IDS = [id_number(seq=s) for s in (101, 103, 105, 107, 109)]


@pytest.fixture
def old_rows(app, session):
    """Five files, a contact note and a recording, all written under the old key."""
    veterans = [factories.VeteranFactory(id_value=i) for i in IDS]
    ring = FieldCipher(DATA_KEY)
    contacts.record(session, ring, veterans[0], "visit", date(2026, 3, 2), note="腿伤复发")
    contacts.record(session, ring, veterans[1], "phone", date(2026, 3, 3))  # no note
    voice = VoiceMessage(openid="o-voice", media_id="m-1")
    recordings.keep(voice, ring, b"#!AMR\n audio bytes")
    session.add(voice)
    session.commit()
    return veterans


def in_app(application):
    """The app's session, inside its context (the test's database, the app's key ring)."""
    context = application.app_context()
    context.push()
    return context, db.session()


def run(application, *args: str):
    """`veteranbot keys ARGS` under this app's settings (its context, not the test's)."""
    with application.app_context():
        return application.test_cli_runner().invoke(keys, list(args))


def test_fingerprint_names_the_key_without_revealing_it(app, make_app):
    shown = run(app, "show-fingerprint")
    assert shown.exit_code == 0
    assert fingerprint(DATA_KEY) in shown.output and DATA_KEY not in shown.output
    assert DATA_KEY[:8] not in shown.output
    assert fingerprint(DATA_KEY) != fingerprint(NEW_KEY)

    rotating = make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS=DATA_KEY)
    both = run(rotating, "show-fingerprint")
    assert f"DATA_KEY           {fingerprint(NEW_KEY)}" in both.output
    assert f"DATA_KEY_PREVIOUS  {fingerprint(DATA_KEY)}" in both.output


def test_a_rotation_stopped_halfway_is_finished_by_the_next_run(old_rows, make_app):
    ring = FieldCipher(NEW_KEY, [DATA_KEY])
    context, session = in_app(make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS=DATA_KEY))
    try:
        batches = []

        def stop_after_one_batch(progress):
            batches.append(progress.rows)
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            encrypted.rotate(session, ring, batch=2, report=stop_after_one_batch)
        stored = session.scalars(select(Veteran.id_cipher).order_by(Veteran.id)).all()
        assert [ring.is_current(t) for t in stored] == [True, True, False, False, False]
        # Meanwhile every file is found and read, whichever key it is under.
        for number in IDS:
            found = files.find(session, ring, number)
            assert found is not None and ring.decrypt(found.id_cipher) == number

        done = {p.column.name: p for p in encrypted.rotate(session, ring, batch=2)}
    finally:
        context.pop()

    assert (done["veterans.id_cipher"].rotated, done["veterans.id_cipher"].current) == (3, 2)
    assert (done["contacts.note_cipher"].rows, done["voice_messages.audio"].rows) == (1, 1)
    new_only = FieldCipher(NEW_KEY)
    context, session = in_app(make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS=""))
    try:
        for number in IDS:
            veteran = files.find(session, new_only, number)  # by the hash under the new key
            assert veteran is not None and new_only.decrypt(veteran.id_cipher) == number
        note = session.scalar(select(Contact.note_cipher).where(Contact.note_cipher != ""))
        assert new_only.decrypt(note) == "腿伤复发"
        voice = session.scalar(select(VoiceMessage))
        assert recordings.audio(voice, new_only) == b"#!AMR\n audio bytes"
        with pytest.raises(InvalidToken):
            FieldCipher(DATA_KEY).decrypt(note)  # the old key opens nothing any more
    finally:
        context.pop()


def test_rotate_command_reports_and_says_when_the_old_key_can_go(old_rows, make_app):
    rotating = make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS=DATA_KEY)
    result = run(rotating, "rotate", "--batch", "3")
    assert result.exit_code == 0, result.output
    assert "veterans.id_cipher: 5 行，重新加密 5，原已是新密钥 0" in result.output
    assert "contacts.note_cipher: 1 行，重新加密 1" in result.output
    assert "数据库已不再需要旧密钥" in result.output
    assert "今天以前的数据库备份要用它" in result.output
    again = run(rotating, "rotate")
    assert "veterans.id_cipher: 5 行，重新加密 0，原已是新密钥 5" in again.output


def test_rotate_refuses_to_finish_when_a_row_is_under_a_lost_key(old_rows, make_app):
    lost = make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS="")
    result = run(lost, "rotate")
    assert result.exit_code == 1
    assert "veterans.id_cipher: 5 行，重新加密 0，原已是新密钥 0，解不开 5" in result.output
    assert "写它们的那把密钥不在 DATA_KEY / DATA_KEY_PREVIOUS 里" in result.output


def test_healthz_fails_when_the_key_cannot_open_a_sample_row(old_rows, client, make_app):
    assert client.get("/healthz").json["data_key"] == "ok"

    wrong = make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS="").test_client().get("/healthz")
    assert wrong.status_code == 503 and wrong.json["status"] == "unavailable"
    assert wrong.json["data_key"].startswith("error: 当前密钥")
    assert "veterans.id_cipher #" in wrong.json["data_key"]
    assert wrong.json["data_key_fingerprint"] == fingerprint(NEW_KEY)

    rotating = make_app(DATA_KEY=NEW_KEY, DATA_KEY_PREVIOUS=DATA_KEY).test_client()
    assert rotating.get("/healthz").status_code == 200


def test_every_cipher_column_is_rotated():
    """A model column named *_cipher that the registry misses would keep the old key forever."""
    from bot.db import Base

    named = {
        f"{t.name}.{c.name}"
        for t in Base.metadata.sorted_tables
        for c in t.columns
        if c.name.endswith("_cipher")
    }
    assert named <= {c.name for c in encrypted.COLUMNS}


def test_keys_new_moves_a_generated_key_aside_once(tmp_path):
    from click.testing import CliRunner

    from bot.commands import main
    from bot.config import ConfigError, load_config, read_environment

    instance = tmp_path / "instance"
    env = {"INSTANCE_DIR": str(instance), "DATA_KEY": None, "DATA_KEY_PREVIOUS": None}
    instance.mkdir()
    (instance / "data.key").write_text(DATA_KEY)

    first = CliRunner().invoke(main, ["keys", "new"], env=env)
    assert first.exit_code == 0, first.output
    assert (instance / "data.key.previous").read_text() == DATA_KEY
    fresh = (instance / "data.key").read_text()
    assert fresh != DATA_KEY and (instance / "data.key").stat().st_mode & 0o077 == 0
    assert f"DATA_KEY_PREVIOUS  {fingerprint(DATA_KEY)}" in first.output

    raw = {**read_environment({}), "INSTANCE_DIR": str(instance), "SECRET_KEY": "s" * 32}
    cfg = load_config(raw)
    assert (cfg["DATA_KEY"], cfg["DATA_KEY_PREVIOUS"]) == (fresh, (DATA_KEY,))
    again = CliRunner().invoke(main, ["keys", "new"], env=env)
    assert again.exit_code == 1 and "上一次轮换还没结束" in again.output
    assert (instance / "data.key").read_text() == fresh

    with pytest.raises(ConfigError, match="DATA_KEY_PREVIOUS: key 2"):
        load_config({**raw, "DATA_KEY_PREVIOUS": f"{DATA_KEY},oops"})
