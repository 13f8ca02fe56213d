"""Every mapped table, imported in one place so Alembic and the audit tests see the whole schema."""

from podsponsor.attribution.models import (
    AttributionCredit,
    AttributionModel,
    AttributionPath,
    AttributionRun,
    AttributionValidation,
    Conversion,
    ConversionDelivery,
    ConversionSource,
    PixelEvent,
)
from podsponsor.auth.models import ApiKey, AuditEntry, RecoveryCode, Tenant, User
from podsponsor.bookings.models import AdUnit, InsertionOrder, IoPlacement, Makegood, VanityClick
from podsponsor.catalog.models import Episode, EpisodeTranscript, Podcast
from podsponsor.dashboards.models import DownloadDay
from podsponsor.db.base import Base
from podsponsor.events.models import Event
from podsponsor.events.webhook_models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from podsponsor.flags.models import FeatureFlag
from podsponsor.idempotency.models import IdempotencyRecord
from podsponsor.matching.models import Match, MatchBrief, MatchRun
from podsponsor.measurement.count_models import CountRun, Download, DownloadTally
from podsponsor.measurement.hit_models import DownloadRequest
from podsponsor.measurement.log_models import LogImport, LogRequest
from podsponsor.measurement.models import ReferenceListEntry, ReferenceListVersion, UnknownUserAgent
from podsponsor.metrics.models import EtlImport, MetricDaily
from podsponsor.reports.models import CampaignShareLink
from podsponsor.sales.models import Campaign, DealStageChange, Sponsor

__all__ = [
    "AdUnit",
    "ApiKey",
    "AttributionCredit",
    "AttributionModel",
    "AttributionPath",
    "AttributionRun",
    "AttributionValidation",
    "AuditEntry",
    "Base",
    "Campaign",
    "CampaignShareLink",
    "Conversion",
    "ConversionDelivery",
    "ConversionSource",
    "CountRun",
    "DealStageChange",
    "Download",
    "DownloadDay",
    "DownloadRequest",
    "DownloadTally",
    "Episode",
    "EpisodeTranscript",
    "EtlImport",
    "Event",
    "FeatureFlag",
    "IdempotencyRecord",
    "InsertionOrder",
    "IoPlacement",
    "LogImport",
    "LogRequest",
    "Makegood",
    "Match",
    "MatchBrief",
    "MatchRun",
    "MetricDaily",
    "PixelEvent",
    "Podcast",
    "RecoveryCode",
    "ReferenceListEntry",
    "ReferenceListVersion",
    "Sponsor",
    "Tenant",
    "UnknownUserAgent",
    "User",
    "VanityClick",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]
