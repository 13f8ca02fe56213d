"""Measurement's domain errors."""

from __future__ import annotations

from podsponsor.errors import AppError, Conflict, ValidationFailed


class ListFormatError(ValidationFailed):
    """A reference list file is not in its published format; `errors` name the file and the entry or line."""

    type = "reference-list-invalid"
    title = "The reference list is not valid"


class ListSourceError(AppError):
    """A reference list could not be read from where it was asked for."""

    status = 502
    type = "reference-list-unavailable"
    title = "The reference list could not be read"


class ReferenceListsMissing(Conflict):
    """Counting needs lists that were never loaded."""

    type = "reference-lists-missing"
    title = "Reference lists are not loaded"
