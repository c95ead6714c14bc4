"""The case workflow's settings, built once by an edge from the app's config mapping."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from bot.wechat.templates import TemplateSpec

PETITION = "信访"
# A template left unset: its notices are not sent, and that is logged.
_NO_STAFF_TEMPLATE = TemplateSpec("help_request", "", ())
_NO_PROGRESS_TEMPLATE = TemplateSpec("case_progress", "", ())


@dataclass(frozen=True)
class CaseSettings:
    """Deadlines, the notices' templates and the address of the case pages."""

    accept_hours: int = 24  # CASE_ACCEPT_HOURS
    resolve_days: int = 5  # CASE_RESOLVE_DAYS
    resolve_days_by_category: Mapping[str, int] = field(default_factory=dict)
    petition_days: int = 60  # CASE_PETITION_RESOLVE_DAYS
    # Staff notices (WECHAT_TEMPLATE_HELP_REQUEST) and the veteran's (…_CASE_PROGRESS).
    staff_template: TemplateSpec = _NO_STAFF_TEMPLATE
    progress_template: TemplateSpec = _NO_PROGRESS_TEMPLATE
    public_url: str = "http://127.0.0.1:5000"  # PUBLIC_URL
    secret_key: str = ""  # SECRET_KEY: signs the link to a call-back's recordings

    @classmethod
    def from_config(cls, cfg: Mapping) -> CaseSettings:
        """Read the settings from a loaded config mapping (bot.config.load_config's)."""
        return cls(
            accept_hours=int(cfg["CASE_ACCEPT_HOURS"]),
            resolve_days=int(cfg["CASE_RESOLVE_DAYS"]),
            resolve_days_by_category=dict(cfg["CASE_RESOLVE_DAYS_BY_CATEGORY"]),
            petition_days=int(cfg["CASE_PETITION_RESOLVE_DAYS"]),
            staff_template=cfg["TEMPLATES"]["help_request"],
            progress_template=cfg["TEMPLATES"]["case_progress"],
            public_url=cfg["PUBLIC_URL"],
            secret_key=cfg["SECRET_KEY"],
        )

    @property
    def accept_within(self) -> timedelta:
        """How long a station has to 签收 a new case."""
        return timedelta(hours=self.accept_hours)

    def resolve_within(self, category: str) -> timedelta:
        """How long a case of this category has to 办结; 信访 follows its own setting."""
        if category == PETITION:
            return timedelta(days=self.petition_days)
        return timedelta(days=self.resolve_days_by_category.get(category, self.resolve_days))

    def case_url(self, number: str) -> str:
        """The case page in the console, which a notice's link opens."""
        return f"{self.public_url}/console/requests/{number}"
