"""The veterans' domain tables."""

from bot.models.audit import AuditLog
from bot.models.care import Campaign, Contact, OccasionDate
from bot.models.cases import CaseEvent
from bot.models.followers import Consent, Follower
from bot.models.outbox import OutboxMessage
from bot.models.requests import HelpRequest
from bot.models.stations import Staff, Station
from bot.models.stories import MediaUpload, PublishState
from bot.models.veterans import FileChange, Veteran
from bot.models.voice import VoiceMessage

__all__ = [
    "AuditLog",
    "Campaign",
    "CaseEvent",
    "Consent",
    "Contact",
    "FileChange",
    "Follower",
    "HelpRequest",
    "MediaUpload",
    "OccasionDate",
    "OutboxMessage",
    "PublishState",
    "Staff",
    "Station",
    "Veteran",
    "VoiceMessage",
]
