"""The veterans' domain tables."""

from bot.models.audit import AuditLog
from bot.models.followers import Consent, Follower
from bot.models.requests import HelpRequest
from bot.models.stations import Staff, Station
from bot.models.stories import MediaUpload, PublishState
from bot.models.veterans import Veteran

__all__ = [
    "AuditLog",
    "Consent",
    "Follower",
    "HelpRequest",
    "MediaUpload",
    "PublishState",
    "Staff",
    "Station",
    "Veteran",
]
