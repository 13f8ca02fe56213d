"""Country of a client address, offline: the `iptocc` package (MIT OR Apache-2.0) embeds the five Regional Internet
Registries' delegation files in its wheel, so a lookup makes no network call and reads no file at run time.

What it answers is the country a registry assigned the block to, not where the listener sits: it agrees with
commercial geolocation for about 95 % of IPv4 addresses (per the package's notes) and is the honest best an offline,
openly licensed source gives. Private, loopback and unassigned addresses have no country. The data is as fresh as the
installed package; `DATABASE` names it, so a count can say which data it used.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from importlib.metadata import version

from iptocc import country_code

DATABASE = f"iptocc {version('iptocc')} (RIR delegation data)"
CACHE_SIZE = 1 << 16


@lru_cache(maxsize=CACHE_SIZE)
def country(ip: str) -> str | None:
    """ISO 3166-1 alpha-2 code of the registry country of an IPv4 or IPv6 address, or None."""
    try:
        parsed = ipaddress.ip_address(ip.strip())
    except ValueError:
        return None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if not parsed.is_global:
        return None
    code = country_code(str(parsed))
    return code.upper() if code and len(code) == 2 and code.isalpha() else None
