"""A consistent copy of the whole database out, and into an empty one: SQLite or PostgreSQL.

SQLite: its online backup API, which copies one consistent snapshot while the
bot keeps writing (WAL). PostgreSQL: pg_dump's custom format, taken inside one
snapshot, and pg_restore in a single transaction, so a failed restore leaves
the database as empty as it was.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy.engine import make_url

CHUNK = 64 * 1024
# pg_dump must be as new as the server: Debian's postgresql-client-NN for server NN.
_NO_CLIENT = "找不到 {}：请安装和数据库服务器同版本的 PostgreSQL 客户端（postgresql-client）"


class DumpError(RuntimeError):
    """The copy or the restore failed; the message says why."""


def kind(url: str) -> str:
    """ "sqlite" or "postgresql"; anything else cannot be backed up here."""
    backend = make_url(url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DumpError(f"不支持备份 {backend} 数据库")
    return backend


def tables(url: str) -> list[str]:
    """The tables the database holds now (empty for a missing SQLite file)."""
    if kind(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            return []
        with contextlib.closing(sqlite3.connect(path)) as conn:
            rows = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
        return sorted(r[0] for r in rows)
    query = (
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
    )
    out = _run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", query], url)
    return [line for line in out.decode().splitlines() if line]


def dump(url: str, sink: Callable[[bytes], None]) -> None:
    """Feed sink the whole database, as one consistent snapshot, a chunk at a time."""
    if kind(url) == "sqlite":
        path = _sqlite_path(url)
        if not path.exists():
            raise DumpError(f"{path} 不存在")
        with tempfile.TemporaryDirectory(prefix="veteranbot-backup-") as tmp:  # owner-only
            copy = Path(tmp) / "copy.db"
            src, dst = sqlite3.connect(path), sqlite3.connect(copy)
            with contextlib.closing(src), contextlib.closing(dst):
                src.backup(dst)
            with copy.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    sink(chunk)
        return
    args = ["pg_dump", "--format=custom", "--no-owner", "--no-privileges"]
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(
                [*args, "--dbname", _conninfo(url)],
                stdout=subprocess.PIPE,
                stderr=errors,
                env=_pg_env(url),
            )
        except FileNotFoundError:
            raise DumpError(_NO_CLIENT.format(args[0])) from None
        try:
            while chunk := proc.stdout.read(CHUNK):
                sink(chunk)
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise DumpError(f"pg_dump 失败：{_last_line(errors.read())}")


def restore(url: str, chunks: Iterable[bytes]) -> None:
    """Write the dump into the database, which must hold no table.

    The dump is written to a private temporary file first: nothing reaches the
    database until every chunk has been read (and, from a sealed backup, verified).
    """
    found = tables(url)
    if found:
        raise DumpError(
            f"目标数据库不是空的（有 {len(found)} 张表，如 {found[0]}）：恢复只写进空数据库"
        )
    backend = kind(url)
    target = _sqlite_path(url) if backend == "sqlite" else None
    where = str(target.parent) if target else None
    with tempfile.TemporaryDirectory(prefix="veteranbot-restore-", dir=where) as tmp:
        copy = Path(tmp) / "restore.dump"
        with copy.open("wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
        if backend == "postgresql":
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    "--single-transaction",
                    str(copy),
                ],
                url,
            )
            return
        with contextlib.closing(sqlite3.connect(copy)) as src:
            try:
                verdict = src.execute("PRAGMA integrity_check").fetchone()[0]
            except sqlite3.DatabaseError as exc:
                raise DumpError(f"备份里的不是 SQLite 数据库（{exc}）") from None
            if verdict != "ok":
                raise DumpError(f"备份里的 SQLite 数据库已损坏：{verdict}")
            # Owner-only before SQLite creates it with the umask's mode: it holds names and phones.
            with contextlib.suppress(FileExistsError):
                os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            # Through SQLite, not a file copy: an old -wal beside the target must not replay.
            with contextlib.closing(sqlite3.connect(target)) as dst:
                src.backup(dst)


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DumpError("内存里的 SQLite 数据库不能备份")
    return Path(database)


def _conninfo(url: str) -> str:
    """A libpq URI for the SQLAlchemy URL, without its password (that goes in PGPASSWORD)."""
    parsed = make_url(url).set(drivername="postgresql", password=None)
    return parsed.render_as_string(hide_password=False)


def _pg_env(url: str) -> dict[str, str]:
    env = dict(os.environ)
    password = make_url(url).password
    if password:
        env["PGPASSWORD"] = str(password)
    return env


def _run(args: list[str], url: str) -> bytes:
    try:
        done = subprocess.run(
            [*args, "--dbname", _conninfo(url)],
            capture_output=True,
            env=_pg_env(url),
            check=False,
        )
    except FileNotFoundError:
        raise DumpError(_NO_CLIENT.format(args[0])) from None
    if done.returncode != 0:
        raise DumpError(f"{args[0]} 失败：{_last_line(done.stderr)}")
    return done.stdout


def _last_line(stderr: bytes) -> str:
    lines = [line for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "（没有输出）"
