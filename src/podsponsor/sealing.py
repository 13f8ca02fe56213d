"""Secrets the service must read back, encrypted at rest under the deployment's key.

Checking or making a signature needs the secret itself (a shop's webhook secret, an outbound webhook endpoint's
signing key), so it cannot be stored as a hash. It is encrypted with Fernet (AES-128-CBC + HMAC-SHA256,
authenticated) under a key derived by HKDF-SHA256 from the deployment's SECRET_KEY, with an `info` label per use, so
that no two uses share a key and none is the key that signs sessions or hashes addresses. A database dump alone does
not reveal any secret; a changed SECRET_KEY makes the stored secrets unreadable (`SecretUnreadable`), and each then
needs setting again.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from podsponsor.config import get_settings


class SecretUnreadable(Exception):
    """The stored secret was not encrypted with this deployment's key (SECRET_KEY changed) or was altered."""


@lru_cache(maxsize=16)
def _fernet(signing_key: str, label: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=label).derive(signing_key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def _current(label: bytes) -> Fernet:
    return _fernet(get_settings().signing_key(), label)


def seal(label: bytes, secret: str) -> str:
    """`secret` encrypted under the key for `label` (a fresh nonce each time), as ASCII text."""
    return _current(label).encrypt(secret.encode()).decode("ascii")


def unseal(label: bytes, stored: str) -> str:
    try:
        return _current(label).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise SecretUnreadable("the stored secret cannot be read with this deployment's SECRET_KEY") from exc
