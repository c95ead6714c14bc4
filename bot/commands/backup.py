"""`veteranbot backup FILE` and `veteranbot restore FILE`: the whole database, sealed.

A backup holds every table (files, requests, contacts, the stories' publishing
state, the outbox), never Redis (dialogs, dedup keys, locks and the queue are
rebuilt or expire) and never the data key: without that key, kept apart, the
backup's ID numbers, notes and recordings are unreadable.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import click
from flask.cli import ScriptInfo
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import clock, db
from bot.backups import dumps, seal
from bot.config import KEY_FILES, load_config, prepare_instance, previous_keys, read_environment
from bot.crypto import FieldCipher, cipher, fingerprint
from bot.records import encrypted

MIN_PASSPHRASE = 12


@click.command("backup")
@click.argument("output", type=click.Path(dir_okay=False, writable=True))
@click.option(
    "--to",
    "recipient",
    help="Seal for this public key (veteranbot-backup-public-…, or a file holding it) "
    "instead of a passphrase: `veteranbot keys backup-keypair` makes one.",
)
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase from this file's first line (default: ask).",
)
@click.pass_obj
def backup(info: ScriptInfo, output: str, recipient: str | None, passphrase_file: str | None):
    """Write a consistent, encrypted backup of the whole database to OUTPUT."""
    lock = _public_key(recipient) if recipient else _passphrase(passphrase_file, confirm=True)
    if isinstance(lock, seal.Passphrase) and len(lock.text) < MIN_PASSPHRASE:
        raise click.ClickException(f"口令太短：至少 {MIN_PASSPHRASE} 个字符")
    app = info.load_app()
    with app.app_context():
        url = app.config["DATABASE_URL"]
        revision = db.revision_of(db.engine())
        ring = cipher().fingerprints
    if revision is None:
        raise click.ClickException("数据库是空的（还没有 veteranbot db upgrade）：没有可备份的")
    about = {
        "database": dumps.kind(url),
        "revision": revision,
        "created": clock.utcnow().isoformat(timespec="seconds") + "Z",
        "data_keys": list(ring),
    }
    # Written aside and renamed at the end: a failed backup never looks like a good one.
    partial = Path(f"{output}.partial")
    try:
        with _private(partial) as fh:
            writer = seal.Writer(fh, lock, about)
            dumps.dump(url, writer.write)
            writer.close()
        os.replace(partial, output)
    except dumps.DumpError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    size = Path(output).stat().st_size
    click.echo(f"已备份到 {output}（{size / 1024 / 1024:.1f} MiB，数据库在迁移 {revision}）")
    click.echo(
        f"恢复它需要三样：这个文件、{'私钥' if recipient else '口令'}、"
        f"数据密钥 DATA_KEY（指纹 {ring[0]}）。密钥不在备份里：另外保管。"
    )


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, dir_okay=False))
@click.option("--identity", type=click.Path(exists=True, dir_okay=False), help="Secret key file.")
@click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Read the passphrase from this file's first line (default: ask).",
)
def restore(source: str, identity: str | None, passphrase_file: str | None) -> None:
    """Restore a backup into an empty database; then run `veteranbot db upgrade`.

    The data key the backup was made under must be in place first (DATA_KEY,
    or instance/data.key): the restored rows are useless without it.
    """
    raw = read_environment()
    with open(source, "rb") as fh:
        try:
            header = seal.read_header(fh)
        except seal.SealError as exc:
            raise click.ClickException(f"{source}: {exc}") from None
        needed = header.get("data_keys") or []
        made, database, revision = (header.get(k) for k in ("created", "database", "revision"))
        click.echo(f"备份：{made}，{database}，迁移 {revision}，数据密钥指纹 {', '.join(needed)}")
        ring = _key_ring(raw, needed)
        prepare_instance(raw)  # the folder and SECRET_KEY; DATA_KEY is there already
        url = load_config(raw)["DATABASE_URL"]
        if header.get("database") != dumps.kind(url):
            raise click.ClickException(
                f"这是 {header.get('database')} 的备份，DATABASE_URL 是 {dumps.kind(url)}"
            )
        key = (
            _secret_key(identity)
            if header["lock"].get("type") == "x25519"
            else _passphrase(passphrase_file, confirm=False)
        )
        try:
            dumps.restore(url, seal.opened(fh, header, key))
        except (seal.SealError, dumps.DumpError) as exc:
            raise click.ClickException(str(exc)) from None
    shown = make_url(url).render_as_string(hide_password=True)
    click.echo(f"已恢复到 {shown}")
    unreadable = _unreadable(url, ring)
    if unreadable:
        raise click.ClickException(
            f"数据已恢复，但现在的数据密钥解不开 {unreadable}："
            "把写它的那把密钥放进 DATA_KEY_PREVIOUS"
        )
    click.echo("下一步：veteranbot db upgrade，然后启动 bot。")


def _key_ring(raw: dict, needed: list[str]) -> FieldCipher:
    """The data key ring of this instance, if it holds a key the backup was made under."""
    instance = Path(raw["INSTANCE_DIR"]).resolve()
    key_file = instance / KEY_FILES["DATA_KEY"]
    if not raw["DATA_KEY"] and not key_file.exists():
        # `db upgrade` would make a new key here, and the restored rows would be lost to it.
        raise click.ClickException(
            f"还没有数据密钥：先把备份时的 DATA_KEY（指纹 {', '.join(needed)}）从密钥备份里找出来，"
            f"放进环境变量 DATA_KEY 或 {key_file}（权限 0600），再恢复"
        )
    current = raw["DATA_KEY"] or key_file.read_text().strip()
    ring = FieldCipher(current, previous_keys(raw["DATA_KEY_PREVIOUS"], instance))
    if needed and not set(needed) & set(ring.fingerprints):
        raise click.ClickException(
            f"这份备份的数据是用密钥 {', '.join(needed)} 加密的，现在的 DATA_KEY 是 "
            f"{fingerprint(current)}：换上那把密钥（或把它放进 DATA_KEY_PREVIOUS）再恢复"
        )
    return ring


def _unreadable(url: str, ring: FieldCipher) -> str | None:
    engine = db.make_engine(url)
    try:
        with Session(engine) as session:
            return encrypted.unreadable_sample(session, ring)
    finally:
        engine.dispose()


def _passphrase(path: str | None, confirm: bool) -> seal.Passphrase:
    if path:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        return seal.Passphrase(lines[0] if lines else "")
    text = click.prompt("备份口令", hide_input=True, confirmation_prompt=confirm, err=True)
    return seal.Passphrase(text)


def _public_key(value: str) -> seal.PublicKey:
    if not value.startswith(seal.PUBLIC_PREFIX) and Path(value).is_file():
        value = Path(value).read_text(encoding="utf-8")
    try:
        return seal.PublicKey.parse(value)
    except seal.SealError as exc:
        raise click.ClickException(f"--to: {exc}") from None


def _secret_key(path: str | None) -> seal.SecretKey:
    if not path:
        raise click.ClickException("这份备份是用公钥加密的：用 --identity 给出私钥文件")
    try:
        return seal.SecretKey.parse(Path(path).read_text(encoding="utf-8"))
    except seal.SealError as exc:
        raise click.ClickException(f"--identity: {exc}") from None


@contextlib.contextmanager
def _private(path: Path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        yield fh
