"""Outbound webhook errors, each with its HTTP status."""

from __future__ import annotations

from podsponsor.errors import Conflict, ValidationFailed


class WebhookAddressRefused(ValidationFailed):
    type = "webhook-address-refused"
    title = "That address cannot receive webhooks"


class EndpointLimitReached(Conflict):
    type = "webhook-endpoint-limit"
    title = "The workspace has as many webhook endpoints as it may"


class EndpointDisabled(Conflict):
    type = "webhook-endpoint-disabled"
    title = "The endpoint is disabled"
