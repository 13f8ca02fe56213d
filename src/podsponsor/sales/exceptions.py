from __future__ import annotations

from podsponsor.errors import Conflict, ValidationFailed


class SponsorNameTaken(Conflict):
    type = "sponsor-name-taken"
    title = "A sponsor with that name exists"


class UnknownReference(ValidationFailed):
    type = "unknown-reference"
    title = "The input points at something that does not exist here"
