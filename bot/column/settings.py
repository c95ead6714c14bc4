"""The column's settings, built once by an edge from the app's config mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.care.settings import CareSettings
from bot.wechat.links import Links
from bot.wechat.templates import TemplateSpec


@dataclass(frozen=True)
class ColumnSettings:
    """What publishing the column and telling its editors read from the settings."""

    content_dir: Path  # CONTENT_DIR: articles/<slug>/
    site_dir: Path  # SITE_DIR: the built site
    site_url: str  # SITE_URL, without a trailing slash
    veteran_tag: str  # VETERAN_TAG: who a `mass` story goes to
    editor_openids: tuple[str, ...]  # EDITOR_OPENIDS
    editor_template: TemplateSpec  # WECHAT_TEMPLATE_EDITOR_NOTICE and its _FIELDS
    links: Links  # PUBLIC_URL: the notice's link to the whole reason
    care: CareSettings  # the monthly mass quota is shared with the greetings
    lock_seconds: int  # LOCK_SECONDS: publish:due and publish:story:<slug>, renewed

    @classmethod
    def from_config(cls, cfg: Mapping) -> ColumnSettings:
        """Read the settings from a loaded config mapping (bot.config.load_config's)."""
        return cls(
            content_dir=Path(cfg["CONTENT_DIR"]),
            site_dir=Path(cfg["SITE_DIR"]),
            site_url=cfg["SITE_URL"],
            veteran_tag=cfg["VETERAN_TAG"],
            editor_openids=tuple(cfg["EDITOR_OPENIDS"]),
            editor_template=cfg["TEMPLATES"]["editor_notice"],
            links=Links.from_config(cfg),
            care=CareSettings.from_config(cfg),
            lock_seconds=int(cfg["LOCK_SECONDS"]),
        )
