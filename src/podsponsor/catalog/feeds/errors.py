"""The one error of feed parsing: the document cannot be read as a feed at all."""

from __future__ import annotations

from podsponsor.errors import AppError


class FeedParseError(AppError):
    """Raised with a message a creator can act on ("the feed is empty", "… is an HTML page, not a feed")."""

    status = 422
    type = "feed-unreadable"
    title = "The feed cannot be read"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
