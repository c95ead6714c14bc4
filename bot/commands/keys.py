"""`veteranbot keys ...`: the data key's fingerprint, a new key, and rotating every field to it."""

from __future__ import annotations

import os
from pathlib import Path

import click
from cryptography.fernet import Fernet
from flask import current_app
from flask.cli import with_appcontext

from bot import db, runner
from bot.backups import seal
from bot.config import KEY_FILES, PREVIOUS_KEY_FILE, read_environment
from bot.crypto import cipher, fingerprint
from bot.records import encrypted
from bot.wechat.dedup import REPLY_SECONDS


@click.group("keys")
def keys():
    """The data key (DATA_KEY): fingerprint, new key, rotation."""


@keys.command("show-fingerprint")
@with_appcontext
def show_fingerprint() -> None:
    """Print the fingerprint of DATA_KEY (and of any previous key still read).

    A fingerprint names a key without revealing it: compare it between nodes,
    with your key backup, and with a database backup's (`restore` prints it).
    """
    ring = cipher().fingerprints
    click.echo(f"DATA_KEY           {ring[0]}")
    for other in ring[1:]:
        click.echo(f"DATA_KEY_PREVIOUS  {other}（只读，轮换未结束）")


@keys.command("new")
def new_key() -> None:
    """Start a rotation: a new DATA_KEY, the old one kept readable as DATA_KEY_PREVIOUS.

    With the key in instance/data.key, the files are changed here (stop
    `veteranbot run` first). With DATA_KEY in the environment, the new key is
    printed and the settings are yours to change on every node.
    """
    raw = read_environment()
    fresh = Fernet.generate_key().decode()
    if raw["DATA_KEY"]:
        click.echo(fresh)
        old = fingerprint(raw["DATA_KEY"])
        click.echo(
            f"新密钥（指纹 {fingerprint(fresh)}）已打印在上面，请先把它备份好。然后在每个节点上：\n"
            f"  1. 把现在的 DATA_KEY（指纹 {old}）移到 DATA_KEY_PREVIOUS，DATA_KEY 换成新密钥；\n"
            "  2. 依次重启每个节点的 web、worker、beat；\n"
            "  3. 运行 veteranbot keys rotate。\n"
            "两个节点时，先只把新密钥加进 DATA_KEY_PREVIOUS 并依次重启，再做第 1 步（见 README）。",
            err=True,
        )
        return
    instance = Path(raw["INSTANCE_DIR"]).resolve()
    current, previous = instance / KEY_FILES["DATA_KEY"], instance / PREVIOUS_KEY_FILE
    if previous.exists():
        raise click.ClickException(
            f"上一次轮换还没结束（{previous} 还在）：先运行 veteranbot keys rotate，"
            "再按它的提示删掉这个文件"
        )
    if runner.claimed(instance):
        raise click.ClickException(
            "veteranbot run 正在运行：先停下它（Ctrl-C），换好密钥再启动，"
            "否则正在运行的进程读不了新密钥写的数据"
        )
    old = fingerprint(current.read_text().strip())
    staged = instance / "data.key.new"
    _write_private(staged, fresh)
    os.replace(current, previous)
    os.replace(staged, current)
    click.echo(f"DATA_KEY           {fingerprint(fresh)}（新，{current}）")
    click.echo(f"DATA_KEY_PREVIOUS  {old}（旧，{previous}）")
    click.echo("请把新密钥备份好。然后启动 veteranbot run，再运行 veteranbot keys rotate。")


@keys.command("rotate")
@click.option("--batch", default=encrypted.BATCH, show_default=True, help="Rows per commit.")
@with_appcontext
def rotate(batch: int) -> None:
    """Re-encrypt every encrypted field under DATA_KEY, in batches; safe to stop and rerun.

    Run it once every process reads the new key (see `keys new`). The old key
    stays readable until you remove it; the command says when that is safe.
    """
    ring = cipher()

    def report(progress: encrypted.Progress) -> None:
        click.echo(f"  {progress.column.name}: 已查 {progress.rows} 行", err=True)

    click.echo(f"把所有加密字段换到 DATA_KEY（指纹 {ring.fingerprint}）下…", err=True)
    done = encrypted.rotate(db.session(), ring, batch=batch, report=report)
    for p in done:
        click.echo(
            f"{p.column.name}: {p.rows} 行，重新加密 {p.rotated}，原已是新密钥 {p.current}"
            + (f"，期间被改写 {p.changed}（再运行一次）" if p.changed else "")
            + (f"，解不开 {len(p.unreadable)}" if p.unreadable else "")
        )
    unreadable = [(p.column.name, p.unreadable) for p in done if p.unreadable]
    if unreadable:
        for name, ids in unreadable:
            shown = ", ".join(f"#{i}" for i in ids[:10]) + (" …" if len(ids) > 10 else "")
            click.echo(f"{name} 解不开的行：{shown}", err=True)
        raise click.ClickException(
            "有些行用现有的密钥都解不开：写它们的那把密钥不在 DATA_KEY / DATA_KEY_PREVIOUS 里。"
            "把它找回来加进 DATA_KEY_PREVIOUS，再运行一次"
        )
    if any(p.changed for p in done):
        raise click.ClickException("有些行在轮换时被改写了：再运行一次 veteranbot keys rotate")
    if not ring.rotating:
        click.echo("所有加密字段都在 DATA_KEY 下；没有旧密钥要去掉。")
        return
    wait = max(current_app.config["DIALOG_TTL_SECONDS"], REPLY_SECONDS) // 60
    click.echo(
        f"轮换完成：数据库已不再需要旧密钥（{', '.join(ring.fingerprints[1:])}）。\n"
        f"{wait} 分钟后（Redis 里用旧密钥加密的对话和回复都过期了），"
        "去掉 DATA_KEY_PREVIOUS（或删除 instance/data.key.previous），依次重启每个进程。\n"
        "旧密钥不要销毁：今天以前的数据库备份要用它才能读，和那些备份放在一起保管。"
    )


@keys.command("backup-keypair")
@click.argument("secret_file", type=click.Path(dir_okay=False))
def backup_keypair(secret_file: str) -> None:
    """Make a key pair for `backup --to`: SECRET_FILE (keep it off the servers) and SECRET_FILE.pub.

    The servers hold only the public key, so they write backups they cannot read.
    """
    path = Path(secret_file)
    if path.exists():
        raise click.ClickException(f"{path} 已存在：不覆盖私钥")
    secret = seal.SecretKey.generate()
    _write_private(path, secret.text() + "\n")
    public = secret.public().text()
    Path(f"{secret_file}.pub").write_text(public + "\n", encoding="utf-8")
    click.echo(public)
    click.echo(
        f"私钥在 {path}：离开服务器保管（恢复时要用），丢了它这些备份就都打不开了。\n"
        f"公钥（上面一行，也在 {path}.pub）放到服务器上：veteranbot backup FILE --to {path}.pub",
        err=True,
    )


def _write_private(path: Path, value: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
