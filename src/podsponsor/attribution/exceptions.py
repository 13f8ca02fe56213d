from __future__ import annotations

from podsponsor.errors import AppError, Conflict, NotAuthenticated, NotFound, ValidationFailed


class SignatureInvalid(NotAuthenticated):
    """A webhook whose signature is missing or wrong (or cannot be checked): nothing of it is kept."""

    type = "webhook-signature-invalid"
    title = "The webhook signature is missing or wrong"


class EndpointNotFound(NotFound):
    type = "webhook-endpoint-not-found"
    title = "No active conversion endpoint at this address"


class PayloadInvalid(ValidationFailed):
    """A correctly signed delivery whose content cannot be read as the platform documents it."""

    type = "webhook-payload-invalid"
    title = "The webhook payload cannot be read"


class InvalidConversion(ValidationFailed):
    type = "conversion-invalid"
    title = "The conversion is not valid"


class SourceInUse(Conflict):
    type = "conversion-source-in-use"
    title = "The conversion source has conversions"


class SecretNotApplicable(ValidationFailed):
    type = "conversion-source-secret"
    title = "The secret does not fit this kind of source"


class SourceNotUsable(ValidationFailed):
    """The source named for a conversion is not one this intake path may record into (missing, another kind,
    deactivated)."""

    type = "conversion-source-not-usable"
    title = "The conversion source cannot take these conversions"


class OrdersFileRejected(ValidationFailed):
    """An orders CSV with rows (or a header) that cannot be recorded: nothing of it was kept."""

    type = "orders-csv-invalid"
    title = "The orders file cannot be recorded"


class IdempotencyKeyMissing(AppError):
    """As for insertion orders (the same problem type): a create that must not happen twice needs a key."""

    status = 400
    type = "idempotency-key-missing"
    title = "This request needs an Idempotency-Key header"
