"""Every event type written to the event log, by area: what a webhook endpoint may subscribe to.

A test reads the source for the types that are recorded and fails when one is missing here, so a new event cannot
be left out of what endpoints can ask for. `webhook.test` is not among them: it goes to the one endpoint it tests,
whatever that endpoint subscribed to.
"""

from __future__ import annotations

from typing import Final

ALL_TYPES: Final = "*"

EVENT_TYPES_BY_AREA: Final[dict[str, tuple[str, ...]]] = {
    "shows": (
        "podcast.created",
        "podcast.updated",
        "podcast.deleted",
        "podcast.ingested",
        "podcast.ingest_failed",
        "episode.created",
        "episode.updated",
        "episode.deleted",
        "episode.transcript_stored",
        "episode.transcript_deleted",
    ),
    "sales": (
        "sponsor.created",
        "sponsor.updated",
        "sponsor.deleted",
        "campaign.created",
        "campaign.updated",
        "campaign.deleted",
        "deal.stage_changed",
        "sales.settings_changed",
    ),
    "bookings": (
        "ad_unit.created",
        "ad_unit.updated",
        "ad_unit.deleted",
        "io.scheduled",
        "io.updated",
        "io.activated",
        "io.delivered",
        "io.makegood",
        "io.cancelled",
        "makegood.settled",
        "bookings.settings_changed",
    ),
    "attribution": (
        "conversion_source.created",
        "conversion_source.updated",
        "conversion_source.secret_rotated",
        "conversion_source.deleted",
        "conversions.uploaded",
        "attribution.recalculated",
    ),
    "measurement": ("measurement.logs_imported", "measurement.settings_changed", "measurement.user_agent_labelled"),
    "metrics": ("etl.import_completed", "etl.error"),
    "reports": ("report.share_link_created", "report.share_link_revoked"),
    "matchmaking": ("match.recalculated", "match.brief_changed", "match.settings_changed"),
    "workspace": ("feature_flag.changed",),
    "webhooks": (
        "webhook.endpoint_created",
        "webhook.endpoint_updated",
        "webhook.endpoint_deleted",
        "webhook.secret_rotated",
        "webhook.endpoint_disabled",
        "webhook.endpoint_enabled",
    ),
}

EVENT_TYPES: Final = frozenset(t for types in EVENT_TYPES_BY_AREA.values() for t in types)
