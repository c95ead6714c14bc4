"""Every setting, read from the environment (and an optional .env) in one place."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from urllib.parse import urlparse

from cryptography.fernet import Fernet
from dotenv import dotenv_values

# The holiday table is reference data, like a schema: settings name its keys.
from bot.care.occasions import parse_keys, parse_set_dates
from bot.models.requests import CATEGORIES
from bot.wechat import templates

WECHAT_API = "https://api.weixin.qq.com"

# Settings read from the environment, with their embedded defaults. None means
# "derived at start" (see load_config).
DEFAULTS: dict[str, str | None] = {
    "WECHAT_TOKEN": None,
    "WECHAT_APP_ID": None,
    "WECHAT_APP_SECRET": None,
    "WECHAT_ENCODING_AES_KEY": "",
    "WECHAT_API_BASE_URL": WECHAT_API,
    # Each notice's category template: its id, and which of its typed keys carries
    # each of our fields (bot/wechat/templates.py, ROLES), e.g.
    # number:character_string1,category:phrase2,station:thing3,time:time4.
    "WECHAT_TEMPLATE_HELP_REQUEST": "",
    "WECHAT_TEMPLATE_HELP_REQUEST_FIELDS": "",
    "WECHAT_TEMPLATE_EDITOR_NOTICE_FIELDS": "",
    "WECHAT_TEMPLATE_CARE_REMINDER_FIELDS": "",
    # The veteran's case-progress notice (taken, a question, the answer, escalated),
    # used when WeChat's 48-hour customer-service window is closed.
    "WECHAT_TEMPLATE_CASE_PROGRESS": "",
    "WECHAT_TEMPLATE_CASE_PROGRESS_FIELDS": "",
    # The bot's public address, derived from PORT when unset: links in notices (a case
    # page, the full list behind a reminder, a call-back's recordings) point here.
    "PUBLIC_URL": None,
    # Case deadlines (bot/requests/sla.py), in calendar time: hours to 签收, days to 办结
    # (per category with CASE_RESOLVE_DAYS_BY_CATEGORY, e.g. 就业创业:7,政策咨询:3),
    # and days to 办结 a 信访 case, which follows the petition rules' own limits.
    "CASE_ACCEPT_HOURS": "24",
    "CASE_RESOLVE_DAYS": "5",
    "CASE_RESOLVE_DAYS_BY_CATEGORY": "",
    "CASE_PETITION_RESOLVE_DAYS": "60",
    "DATABASE_URL": None,
    "REDIS_URL": "",
    "SECRET_KEY": None,
    "DATA_KEY": None,
    # Keys still read but no longer used to encrypt, comma-separated: the old key
    # while `veteranbot keys rotate` runs. Unset: instance/data.key.previous, if any.
    "DATA_KEY_PREVIOUS": None,
    # The web app's port. Unset: the port of this instance folder's last
    # `veteranbot run` (RUN_RECORD), so one-off commands write the same links
    # as the running site; 5000 before the first run.
    "PORT": None,
    "SITE_URL": None,
    "CONTENT_DIR": "content",
    "SITE_DIR": None,
    "INSTANCE_DIR": "instance",
    "SANDBOX_PORT": "5001",
    "DIALOG_TTL_SECONDS": "1800",
    "LOG_LEVEL": "INFO",
    # The column's editors: comma-separated openids told of failed or refused
    # stories and of a week with nothing queued.
    "EDITOR_OPENIDS": "",
    # Mass sends a follower may receive a month (4 for a verified service account);
    # holiday greetings share it, so lower it to leave them room.
    "MASS_QUOTA_PER_MONTH": "4",
    # The user tag a `mass` story is sent to: registered veterans, not every follower.
    "VETERAN_TAG": "退役军人",
    # Template id of the editor notice (a service notice: title, channel, reason).
    "WECHAT_TEMPLATE_EDITOR_NOTICE": "",
    # Template id of the staff care reminder (a service notice: the veterans in
    # their area not yet contacted this month, and the condolence-visit lists).
    "WECHAT_TEMPLATE_CARE_REMINDER": "",
    # Holiday greetings: the active occasion keys, comma-separated, or "all" (see
    # bot/occasions.py: new-year, spring-festival, torch-festival, army-day, …).
    "GREETING_OCCASIONS": "all",
    # Local time (Asia/Shanghai, HH:MM) from which the day's greeting goes out.
    "GREETING_TIME": "09:00",
    # 彝历新年, set by the prefecture each year: "YYYY-MM-DD[,YYYY-MM-DD…]", one per year
    # (`veteranbot greetings set-date yi-new-year` stores one in the database instead).
    "YI_NEW_YEAR": "",
    # `stations import` and `veterans import` refuse a file over this many bytes
    # unread (an XLSX also when it unpacks to 30 times this): 10 MiB holds a
    # prefecture's ledger many times over.
    "IMPORT_MAX_BYTES": str(10 * 1024 * 1024),
    # An import stops listing problems after this many ("fix these first").
    "IMPORT_MAX_FAULTS": "50",
    # How long the scan locks (publish:due, publish:story:<slug>, greetings:due) are
    # held at a time; a live run renews them every third of it, so a killed worker's
    # lock blocks the next run for at most this long.
    "LOCK_SECONDS": "30",
    # The webhook refuses (403) a call whose signed timestamp lies further than
    # this from our clock: a signed URL that leaked cannot be replayed later.
    # WeChat signs with the current time; keep the server's clock synchronised.
    "WEBHOOK_MAX_CLOCK_SKEW_SECONDS": "300",
    # The console is PUBLIC_URL/console/ (WeChat's web authorisation comes back
    # there): WeChat's authorisation host, and how long a console sign-in lasts.
    "WECHAT_OAUTH_BASE_URL": "https://open.weixin.qq.com",
    "CONSOLE_SESSION_HOURS": "8",
    # Sent outbox rows older than this many days are deleted by beat (and `outbox
    # prune`). A row's key is what stops a rerun from sending it again, so keep them
    # longer than any rerun can come: OUTBOX_MIN_KEEP_DAYS at least.
    "OUTBOX_KEEP_DAYS": "90",
    # A speech-recognition service for voice messages WeChat sent without text:
    # the audio is POSTed there and its {"text": …} used as if WeChat had heard it.
    # Empty: no recognition, the follower is offered a call-back instead.
    "SPEECH_RECOGNITION_URL": "",
    # How long the webhook waits for the download and the recognition together;
    # at most 2 s of its 4 s budget.
    "SPEECH_RECOGNITION_SECONDS": "1.5",
    # A shared location further than this from every station is answered as
    # outside the area, with the county centres' phones, instead of naming a
    # station hundreds of kilometres away.
    "NEAREST_STATION_MAX_KM": "50",
    # How many proxies in front of gunicorn append to X-Forwarded-For (1: nginx on
    # the same host). The app takes the client's address and scheme from that
    # many entries from the right; 0 trusts none, so a client cannot forge them.
    "TRUSTED_PROXIES": "0",
}
# The longest a key must stand: the condolence list may be written on any of 7 days,
# the editors' weekly reminder once per ISO week; twice that, to be safe.
OUTBOX_MIN_KEEP_DAYS = 14

# The sandbox plays the account with these when no real credentials are set.
SANDBOX_CREDENTIALS = {
    "WECHAT_TOKEN": "sandbox-token",
    "WECHAT_APP_ID": "wxsandbox0000000",
    "WECHAT_APP_SECRET": "sandbox-secret",
}


DEFAULT_PORT = 5000
# Written by `veteranbot run` into the instance folder: its port, pid and URL.
RUN_RECORD = "run.json"
# The sandbox account's category templates (bot/sandbox/templates.py, EXAMPLES) and
# how the notices map onto their keys: template id, FIELDS.
SANDBOX_TEMPLATES = {
    "help_request": (
        "sandbox-help",
        "number:character_string1,category:phrase2,station:thing3,time:time4",
    ),
    "editor_notice": (
        "sandbox-editor-notice",
        "title:thing1,channel:phrase2,reason:thing3,time:time4",
    ),
    "care_reminder": (
        "sandbox-care-reminder",
        "station:thing1,task:phrase2,count:number3,date:date4",
    ),
    "case_progress": (
        "sandbox-case-progress",
        "number:character_string1,status:phrase2,station:thing3,time:time4",
    ),
}


# Keys generated into the instance folder when the environment leaves them unset.
KEY_FILES = {"SECRET_KEY": "secret.key", "DATA_KEY": "data.key"}
# Where `veteranbot keys new` moves a generated data.key, one key a line.
PREVIOUS_KEY_FILE = "data.key.previous"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names it."""


def read_environment(environ: os._Environ | dict | None = None, dotenv: str = ".env") -> dict:
    """Return the raw settings: defaults, then .env, then the process environment."""
    environ = os.environ if environ is None else environ
    raw = dict(DEFAULTS)
    if Path(dotenv).is_file():
        raw.update({k: v for k, v in dotenv_values(dotenv).items() if k in DEFAULTS})
    raw.update({k: v for k, v in environ.items() if k in DEFAULTS})
    return raw


def load_config(raw: dict) -> dict:
    """Fill derived defaults, validate, and return the app's config mapping.

    It only reads: the keys `prepare_instance` generated are read from the
    instance folder when SECRET_KEY or DATA_KEY is unset, and a missing one is an
    error that names the step to run, never a new key (which would make every ID
    number encrypted under the old one unreadable).
    """
    instance = Path(raw["INSTANCE_DIR"]).resolve()
    cfg = dict(raw)
    cfg["INSTANCE_DIR"] = str(instance)
    cfg["SANDBOX"] = not (raw["WECHAT_APP_ID"] and raw["WECHAT_APP_SECRET"])
    if cfg["SANDBOX"]:
        for key, value in SANDBOX_CREDENTIALS.items():
            cfg[key] = cfg[key] or value
        for role, (template_id, fields) in SANDBOX_TEMPLATES.items():
            setting = templates.ROLES[role].setting
            if not raw[setting]:  # a template id of one's own comes with its own mapping
                cfg[setting], cfg[f"{setting}_FIELDS"] = template_id, fields
        if raw["WECHAT_API_BASE_URL"] == WECHAT_API:
            cfg["WECHAT_API_BASE_URL"] = f"http://127.0.0.1:{raw['SANDBOX_PORT']}"
        if raw["WECHAT_OAUTH_BASE_URL"] == DEFAULTS["WECHAT_OAUTH_BASE_URL"]:
            # The emulator plays open.weixin.qq.com's authorisation page too.
            cfg["WECHAT_OAUTH_BASE_URL"] = cfg["WECHAT_API_BASE_URL"]
    if not cfg["WECHAT_TOKEN"]:
        raise ConfigError("WECHAT_TOKEN: required with a real account")
    cfg["DATABASE_URL"] = raw["DATABASE_URL"] or f"sqlite:///{instance / 'veteranbot.db'}"
    for key, filename in KEY_FILES.items():
        cfg[key] = raw[key] or _read_key(key, instance / filename)
    cfg["DATA_KEY_PREVIOUS"] = previous_keys(raw["DATA_KEY_PREVIOUS"], instance)
    cfg["SITE_DIR"] = raw["SITE_DIR"] or str(instance / "site")
    cfg["PORT"] = raw["PORT"] or str(read_run_record(instance).get("port", DEFAULT_PORT))
    cfg["SITE_URL"] = (raw["SITE_URL"] or f"http://127.0.0.1:{cfg['PORT']}/column").rstrip("/")
    cfg["WECHAT_API_BASE_URL"] = cfg["WECHAT_API_BASE_URL"].rstrip("/")
    cfg["PUBLIC_URL"] = (raw["PUBLIC_URL"] or f"http://127.0.0.1:{cfg['PORT']}").rstrip("/")
    cfg["WECHAT_OAUTH_BASE_URL"] = cfg["WECHAT_OAUTH_BASE_URL"].rstrip("/")
    _validate(cfg)
    return cfg


def read_run_record(instance: Path) -> dict:
    """What the last `veteranbot run` in this instance folder recorded; {} if none."""
    try:
        record = json.loads((instance / RUN_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def prepare_instance(raw: dict) -> None:
    """Create the instance folder (mode 0700) and, once, a key file for each key not set (0600).

    The explicit first-run step of `veteranbot run` and `veteranbot db upgrade`.
    """
    instance = Path(raw["INSTANCE_DIR"]).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    # Keys, the SQLite file and the Redis dump live here: only the bot's user may
    # look in, also in a folder an older version created with the default mode.
    instance.chmod(0o700)
    for key, filename in KEY_FILES.items():
        if not raw[key]:
            _write_key_once(instance / filename, key == "DATA_KEY")


def _validate(cfg: dict) -> None:
    aes = cfg["WECHAT_ENCODING_AES_KEY"]
    if aes and len(aes) != 43:
        raise ConfigError("WECHAT_ENCODING_AES_KEY: must be 43 characters")
    try:
        Fernet(cfg["DATA_KEY"])
    except ValueError as exc:
        raise ConfigError("DATA_KEY: must be a Fernet key (32 url-safe base64 bytes)") from exc
    for number, previous in enumerate(cfg["DATA_KEY_PREVIOUS"], 1):
        try:
            Fernet(previous)
        except ValueError as exc:
            raise ConfigError(f"DATA_KEY_PREVIOUS: key {number} is not a Fernet key") from exc
    editors = cfg["EDITOR_OPENIDS"] or ""
    editors = editors.split(",") if isinstance(editors, str) else editors
    cfg["EDITOR_OPENIDS"] = tuple(o.strip() for o in editors if o.strip())
    for key in (
        "PORT",
        "SANDBOX_PORT",
        "DIALOG_TTL_SECONDS",
        "MASS_QUOTA_PER_MONTH",
        "TRUSTED_PROXIES",
    ):
        if not str(cfg[key]).isdigit():
            raise ConfigError(f"{key}: must be a whole number")
        cfg[key] = int(cfg[key])
    for key in (
        "IMPORT_MAX_BYTES",
        "IMPORT_MAX_FAULTS",
        "LOCK_SECONDS",
        "WEBHOOK_MAX_CLOCK_SKEW_SECONDS",
        "CONSOLE_SESSION_HOURS",
        "NEAREST_STATION_MAX_KM",
    ):
        if not str(cfg[key]).isdigit() or int(cfg[key]) < 1:
            raise ConfigError(f"{key}: must be a whole number above 0")
        cfg[key] = int(cfg[key])
    keep = str(cfg["OUTBOX_KEEP_DAYS"])
    if not keep.isdigit() or int(keep) < OUTBOX_MIN_KEEP_DAYS:
        raise ConfigError(
            f"OUTBOX_KEEP_DAYS: must be a whole number of days, {OUTBOX_MIN_KEEP_DAYS} or more"
        )
    cfg["OUTBOX_KEEP_DAYS"] = int(keep)
    for key in ("WECHAT_API_BASE_URL", "SITE_URL", "WECHAT_OAUTH_BASE_URL", "PUBLIC_URL"):
        if urlparse(cfg[key]).scheme not in ("http", "https"):
            raise ConfigError(f"{key}: must be an http(s) URL")
    _validate_speech(cfg)
    _validate_greetings(cfg)
    # WeChat's tag names are at most 30 bytes (45158); county tags add three characters
    # (木里县 + VETERAN_TAG, bot/records/tagging.py), nine bytes.
    if not 0 < len(cfg["VETERAN_TAG"].encode()) <= 21:
        raise ConfigError("VETERAN_TAG: 1 to 21 bytes (7 Chinese characters), room for a county")
    _validate_templates(cfg)
    _validate_cases(cfg)
    if cfg["REDIS_URL"] and urlparse(cfg["REDIS_URL"]).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError("REDIS_URL: must be a redis://, rediss:// or unix:// URL")


def _validate_speech(cfg: dict) -> None:
    url = cfg["SPEECH_RECOGNITION_URL"] or ""
    if url and urlparse(url).scheme not in ("http", "https"):
        raise ConfigError("SPEECH_RECOGNITION_URL: must be an http(s) URL, or empty")
    try:
        seconds = float(cfg["SPEECH_RECOGNITION_SECONDS"])
    except ValueError:
        seconds = 0.0
    # The webhook answers within 4 s: the follower's lock, Redis and the database need the rest.
    if not 0 < seconds <= 2:
        raise ConfigError("SPEECH_RECOGNITION_SECONDS: must be a number above 0, at most 2")
    cfg["SPEECH_RECOGNITION_SECONDS"] = seconds


def _validate_greetings(cfg: dict) -> None:
    try:
        cfg["GREETING_OCCASIONS"] = parse_keys(cfg["GREETING_OCCASIONS"])
    except ValueError as exc:
        raise ConfigError(f"GREETING_OCCASIONS: {exc}") from None
    hh, _, mm = str(cfg["GREETING_TIME"]).partition(":")
    if not (hh.isdigit() and mm.isdigit() and int(hh) < 24 and int(mm) < 60 and len(mm) == 2):
        raise ConfigError("GREETING_TIME: must be HH:MM (Asia/Shanghai)")
    try:
        parse_set_dates(cfg["YI_NEW_YEAR"])
    except ValueError as exc:
        raise ConfigError(f"YI_NEW_YEAR: {exc} (expected YYYY-MM-DD[,YYYY-MM-DD])") from None


def _validate_cases(cfg: dict) -> None:
    for key in ("CASE_ACCEPT_HOURS", "CASE_RESOLVE_DAYS", "CASE_PETITION_RESOLVE_DAYS"):
        if not str(cfg[key]).isdigit() or int(cfg[key]) < 1:
            raise ConfigError(f"{key}: must be a whole number above 0")
        cfg[key] = int(cfg[key])
    by_category = {}
    for part in filter(
        None, (p.strip() for p in str(cfg["CASE_RESOLVE_DAYS_BY_CATEGORY"]).split(","))
    ):
        category, _, days = part.replace("：", ":").partition(":")
        if category.strip() not in CATEGORIES or not days.strip().isdigit() or int(days) < 1:
            raise ConfigError(
                "CASE_RESOLVE_DAYS_BY_CATEGORY: expected 类别:天数[,类别:天数] with a category of "
                + "、".join(CATEGORIES)
            )
        by_category[category.strip()] = int(days)
    cfg["CASE_RESOLVE_DAYS_BY_CATEGORY"] = by_category


def _validate_templates(cfg: dict) -> None:
    """TEMPLATES: each notice's TemplateSpec; a mapping that cannot work stops the start."""
    found = {}
    for role, about in templates.ROLES.items():
        setting = about.setting
        try:
            found[role] = templates.spec(role, cfg[setting], cfg[f"{setting}_FIELDS"])
        except templates.TemplateConfigError as exc:
            raise ConfigError(str(exc)) from None
    cfg["TEMPLATES"] = found


def unset_templates(cfg: dict) -> list[str]:
    """The settings of the notices the bot sends that have no template id."""
    return [
        spec.setting
        for role, spec in cfg["TEMPLATES"].items()
        if templates.ROLES[role].needed and not spec.template_id
    ]


def previous_keys(setting: str | tuple | None, instance: Path) -> tuple[str, ...]:
    """DATA_KEY_PREVIOUS as a tuple: the setting's keys, else the instance file's lines."""
    if isinstance(setting, tuple):
        return setting
    if setting is None:
        path = instance / PREVIOUS_KEY_FILE
        setting = path.read_text().replace("\n", ",") if path.is_file() else ""
    return tuple(k.strip() for k in setting.split(",") if k.strip())


def _read_key(key: str, path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise ConfigError(
            f"{key}: unset, and {path} does not exist yet; "
            "run `veteranbot db upgrade` (or `veteranbot run`) once to create it"
        ) from None


def _write_key_once(path: Path, fernet: bool) -> None:
    value = Fernet.generate_key().decode() if fernet else secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as fh:
        fh.write(value)
