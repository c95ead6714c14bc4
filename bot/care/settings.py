"""The care domain's settings, built once by an edge from the app's config mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from pathlib import Path

from bot.care.occasions import parse_set_dates


@dataclass(frozen=True)
class CareSettings:
    """What the greetings, their sends and the monthly mass quota read from the settings."""

    occasions: tuple[str, ...]  # GREETING_OCCASIONS, the active keys
    yi_new_year: Mapping[int, date]  # YI_NEW_YEAR, by year
    greeting_time: time  # GREETING_TIME, Asia/Shanghai
    veteran_tag: str  # VETERAN_TAG
    mass_quota: int  # MASS_QUOTA_PER_MONTH
    content_dir: Path  # CONTENT_DIR: greetings/<key>.md overrides, the column's stories
    lock_seconds: int  # LOCK_SECONDS: the greetings:due lock, renewed while held

    @classmethod
    def from_config(cls, cfg: Mapping) -> CareSettings:
        """Read the settings from a loaded config mapping (bot.config.load_config's)."""
        hh, mm = str(cfg["GREETING_TIME"]).split(":")
        return cls(
            occasions=tuple(cfg["GREETING_OCCASIONS"]),
            yi_new_year=parse_set_dates(cfg["YI_NEW_YEAR"]),
            greeting_time=time(int(hh), int(mm)),
            veteran_tag=cfg["VETERAN_TAG"],
            mass_quota=int(cfg["MASS_QUOTA_PER_MONTH"]),
            content_dir=Path(cfg["CONTENT_DIR"]),
            lock_seconds=int(cfg["LOCK_SECONDS"]),
        )
