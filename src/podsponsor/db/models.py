"""Every mapped table, imported in one place so Alembic and the audit tests see the whole schema."""

from podsponsor.auth.models import ApiKey, AuditEntry, Tenant, User
from podsponsor.catalog.models import Episode, Podcast
from podsponsor.db.base import Base
from podsponsor.events.models import Event
from podsponsor.flags.models import FeatureFlag
from podsponsor.measurement.count_models import CountRun, Download, DownloadTally
from podsponsor.measurement.hit_models import DownloadRequest
from podsponsor.measurement.log_models import LogImport, LogRequest
from podsponsor.measurement.models import ReferenceListEntry, ReferenceListVersion, UnknownUserAgent
from podsponsor.metrics.models import EtlImport, MetricDaily
from podsponsor.sales.models import Campaign, Sponsor

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "Campaign",
    "CountRun",
    "Download",
    "DownloadRequest",
    "DownloadTally",
    "Episode",
    "EtlImport",
    "Event",
    "FeatureFlag",
    "LogImport",
    "LogRequest",
    "MetricDaily",
    "Podcast",
    "ReferenceListEntry",
    "ReferenceListVersion",
    "Sponsor",
    "Tenant",
    "UnknownUserAgent",
    "User",
]
