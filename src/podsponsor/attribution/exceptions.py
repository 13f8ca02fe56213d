from __future__ import annotations

from podsponsor.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed


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
