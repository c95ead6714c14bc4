"""`veteranbot deploy nginx-config`: the nginx site in front of gunicorn, from the bot's settings.

The site is rendered from the same settings the bot runs with (PUBLIC_URL, PORT,
SITE_DIR, SITE_URL), so nginx cannot proxy to another port than gunicorn binds
or serve another folder than the worker builds into. A copy rendered for
bot.example.org is in deploy/nginx/veteranbot.conf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from urllib.parse import urlparse

import click
import jinja2

from bot.config import load_config, read_environment

TEMPLATE = "templates/deploy/nginx.conf.j2"
# Where Debian's nginx and certbot put things; each is an option.
LETSENCRYPT = "/etc/letsencrypt/live/{host}"
WEBROOT = "/var/www/html"  # Debian's default site: certbot's first --webroot run works as is
LOG_DIR = "/var/log/nginx"


@dataclass(frozen=True)
class Placement:
    """What the settings do not say: certificate, webroot, logs, and where to listen."""

    certificate: str = ""
    certificate_key: str = ""
    webroot: str = WEBROOT
    log_dir: str = LOG_DIR
    http_port: int = 80
    listen: str = ""  # an address, or every address (IPv4 and IPv6)


def render(cfg: dict, where: Placement) -> tuple[str, list[str]]:
    """The nginx site for these settings, and warnings (in Chinese) of what WeChat refuses."""
    public = urlparse(cfg["PUBLIC_URL"])
    host = public.hostname or ""
    if public.scheme != "https":
        raise click.ClickException(
            "PUBLIC_URL 应为 https://<域名>（微信只回调 443 端口上的 HTTPS），"
            f"现在是 {cfg['PUBLIC_URL']}"
        )
    warnings = []
    https_port = public.port or 443
    if https_port != 443:
        warnings.append(f"PUBLIC_URL 带端口 {https_port}：微信只回调 80 和 443 端口，只宜用于测试")
    if re.fullmatch(r"[\d.]+|\[?[0-9a-fA-F:]+\]?", host):
        warnings.append("PUBLIC_URL 是 IP 地址：网页授权域名和 JS 接口安全域名都要求备案过的域名")
    site = urlparse(cfg["SITE_URL"])
    column = site.path.rstrip("/") or "/column"
    if (site.hostname, site.port or 443) != (host, https_port) or site.scheme != "https":
        column = "/column"  # the app's own address for SITE_DIR
        warnings.append(
            f"SITE_URL（{cfg['SITE_URL']}）不在 {cfg['PUBLIC_URL']} 上：这里仍在 /column/ "
            "提供 SITE_DIR，请把 SITE_DIR 同步到 SITE_URL 所在的服务器"
        )
    cert_dir = LETSENCRYPT.format(host=host)
    text = _template().render(
        public_url=cfg["PUBLIC_URL"],
        port=cfg["PORT"],
        site_dir=str(Path(cfg["SITE_DIR"]).resolve()),
        server_name=host,
        http_listen=_listen(where.listen, where.http_port),
        https_listen=_listen(where.listen, https_port),
        https_port_suffix="" if https_port == 443 else f":{https_port}",
        certificate=where.certificate or f"{cert_dir}/fullchain.pem",
        certificate_key=where.certificate_key or f"{cert_dir}/privkey.pem",
        webroot=where.webroot,
        log_dir=where.log_dir.rstrip("/"),
        column=column,
        column_regex=re.escape(column),
    )
    return text, warnings


def _listen(address: str, port: int) -> list[str]:
    if not address:
        return [str(port), f"[::]:{port}"]
    return [f"[{address}]:{port}" if ":" in address else f"{address}:{port}"]


def _template() -> jinja2.Template:
    source = (resources.files("bot") / TEMPLATE).read_text(encoding="utf-8")
    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # nginx syntax, not HTML
    )
    return env.from_string(source)


@click.group("deploy")
def deploy():
    """Files for running the bot on a server (see the README's Deploy section)."""


@deploy.command("nginx-config")
@click.option(
    "--cert", "certificate", default="", help="证书链文件（默认 Let's Encrypt 的 fullchain.pem）"
)
@click.option(
    "--key", "certificate_key", default="", help="私钥文件（默认 Let's Encrypt 的 privkey.pem）"
)
@click.option(
    "--webroot", default=WEBROOT, show_default=True, help="certbot 和 MP_verify 文件的目录"
)
@click.option("--log-dir", default=LOG_DIR, show_default=True, help="nginx 日志目录")
@click.option("--http-port", default=80, show_default=True, help="HTTP 端口（只做跳转和验证）")
@click.option("--listen", default="", help="只在这个地址上监听（默认所有地址）")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="写入文件（默认输出到屏幕）")
def nginx_config(output: str | None, **placement) -> None:
    """The nginx site: TLS, limits, the column from SITE_DIR, the rest to gunicorn on PORT."""
    cfg = load_config(read_environment())
    text, warnings = render(cfg, Placement(**placement))
    for warning in warnings:
        click.echo(f"注意：{warning}", err=True)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"已写入 {output}；检查后运行 nginx -t && systemctl reload nginx", err=True)
    else:
        click.echo(text, nl=False)
