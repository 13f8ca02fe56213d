"""Stable identities: the show's `podcast:guid` and an episode's key when the feed gives no guid."""

from __future__ import annotations

import hashlib
import re
import uuid

# The Podcasting 2.0 namespace's fixed UUIDv5 namespace for podcast:guid.
PODCAST_GUID_NAMESPACE = uuid.UUID("ead4c236-bf58-58c6-a2c6-a6b28d128cb6")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def computed_podcast_guid(feed_url: str) -> str:
    """The spec's rule: UUIDv5 of the feed URL with its scheme and trailing slashes removed."""
    stripped = _SCHEME.sub("", feed_url.strip()).rstrip("/")
    return str(uuid.uuid5(PODCAST_GUID_NAMESPACE, stripped))


def declared_podcast_guid(raw: str) -> str | None:
    """The feed's own podcast:guid, normalised, when it is a UUID at all."""
    try:
        return str(uuid.UUID(raw.strip()))
    except ValueError:
        return None


def content_hash_guid(title: str, published_raw: str) -> str:
    digest = hashlib.sha256(f"{title.strip()}\n{published_raw.strip()}".encode()).hexdigest()
    return f"hash:{digest[:40]}"
