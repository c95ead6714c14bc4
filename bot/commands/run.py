"""`veteranbot run`: the whole bot on one machine, with what it lacks embedded.

Order matters: Redis and the WeChat emulator start first (the children need
them), migrations and the sample directory next (so no child sees an old
schema), then gunicorn, a Celery worker and beat as supervised children.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import click
import redis
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import db, runner, store
from bot.config import (
    RUN_RECORD,
    ConfigError,
    load_config,
    prepare_instance,
    read_environment,
    read_run_record,
    unset_templates,
)
from bot.records.imports import station_import

SAMPLE_STATIONS = Path("stations") / "butuo-sample.csv"
WEB_WORKERS = 2
# In plaintext mode WeChat's signature covers the query, not the body: whoever
# reads one signed URL (a log, a proxy) may post any message as that follower
# until the timestamp goes stale, and every message crosses the wire readable.
PLAINTEXT_WARNING = (
    "warning: WECHAT_ENCODING_AES_KEY is not set, so the account runs in plaintext mode: "
    "message bodies are neither signed nor encrypted. Switch the account to 安全模式 "
    "(safe mode) and set WECHAT_ENCODING_AES_KEY (see README, 'Safe mode')."
)


@click.command("run")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address the web app binds; 0.0.0.0 lets other machines (phones on the LAN) in.",
)
def run(host: str) -> None:
    """Run web app, Celery worker and beat on this machine; Ctrl-C stops all."""
    raw = read_environment()
    try:
        prepare_instance(raw)
        cfg = load_config(raw)
    except ConfigError as exc:
        raise click.ClickException(f"设置有误 {exc}") from exc
    if not cfg["SANDBOX"] and (missing := unset_templates(cfg)):
        # Staff would never hear of requests or reminders; better not to start at all.
        raise click.ClickException(
            f"设置有误 {'、'.join(missing)} 未设置：真实账号必须为这些通知设置类目模板 id"
            "和对应的 _FIELDS（见 README“连接真实账号”）"
        )
    if not cfg["SANDBOX"] and not cfg["WECHAT_ENCODING_AES_KEY"]:
        click.echo(PLAINTEXT_WARNING, err=True)
    instance = Path(cfg["INSTANCE_DIR"])
    # Held until this process ends: a second run on the folder must touch nothing
    # of the first (its Redis, its record), so it checks before starting anything.
    claim = runner.claim(instance)
    if claim is None:
        raise click.ClickException(_already_running(instance))
    with claim:
        if _serve(cfg, host, instance):
            return
    sys.exit(1)


def _serve(cfg: dict, host: str, instance: Path) -> bool:
    """Start everything and watch it; True for a requested stop, False when a part died."""
    _check_port_free(host, cfg["PORT"], "PORT")
    if cfg["SANDBOX"]:
        _check_port_free("127.0.0.1", cfg["SANDBOX_PORT"], "SANDBOX_PORT")
    _write_run_record(instance, host, cfg)
    # Signals stay caught while the stack unwinds, so a second Ctrl-C can hurry it.
    with runner.StopSignals() as signals, ExitStack() as stack:
        env, embedded, parts = _embedded_services(cfg, stack, host)
        if signals.stop:
            return True
        click.echo(_migrate(cfg))
        click.echo(_load_sample_stations(cfg))
        if signals.stop:
            return True
        children = _start_children(cfg, env, host)
        stack.callback(runner.stop_all, children, hurry=lambda: signals.hurry)
        banner = _banner(cfg, host, embedded, children)
        tick = _announce_when_healthy(cfg, host, banner)
        dead = runner.watch(children, signals, on_tick=tick, parts=parts)
        if dead is None:
            click.echo("veteranbot: stopping…")
            return True
        click.echo(f"veteranbot: {dead}; stopping the rest", err=True)
    return False


def _already_running(instance: Path) -> str:
    record = read_run_record(instance)
    where = f" at {record['url']}" if record.get("url") else ""
    pid = f" (pid {record['pid']})" if record.get("pid") else ""
    return (
        f"veteranbot is already running{where}{pid} on {instance}. "
        "Stop it first (Ctrl-C in its terminal), or give a second one its own "
        "INSTANCE_DIR and PORT."
    )


def _write_run_record(instance: Path, host: str, cfg: dict) -> None:
    """Record where this run serves, for one-off commands' links (config.read_run_record)."""
    record = {"port": cfg["PORT"], "pid": os.getpid(), "url": _local_url(host, cfg)}
    (instance / RUN_RECORD).write_text(json.dumps(record), encoding="utf-8")


def _embedded_services(
    cfg: dict, stack: ExitStack, host: str
) -> tuple[dict, list[str], dict[str, Callable[[], bool]]]:
    """Start the private Redis and the emulator when needed.

    Returns the children's env, the banner's lines, and a liveness check for
    each started part that is not a child.
    """
    env = dict(os.environ)
    env["INSTANCE_DIR"] = cfg["INSTANCE_DIR"]
    env["PORT"] = str(cfg["PORT"])
    embedded, parts = [], {}
    if not cfg["REDIS_URL"]:
        server = store.start_embedded(cfg["INSTANCE_DIR"])
        pid = int(server.info("server")["process_id"])
        # A one-off command may have started this Redis a moment ago; it is ours
        # now either way, and it goes when the run does.
        stack.callback(_stop_redis, server, pid)
        cfg["REDIS_URL"] = store.embedded_url(server)
        embedded.append(f"Redis          {cfg['REDIS_URL']}")
        parts[f"the embedded Redis (pid {pid})"] = lambda: runner.pid_alive(pid)
    env["REDIS_URL"] = cfg["REDIS_URL"]
    if cfg["SANDBOX"]:
        from bot.sandbox.chat import ACCOUNT, STAFF_OPENID
        from bot.sandbox.emulator import create_emulator
        from bot.sandbox.platform import PlatformState, Webhook
        from bot.sandbox.server import serve_in_thread
        from bot.sandbox.templates import EXAMPLES

        # The emulator's request log would repeat the chat page's poll every 3 s.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # The emulator reports finished mass sends and publish jobs to our webhook.
        hook = Webhook(f"{_local_url(host, cfg)}/wechat", cfg["WECHAT_TOKEN"], ACCOUNT)
        state = PlatformState(
            appid=cfg["WECHAT_APP_ID"],
            secret=cfg["WECHAT_APP_SECRET"],
            webhook=hook,
            templates=dict(EXAMPLES),  # the category templates the sandbox account added
        )
        # The console's sign-in inside "WeChat": its host is the authorised domain.
        state.oauth.domains.add(urlsplit(cfg["PUBLIC_URL"]).netloc)
        state.oauth.suggested_openid = STAFF_OPENID
        server = serve_in_thread(create_emulator(state), port=cfg["SANDBOX_PORT"])
        stack.callback(server.shutdown)
        cfg["WECHAT_API_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        env["WECHAT_API_BASE_URL"] = cfg["WECHAT_API_BASE_URL"]
        embedded.append(f"WeChat API     {cfg['WECHAT_API_BASE_URL']} (emulator)")
    return env, embedded, parts


def _stop_redis(server, pid: int) -> None:
    """Shut the private Redis down (saving its data) once every child has gone."""
    with contextlib.suppress(redis.RedisError):  # it may be the part that died
        server.shutdown(save=True)
    server.connection_pool.disconnect()
    runner.wait_gone(pid)


def _migrate(cfg: dict) -> str:
    """Bring the schema up to date; say in one line what was done."""
    engine = db.make_engine(cfg["DATABASE_URL"])
    try:
        before = db.revision_of(engine)
        db.upgrade(engine)
        after = db.revision_of(engine)
    finally:
        engine.dispose()
    if before == after:
        return f"database: schema {after}, up to date"
    return f"database: schema {before or 'empty'} -> {after}"


def _load_sample_stations(cfg: dict) -> str:
    """Load the sample Butuo directory when there are no stations yet; say what happened."""
    from bot.models.stations import Station

    path = Path(cfg["CONTENT_DIR"]) / SAMPLE_STATIONS
    engine = db.make_engine(cfg["DATABASE_URL"])
    try:
        with Session(engine) as session:
            count = session.scalar(select(func.count()).select_from(Station))
            if count:
                return f"stations: {count} in the directory"
            if not path.is_file():
                return f"stations: none yet, and no sample at {path}"
            station_import.load_csv(session, path)
            session.commit()
            count = session.scalar(select(func.count()).select_from(Station))
            return f"stations: loaded {count} sample stations from {path}"
    finally:
        engine.dispose()


def _start_children(cfg: dict, env: dict, host: str) -> list[runner.Child]:
    """gunicorn, a Celery worker and beat, in that order."""
    python, level = sys.executable, cfg["LOG_LEVEL"]
    # bot.gunicorn_conf keeps /wechat's signed query strings out of the logs.
    web = [python, "-m", "gunicorn", "-c", "python:bot.gunicorn_conf", "bot.wsgi:app"]
    web += ["--bind", f"{host}:{cfg['PORT']}"]
    web += ["--workers", str(WEB_WORKERS), "--timeout", "30", "--graceful-timeout", "5"]
    # gunicorn 27 opens a control socket in ~/.gunicorn by default; two runs would share it.
    web += ["--no-control-socket"]
    # --quiet: our banner says what runs where; Celery's would bury it.
    celery = [python, "-m", "celery", "-A", "tasks.worker", "--quiet"]
    # One machine, one solo worker: tasks are short HTTP calls, and a solo pool
    # has no forked children to lose track of. Gossip, mingle and heartbeats
    # only matter between several workers, and mingle slows the start down.
    worker = [*celery, "worker", "--pool", "solo", "--loglevel", level]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    # Beat keeps its schedule in Redis (RedBeat, set in tasks), not in a file of its own.
    beat = [*celery, "beat", "--loglevel", level]
    if os.geteuid() == 0:
        # Celery's multi-line warning would stand above the banner at every start;
        # the banner carries one line about it instead (_banner).
        env = {**env, "PYTHONWARNINGS": "ignore:You're running the worker with superuser"}
    return [
        runner.spawn("web", web, env),
        runner.spawn("worker", worker, env),
        runner.spawn("beat", beat, env),
    ]


def _check_port_free(host: str, port: int, setting: str) -> None:
    """Fail early with the setting's name instead of a child's bind error."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                f"{host}:{port} is not free ({exc.strerror}); set {setting} to another port"
            ) from exc


def _banner(cfg: dict, host: str, embedded: list[str], children: list[runner.Child]) -> str:
    local = _local_url(host, cfg)
    lines = ["", "veteranbot is running" + (" in SANDBOX mode" if cfg["SANDBOX"] else "")]
    if cfg["SANDBOX"]:
        lines.append(f"  chat page      {local}/   (talk to the bot as a veteran would)")
        lines.append(f"  webhook        {local}/wechat   (token {cfg['WECHAT_TOKEN']})")
    else:
        lines.append(f"  webhook        {local}/wechat   (WeChat calls https://<host>/wechat)")
    lines.append(f"  health         {local}/healthz")
    if host in ("0.0.0.0", "::"):
        lines.append(f"  listening on   {host}:{cfg['PORT']} (every interface)")
    lines += [f"  embedded       {e}" for e in embedded] or ["  embedded       nothing"]
    lines.append(f"  database       {make_url(cfg['DATABASE_URL']).render_as_string()}")
    lines.append("  processes      " + ", ".join(f"{c.name} {c.proc.pid}" for c in children))
    if os.geteuid() == 0:
        lines.append(
            "  note           running as root; on a server, run as a service user (deploy/)"
        )
    lines.append("Press Ctrl-C to stop.\n")
    return "\n".join(lines)


def _local_url(host: str, cfg: dict) -> str:
    """The web app's URL as seen from this machine."""
    return f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{cfg['PORT']}"


def _announce_when_healthy(cfg: dict, host: str, banner: str):
    """A tick callback printing the banner once /healthz first answers 200."""
    url = f"{_local_url(host, cfg)}/healthz"
    shown = False

    def tick() -> None:
        nonlocal shown
        if shown:
            return
        try:
            ok = requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            ok = False
        if ok:
            shown = True
            click.echo(banner)

    return tick
