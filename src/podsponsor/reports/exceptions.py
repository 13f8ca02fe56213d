"""What a shared campaign link answers when it no longer opens: 410, worded for the sponsor holding it."""

from __future__ import annotations

from podsponsor.errors import AppError


class ShareLinkGone(AppError):
    status = 410


class ShareLinkExpired(ShareLinkGone):
    type = "share-link-expired"
    title = "This link has expired"


class ShareLinkRevoked(ShareLinkGone):
    type = "share-link-revoked"
    title = "This link was withdrawn"
