from __future__ import annotations

from podsponsor.errors import Conflict


class FeedAlreadyAdded(Conflict):
    type = "feed-already-added"
    title = "That feed is already a show here"


class DuplicateGuid(Conflict):
    type = "duplicate-guid"
    title = "An episode with that guid exists in this show"
