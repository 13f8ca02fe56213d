"""A conversion source's webhook secret, encrypted at rest.

Verifying a platform's signature needs the secret itself, so it cannot be stored as a hash. It is encrypted with
Fernet (AES-128-CBC + HMAC-SHA256, authenticated) under a key derived by HKDF-SHA256 from the deployment's SECRET_KEY,
with its own `info` label so that this key is never the one that signs sessions or hashes addresses. A database dump
alone does not reveal any secret; a changed SECRET_KEY makes the stored secrets unreadable (`SecretUnreadable`), and
each source then needs its secret set again.
"""

from __future__ import annotations

import base64
import secrets
from functools import lru_cache
from typing import Final

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from podsponsor.config import get_settings

KEY_INFO: Final = b"podsponsor attribution: conversion source webhook secrets v1"
# 256 random bits, the same strength as the secrets Shopify and Stripe hand out.
GENERATED_BYTES: Final = 32
# 192 random bits, written as 32 URL-safe characters: an endpoint's public handle, unguessable.
TOKEN_BYTES: Final = 24


class SecretUnreadable(Exception):
    """The stored secret was not encrypted with this deployment's key (SECRET_KEY changed) or was altered."""


@lru_cache(maxsize=2)
def _fernet(signing_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=KEY_INFO).derive(signing_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _current() -> Fernet:
    return _fernet(get_settings().signing_key())


def encrypt_secret(secret: str) -> str:
    return _current().encrypt(secret.encode()).decode("ascii")


def decrypt_secret(stored: str) -> str:
    try:
        return _current().decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable("the stored secret cannot be read with this deployment's SECRET_KEY") from exc


def new_secret() -> str:
    """A secret for a platform that lets the merchant choose one (WooCommerce): 43 URL-safe characters."""
    return secrets.token_urlsafe(GENERATED_BYTES)


def new_token() -> str:
    """A source's endpoint token (`/hooks/{kind}/{token}`): 32 URL-safe characters."""
    return secrets.token_urlsafe(TOKEN_BYTES)
