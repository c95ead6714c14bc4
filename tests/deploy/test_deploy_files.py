"""deploy/: the nginx site as the example settings render it, a unit per Procfile line."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import click
import pytest
from dotenv import dotenv_values

from bot.commands.deploy import Placement, render
from bot.config import DEFAULTS

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "veteranbot.env.example"
NGINX_EXAMPLE = DEPLOY / "nginx" / "veteranbot.conf"
# Settings a server has no use for: the sandbox's emulator port.
NOT_FOR_SERVERS = {"SANDBOX_PORT"}
# Read by the Procfile and the web unit, not by bot/config.py.
PROCESS_ONLY = {"WEB_CONCURRENCY"}


def _example_settings() -> dict:
    values = dotenv_values(ENV_EXAMPLE)
    return {**values, "PORT": int(values["PORT"])}


def write_example() -> None:
    """Rewrite deploy/nginx/veteranbot.conf from deploy/veteranbot.env.example."""
    NGINX_EXAMPLE.write_text(render(_example_settings(), Placement())[0], encoding="utf-8")


def test_the_shipped_nginx_site_is_the_example_settings_rendered():
    rendered, warnings = render(_example_settings(), Placement())
    assert warnings == []
    assert NGINX_EXAMPLE.read_text(encoding="utf-8") == rendered, (
        "deploy/nginx/veteranbot.conf is stale: .venv/bin/python -c "
        '"from tests.deploy.test_deploy_files import write_example; write_example()"'
    )


def test_the_env_example_names_every_setting_a_server_reads():
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    named = {
        line.lstrip("# ").split("=", 1)[0]
        for line in text.splitlines()
        if "=" in line and line.lstrip("# ").split("=", 1)[0].isupper()
    }
    assert set(DEFAULTS) - NOT_FOR_SERVERS - named == set()
    assert named - set(DEFAULTS) - PROCESS_ONLY == set()


def _procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name.strip(): shlex.split(command) for name, command in (ln.split(":", 1) for ln in lines)
    }


def _unit(name: str) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(
        (DEPLOY / "systemd" / f"veteranbot-{name}.service").read_text().replace("\\\n", " ")
    )
    return parser["Service"]


def _program(words: list[str]) -> list[str]:
    """The command a Procfile line ends up running: after `exec`, up to its first option value."""
    if "exec" in words:
        words = words[words.index("exec") + 1 :]
    words[0] = Path(words[0]).name
    return words[: words.index("--bind")] if "--bind" in words else words[:4]


@pytest.mark.parametrize("name", sorted(_procfile()))
def test_each_procfile_line_has_a_unit_running_the_same_program(name):
    unit = _unit(name)
    assert _program(shlex.split(unit["ExecStart"])) == _program(_procfile()[name])
    assert unit["EnvironmentFile"] == "/etc/veteranbot/veteranbot.env"
    assert unit["Restart"] == "always"


def test_the_web_unit_migrates_first_and_binds_loopback_only():
    # The Procfile's web line starts with `veteranbot db upgrade &&`.
    assert _procfile()["web"][1:3] == ["db", "upgrade"]
    unit = _unit("web")
    assert shlex.split(unit["ExecStartPre"])[1:] == ["db", "upgrade"]
    assert "--bind 127.0.0.1:${PORT}" in unit["ExecStart"]


def test_the_site_needs_an_https_public_url():
    with pytest.raises(click.ClickException, match="PUBLIC_URL"):
        render({**_example_settings(), "PUBLIC_URL": "http://bot.example.org"}, Placement())


def test_what_wechat_will_refuse_is_said():
    settings = {**_example_settings(), "PUBLIC_URL": "https://192.0.2.8:8443"}
    text, warnings = render(settings, Placement())
    assert any("8443" in w for w in warnings) and any("IP" in w for w in warnings)
    # The column is on another host now: nginx still serves SITE_DIR at the app's /column/.
    assert any("SITE_URL" in w for w in warnings) and "location /column/ {" in text
    assert "return 301 https://$host:8443$request_uri;" in text
