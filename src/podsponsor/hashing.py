"""Keyed hashes of what clients send (addresses, user agents): comparable across records, never reversible without
the deployment's key. Framework-free, so services and jobs can hash without importing the web stack."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress

from podsponsor.config import get_settings


def hash_address(address: str) -> str:
    """A keyed hash, IPv6 truncated to its /64 first (the household, not the device's privacy address)."""
    # Only IPv6 (always written with a colon) is rewritten; parsing every IPv4 address cost as much as the hash.
    if ":" in address:
        with contextlib.suppress(ValueError):
            address = str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return hash_text(address)


def hash_text(value: str) -> str:
    """A keyed hash of what a client sent (its address, its user agent): comparable across records, not reversible
    without the signing key."""
    key = get_settings().signing_key().encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
