"""`veteranbot run`: the whole bot on one machine, with what it lacks embedded.

Order matters: Redis and the WeChat emulator start first (the children need
them), migrations and the sample directory next (so no child sees an old
schema), then gunicorn, a Celery worker and beat as supervised children.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import click
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import db, runner, store
from bot.config import ConfigError, load_config, prepare_instance, read_environment
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
    if not cfg["SANDBOX"] and not cfg["WECHAT_ENCODING_AES_KEY"]:
        click.echo(PLAINTEXT_WARNING, err=True)
    _check_port_free(host, cfg["PORT"], "PORT")
    # Signals stay caught while the stack unwinds, so a second Ctrl-C can hurry it.
    with runner.StopSignals() as signals, ExitStack() as stack:
        env, embedded = _embedded_services(cfg, stack, host)
        if signals.stop:
            return
        _migrate(cfg)
        click.echo(_load_sample_stations(cfg))
        if signals.stop:
            return
        children = _start_children(cfg, env, host)
        stack.callback(runner.stop_all, children, hurry=lambda: signals.hurry)
        banner = _banner(cfg, host, embedded, children)
        dead = runner.watch(children, signals, on_tick=_announce_when_healthy(cfg, host, banner))
        if dead is None:
            click.echo("veteranbot: stopping…")
            return
        click.echo(f"veteranbot: {dead.name} exited with {dead.proc.returncode}; stopping the rest")
    sys.exit(1)


def _embedded_services(cfg: dict, stack: ExitStack, host: str) -> tuple[dict, list[str]]:
    """Start the private Redis and the emulator when needed; return the children's env."""
    env = dict(os.environ)
    env["INSTANCE_DIR"] = cfg["INSTANCE_DIR"]
    env["PORT"] = str(cfg["PORT"])
    embedded = []
    if not cfg["REDIS_URL"]:
        server = store.start_embedded(cfg["INSTANCE_DIR"])
        stack.callback(_stop_redis, server)
        cfg["REDIS_URL"] = store.embedded_url(server)
        embedded.append(f"Redis          {cfg['REDIS_URL']}")
    env["REDIS_URL"] = cfg["REDIS_URL"]
    if cfg["SANDBOX"]:
        from bot.sandbox.chat import ACCOUNT, STAFF_OPENID
        from bot.sandbox.emulator import create_emulator
        from bot.sandbox.platform import PlatformState, Webhook
        from bot.sandbox.server import serve_in_thread

        _check_port_free("127.0.0.1", cfg["SANDBOX_PORT"], "SANDBOX_PORT")
        # The emulator's request log would repeat the chat page's poll every 3 s.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # The emulator reports finished mass sends and publish jobs to our webhook.
        hook = Webhook(f"{_local_url(host, cfg)}/wechat", cfg["WECHAT_TOKEN"], ACCOUNT)
        state = PlatformState(
            appid=cfg["WECHAT_APP_ID"], secret=cfg["WECHAT_APP_SECRET"], webhook=hook
        )
        # The console's sign-in inside "WeChat": its host is the authorised domain.
        state.oauth.domains.add(urlsplit(cfg["PUBLIC_URL"]).netloc)
        state.oauth.suggested_openid = STAFF_OPENID
        server = serve_in_thread(create_emulator(state), port=cfg["SANDBOX_PORT"])
        stack.callback(server.shutdown)
        cfg["WECHAT_API_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
        env["WECHAT_API_BASE_URL"] = cfg["WECHAT_API_BASE_URL"]
        embedded.append(f"WeChat API     {cfg['WECHAT_API_BASE_URL']} (emulator)")
    return env, embedded


def _stop_redis(server) -> None:
    """Shut the private Redis down (saving its data) once every child has gone."""
    pid = server.pid
    server.shutdown(save=True)
    server.connection_pool.disconnect()
    runner.wait_gone(pid)


def _migrate(cfg: dict) -> None:
    engine = db.make_engine(cfg["DATABASE_URL"])
    try:
        db.upgrade(engine)
    finally:
        engine.dispose()


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
    celery = [python, "-m", "celery", "-A", "tasks.worker"]
    # One machine, one solo worker: tasks are short HTTP calls, and a solo pool
    # has no forked children to lose track of. Gossip, mingle and heartbeats
    # only matter between several workers, and mingle slows the start down.
    worker = [*celery, "worker", "--pool", "solo", "--loglevel", level]
    worker += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    schedule = str(Path(cfg["INSTANCE_DIR"]) / "celerybeat-schedule")
    beat = [*celery, "beat", "--schedule", schedule, "--loglevel", level]
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
