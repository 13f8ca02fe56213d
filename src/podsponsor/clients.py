"""Who is on the other end: the client address behind trusted proxies, and its keyed hash.

`X-Forwarded-For` is believed only when the direct peer is a configured trusted proxy (TRUSTED_PROXIES, CIDRs);
then the right-most address that is not itself a trusted proxy is the client.
"""

from __future__ import annotations

import ipaddress
import os
from functools import lru_cache

from starlette.requests import Request

from podsponsor.hashing import hash_address, hash_text

__all__ = ["client_address", "forwarded_client", "hash_address", "hash_text", "trusted_proxies"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=1)
def trusted_proxies() -> tuple[Network, ...]:
    raw = os.environ.get("TRUSTED_PROXIES", "")
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())


@lru_cache(maxsize=4096)
def _trusted(address: str, networks: tuple[Network, ...]) -> bool:
    # Cached: the direct peer is one of a few proxies, and the prefix redirect asks for every request.
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request) -> str:
    return forwarded_client(request.client.host if request.client else "", request.headers.get("x-forwarded-for"))


def forwarded_client(peer: str, forwarded_for: str | None) -> str:
    """The client behind `peer`, given the request's `X-Forwarded-For` value (its first such header, or None)."""
    networks = trusted_proxies()
    if not networks or not _trusted(peer, networks):
        return peer
    forwarded = [part.strip() for part in (forwarded_for or "").split(",") if part.strip()]
    for address in reversed(forwarded):
        if not _trusted(address, networks):
            return address
    return peer
