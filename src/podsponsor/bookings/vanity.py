"""Vanity URLs: `GET|HEAD /v/{slug}` → 302 to the IO's landing page with UTM tags, and a click touchpoint.

The URL names no workspace, so the slug is looked up across workspaces first (`bookings_io_for_vanity`, which skips
cancelled orders); the click is then written in that workspace's transaction. A click is a touchpoint for
attribution: when, the keyed hashes of the client address and user agent, the user agent and referer (capped) and
the address's registry country. HEAD requests and bots are redirected without a click, and a click that cannot be
written is logged and lost: the listener still reaches the sponsor. An unknown, malformed or cancelled slug, or a
landing URL that is not http(s), is a 404 page that says nothing about any workspace.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.dependencies import public_route
from podsponsor.bookings import codes
from podsponsor.bookings import vanity_repository as repository
from podsponsor.bookings.models import VanityClick
from podsponsor.bookings.vanity_repository import VanityTarget
from podsponsor.clients import client_address, hash_address, hash_text
from podsponsor.db.tenancy import set_tenant, tenant_transaction, unscoped_transaction
from podsponsor.measurement import service as measurement
from podsponsor.measurement.geo import country
from podsponsor.web.render import TEMPLATES

log = logging.getLogger(__name__)

PATH: Final = "/v/{slug}"
UTM_SOURCE: Final = "podcast"
UTM_MEDIUM: Final = "audio"
# Capped as the prefix redirect caps them, so an oversized header cannot bloat the table.
USER_AGENT_MAX: Final = 1024
REFERER_MAX: Final = 2048
LANDING_URL_MAX: Final = 4096
CONTROL: Final = re.compile(r"[\x00-\x1f\x7f]")
# Left as they are when a landing URL is made ASCII: the delimiters, and escapes already made.
URL_SAFE: Final = "!$&'()*+,;=:@/?%~"
REDIRECT_HEADERS: Final = {
    "Cache-Control": "private, no-store",
    # The browsers' own default, stated because the app's pages send `same-origin`: the sponsor may learn which
    # site sent the listener, not the page.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
PAGE_HEADERS: Final = {"Cache-Control": "private, no-store"}


@dataclass(frozen=True)
class VanityLink:
    tenant_id: uuid.UUID
    io_id: uuid.UUID
    location: str


@dataclass(frozen=True)
class Visit:
    """What a click keeps of its request, before hashing."""

    address: str
    user_agent: str | None
    referer: str | None


def landing_with_utm(landing_url: str | None, slug: str, campaign: str) -> str | None:
    """The landing URL with the UTM tags it does not set itself, its own query and fragment kept, made ASCII; None
    unless it is an absolute http(s) URL with a host."""
    if not landing_url or len(landing_url) > LANDING_URL_MAX or CONTROL.search(landing_url):
        return None
    try:
        parts = urlsplit(landing_url.strip())
        port = parts.port  # a port that is not a number in range is a ValueError
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "\\" in parts.netloc:
        return None
    authority = _ascii_authority(parts, port)
    if authority is None:
        return None
    given = {name.lower() for name, _ in parse_qsl(parts.query, keep_blank_values=True)}
    tags = (("utm_source", UTM_SOURCE), ("utm_medium", UTM_MEDIUM), ("utm_campaign", campaign), ("utm_content", slug))
    added = urlencode([(name, value) for name, value in tags if name not in given], quote_via=quote)
    query = "&".join(part for part in (parts.query, added) if part)
    return urlunsplit(
        (
            parts.scheme.lower(),
            authority,
            quote(parts.path or "/", safe=URL_SAFE),
            quote(query, safe=URL_SAFE),
            quote(parts.fragment, safe=URL_SAFE),
        )
    )


def _ascii_authority(parts: SplitResult, port: int | None) -> str | None:
    """The authority with an international host name in its IDNA form."""
    if parts.netloc.isascii():
        return parts.netloc
    userinfo, at, _ = parts.netloc.rpartition("@")
    try:
        host = (parts.hostname or "").encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{quote(userinfo, safe=URL_SAFE)}{at}{host}" + (f":{port}" if port is not None else "")


async def find_target(session: AsyncSession, slug: str) -> VanityTarget | None:
    """The live IO a slug leads to, in any workspace; None for a malformed slug. Slugs match ignoring case."""
    if not codes.is_vanity_slug(slug.lower()):
        return None
    return await repository.io_for_vanity(session, slug.lower())


async def link_for(session: AsyncSession, target: VanityTarget, slug: str) -> VanityLink | None:
    """Where the slug sends a listener (its tenant set on `session`): None when the landing URL is not one to send
    anyone to. The campaign tag is the IO's number, which the sponsor also finds on the signed IO."""
    number = await repository.io_number(session, target.tenant_id, target.io_id)
    location = landing_with_utm(target.landing_url, slug.lower(), number or slug.lower())
    return VanityLink(target.tenant_id, target.io_id, location) if location else None


async def record_click(session: AsyncSession, link: VanityLink, visit: Visit, at: datetime) -> bool:
    """Store the visit as a click on the link's IO, unless a bot made it (the keyword rules apply even when no
    reference list is loaded; no user agent at all counts as a bot). Whether a click was stored."""
    user_agent = visit.user_agent[:USER_AGENT_MAX] if visit.user_agent is not None else None
    referer = visit.referer[:REFERER_MAX] if visit.referer is not None else None
    lists = await measurement.classifier(session)
    if lists.classify(user_agent, referer).is_bot:
        return False
    click = VanityClick(
        tenant_id=link.tenant_id,
        io_id=link.io_id,
        ts=at,
        ip_hash=hash_address(visit.address),
        # The hash of the stored (capped) user agent, so that it can be matched against other touchpoints' hashes.
        ua_hash=hash_text(user_agent or ""),
        user_agent=user_agent,
        referer=referer,
        country=country(visit.address),
    )
    await repository.add_click(session, click)
    return True


router = APIRouter(tags=["pages"], include_in_schema=False)


# Public: podcast listeners type these from an ad read. Only a live IO's slug answers, only with its landing page.
@router.api_route(PATH, methods=["GET", "HEAD"], dependencies=[Depends(public_route)])
async def vanity_redirect(request: Request, slug: str) -> Response:
    try:
        link = await _resolve(slug)
    except (SQLAlchemyError, OSError):
        log.exception("vanity link could not be looked up")
        return _page(request, 503, "Please try again", slug=None, unavailable=True)
    if link is None:
        return _page(request, 404, "This link is not active", slug=slug if codes.is_vanity_slug(slug.lower()) else None)
    if request.method == "GET":
        await _record(link, _visit(request))
    return RedirectResponse(link.location, status_code=302, headers=REDIRECT_HEADERS)


async def _resolve(slug: str) -> VanityLink | None:
    async with unscoped_transaction() as session:
        target = await find_target(session, slug)
        if target is None:
            return None
        await set_tenant(session, target.tenant_id)  # the IO's number is under row-level security
        return await link_for(session, target, slug)


async def _record(link: VanityLink, visit: Visit) -> None:
    try:
        async with tenant_transaction(link.tenant_id) as session:
            await record_click(session, link, visit, datetime.now(UTC))
    except Exception:
        # Whatever went wrong, a click lost is better than a sponsor's link that does not open.
        log.exception("vanity click not recorded", extra={"tenant_id": str(link.tenant_id), "io_id": str(link.io_id)})


def _visit(request: Request) -> Visit:
    return Visit(client_address(request), request.headers.get("user-agent"), request.headers.get("referer"))


def _page(request: Request, status: int, title: str, *, slug: str | None, unavailable: bool = False) -> Response:
    headers = {**PAGE_HEADERS, **({"Retry-After": "60"} if unavailable else {})}
    context = {"title": title, "slug": slug.lower() if slug else None, "unavailable": unavailable}
    return TEMPLATES.TemplateResponse(
        request, "bookings/vanity_not_found.html", context, status_code=status, headers=headers
    )
