from __future__ import annotations

from podsponsor.errors import AppError, Conflict, PayloadTooLarge, ValidationFailed


class FeedAlreadyAdded(Conflict):
    type = "feed-already-added"
    title = "That feed is already a show here"


class DuplicateGuid(Conflict):
    type = "duplicate-guid"
    title = "An episode with that guid exists in this show"


class TranscriptTooLarge(PayloadTooLarge):
    type = "transcript-too-large"
    title = "The transcript is too large"


class UnsupportedTranscriptType(AppError):
    status = 415
    type = "unsupported-transcript-type"
    title = "Not a transcript format podsponsor reads"


class TranscriptNotText(ValidationFailed):
    type = "transcript-not-text"
    title = "The transcript is not UTF-8 text"


class TranscriptEmpty(ValidationFailed):
    type = "transcript-empty"
    title = "The transcript has no text"
