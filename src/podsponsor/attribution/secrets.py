"""A conversion source's webhook secret, encrypted at rest.

Verifying a platform's signature needs the secret itself, so it cannot be stored as a hash: it is sealed
(`podsponsor.sealing`) under its own label, so this key is never the one that signs sessions or hashes addresses. A
changed SECRET_KEY makes the stored secrets unreadable (`SecretUnreadable`), and each source then needs its secret
set again.
"""

from __future__ import annotations

import secrets
from typing import Final

from podsponsor.sealing import SecretUnreadable, seal, unseal

KEY_INFO: Final = b"podsponsor attribution: conversion source webhook secrets v1"
# 256 random bits, the same strength as the secrets Shopify and Stripe hand out.
GENERATED_BYTES: Final = 32
# 192 random bits, written as 32 URL-safe characters: an endpoint's public handle, unguessable.
TOKEN_BYTES: Final = 24


__all__ = ["SecretUnreadable", "decrypt_secret", "encrypt_secret", "new_secret", "new_token"]


def encrypt_secret(secret: str) -> str:
    return seal(KEY_INFO, secret)


def decrypt_secret(stored: str) -> str:
    return unseal(KEY_INFO, stored)


def new_secret() -> str:
    """A secret for a platform that lets the merchant choose one (WooCommerce): 43 URL-safe characters."""
    return secrets.token_urlsafe(GENERATED_BYTES)


def new_token() -> str:
    """A source's endpoint token (`/hooks/{kind}/{token}`): 32 URL-safe characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)
