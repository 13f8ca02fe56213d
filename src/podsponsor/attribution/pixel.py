"""The conversion pixel on an advertiser's site: `GET /px` (a 1x1 image), `POST /px` (`navigator.sendBeacon`), and the
script `/px.js` the copy-paste snippet loads.

Fields, in the query string (GET) or the body (POST: JSON, or `a=b&c=d` text, whatever the content type says):
`s` the pixel source's token, `e` the event (view, lead, purchase), `v` the amount as a decimal string, `c` the
currency, `o` the order id, `u` the page URL (GET: else the Referer), `l` the visit's landing page, `r` the referrer.

The pixel runs on someone else's page, so it never fails there: whatever happens (an unknown or malformed token, a
source of another kind or deactivated, attribution switched off, a bot, a bad value, even the database away) the
answer is the same image or the same 204, and only what can be kept is kept:
- a view, lead or purchase from a browser is a row of `pixel_events` (the address and user agent as keyed hashes,
  the device family), counted in the source's health;
- a lead or purchase is also a conversion, recorded once per order id like every other intake
  (`service.record_conversion`);
- a lead or purchase whose amount, currency or order id is not usable is kept as an event with that field empty and
  no conversion, and shows as the source's last failure;
- bots (the measurement keyword rules and reference lists; no user agent at all counts as one) leave nothing.

Responses say `Access-Control-Allow-Origin: *` and set no cookie: a beacon carries no credential of ours, and the
token in it is public on the advertiser's page by design. Anyone can therefore send pixel events; pixel conversions
are the shopper's browser's word, where a shop's signed webhook is the shop's.
"""

from __future__ import annotations

import base64
import html
import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.attribution import intake_repository, repository, service
from podsponsor.attribution.exceptions import InvalidConversion
from podsponsor.attribution.models import PIXEL_EVENTS, PixelEvent
from podsponsor.attribution.normalise import (
    LANDING_URL_MAX,
    ORDER_ID_MAX,
    REFERRER_MAX,
    USER_AGENT_MAX,
    BadValue,
    cents,
    currency_code,
)
from podsponsor.attribution.schemas import ConversionData, SourceRef
from podsponsor.attribution.ua import ua_family
from podsponsor.attribution.webhooks import read_body
from podsponsor.auth.dependencies import public_route
from podsponsor.clients import client_address, hash_address, hash_text
from podsponsor.db.tenancy import set_tenant, unscoped_transaction
from podsponsor.errors import PayloadTooLarge
from podsponsor.measurement import service as measurement

log = logging.getLogger(__name__)

# A transparent GIF of one pixel (42 bytes), the one tracking pixels have long served.
GIF: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{32}")
CONVERTING: Final = ("lead", "purchase")
BEACON_MAX: Final = 16 * 1024
# Past these a field is refused (its meaning would change if cut) …
VALUE_MAX: Final = 32
CURRENCY_MAX: Final = 16
# … and past these it is cut, as the other touchpoints cut them.
CUT: Final = {"u": LANDING_URL_MAX, "l": LANDING_URL_MAX, "r": REFERRER_MAX}
SCRIPT_AGE: Final = 24 * 3600
CORS: Final = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
PIXEL_HEADERS: Final = {**CORS, "Cache-Control": "no-store, max-age=0"}
PREFLIGHT_HEADERS: Final = {
    **PIXEL_HEADERS,
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}
SCRIPT_HEADERS: Final = {**CORS, "Cache-Control": f"public, max-age={SCRIPT_AGE}"}
# Runs on the advertiser's pages, in any browser they serve (plain ES5, nothing global but `podsponsor`): one file
# for every source, since it reads its token from its own URL.
SCRIPT_FILE: Final = Path(__file__).resolve().parent.parent / "static" / "px.js"


Outcome = Literal["stored", "bot", "ignored"]


@dataclass(frozen=True)
class Hit:
    """One pixel request's fields, sized: `None` where a field was not sent."""

    token: str
    event: str
    value: str | None = None
    currency: str | None = None
    order_id: str | None = None
    page_url: str | None = None
    landing_url: str | None = None
    referrer: str | None = None


@dataclass(frozen=True)
class Visit:
    """Who sent it, before hashing."""

    address: str
    user_agent: str | None


def hit_of(fields: Mapping[str, str], page: str | None = None) -> Hit | None:
    """The hit these fields describe, or None when they name no pixel (no well-formed token) or no event of one."""
    token, event = fields.get("s", ""), fields.get("e", "")
    if not TOKEN.fullmatch(token) or event not in PIXEL_EVENTS:
        return None

    def text(name: str) -> str | None:
        # PostgreSQL text cannot hold NUL: a field carrying one is read without it.
        value = fields.get(name, "").replace("\x00", "").strip()
        return value[: CUT[name]] if value and name in CUT else value or None

    return Hit(
        token=token,
        event=event,
        value=text("v"),
        currency=text("c"),
        order_id=text("o"),
        page_url=text("u") or (page[:LANDING_URL_MAX] if page else None),
        landing_url=text("l"),
        referrer=text("r"),
    )


def beacon_fields(body: bytes) -> dict[str, str]:
    """A beacon's fields: a JSON object, or form-encoded text. Anything else has none."""
    try:
        text = body.decode("utf-8").strip()
    except UnicodeDecodeError:
        return {}
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            return {}
        if not isinstance(data, dict):
            return {}
        # A JSON number's shortest text is what the page wrote (49.99 → "49.99"); booleans are no field's value.
        return {
            str(name): str(value)
            for name, value in data.items()
            if isinstance(value, str | int | float) and not isinstance(value, bool)
        }
    return dict(reversed(parse_qsl(text)))


def snippet(base_url: str, token: str) -> str:
    """The HTML an advertiser pastes into every page of their site (before `</body>`)."""
    base = html.escape(base_url.rstrip("/"), quote=True)
    queue = (
        "window.podsponsor=window.podsponsor||"
        "function(){(window.podsponsor.q=window.podsponsor.q||[]).push(arguments)};"
    )
    return (
        "<!-- podsponsor conversion pixel -->\n"
        f"<script>{queue}</script>\n"
        f'<script async src="{base}/px.js?s={token}"></script>\n'
        f'<noscript><img src="{base}/px?s={token}&amp;e=view" width="1" height="1" alt="" '
        'style="position:absolute;left:-9999px"></noscript>'
    )


def purchase_call(order_example: str = "1001") -> str:
    """What the order confirmation page adds, below the snippet."""
    return f"<script>podsponsor('purchase', {{value: '49.99', currency: 'USD', order_id: '{order_example}'}});</script>"


async def pixel_source(session: AsyncSession, token: str) -> SourceRef | None:
    """The active pixel source behind `token`, in any workspace; None for anything else."""
    source = await service.source_for_token(session, token)
    if source is None or source.kind != "pixel" or not source.active:
        return None
    return source


async def record_hit(session: AsyncSession, source: SourceRef, hit: Hit, visit: Visit, now: datetime) -> Outcome:
    """Keeps the hit as a pixel event (and a lead or purchase as a conversion), in the source's workspace (set on
    `session`)."""
    if not await service.attribution_enabled(session, source.tenant_id):
        return "ignored"
    user_agent = visit.user_agent[:USER_AGENT_MAX] if visit.user_agent else None
    if user_agent is None or (await measurement.classifier(session)).classify(user_agent).is_bot:
        return "bot"
    problems: list[str] = []
    value_cents = _checked("v", hit.value, VALUE_MAX, cents, problems)
    currency = _checked("c", hit.currency, CURRENCY_MAX, currency_code, problems)
    order_id = _checked("o", hit.order_id, ORDER_ID_MAX, str, problems)
    conversion_id = None
    if hit.event in CONVERTING and not problems:
        conversion_id = await _convert(session, source, hit, visit, now, problems)
    event = PixelEvent(
        tenant_id=source.tenant_id,
        source_id=source.id,
        event=hit.event,
        ts=now,
        value_cents=value_cents,
        currency=currency,
        order_id=order_id,
        page_url=hit.page_url,
        referrer=hit.referrer,
        ip_hash=hash_address(visit.address),
        # The hash of the stored (capped) user agent, as vanity clicks and conversions hash it.
        ua_hash=hash_text(user_agent),
        ua_family=ua_family(user_agent),
        conversion_id=conversion_id,
    )
    await intake_repository.add_pixel_event(session, event)
    await repository.count_event(session, source.tenant_id, source.id, now)
    if problems and hit.event in CONVERTING:
        reason = f"pixel {hit.event} kept without a conversion: {'; '.join(problems)}"
        await repository.note_failure(session, source.tenant_id, source.id, now, reason[:500], signature=False)
    return "stored"


def _checked(name: str, raw: str | None, longest: int, read: Callable[[str], Any], problems: list[str]) -> Any:
    if raw is None:
        return None
    try:
        if len(raw) > longest:
            raise BadValue(f"longer than {longest} characters")
        return read(raw)
    except BadValue as exc:
        problems.append(f"{name}={raw[:40]!r}: {exc}")
        return None


async def _convert(
    session: AsyncSession, source: SourceRef, hit: Hit, visit: Visit, now: datetime, problems: list[str]
) -> uuid.UUID | None:
    data = ConversionData(
        order_id=hit.order_id,
        occurred_at=now,
        value=hit.value,
        currency=hit.currency,
        landing_url=hit.landing_url or hit.page_url,
        referrer=hit.referrer,
        ip=visit.address,
        user_agent=visit.user_agent,
        kind=hit.event,
        fields={"value": "v", "currency": "c", "order_id": "o"},
    )
    try:
        conversion, _ = await service.record_conversion(session, source, data, now=now)
    except InvalidConversion as invalid:
        problems.extend(f"{error['field']}: {error['reason']}" for error in invalid.errors or [])
        return None
    return conversion.id


router = APIRouter(tags=["conversions"])


async def _take(hit: Hit | None, request: Request) -> None:
    if hit is None:
        return
    visit = Visit(client_address(request), request.headers.get("user-agent"))
    try:
        async with unscoped_transaction() as session:
            source = await pixel_source(session, hit.token)
            if source is None:
                return
            await set_tenant(session, source.tenant_id)
            await record_hit(session, source, hit, visit, datetime.now(UTC))
    except Exception:
        # Whatever went wrong, an event lost is better than an advertiser's page that errors.
        log.exception("pixel event not recorded", extra={"event": hit.event})


# Public: advertisers' pages call these from shoppers' browsers. The token only says which pixel; nothing of any
# workspace is ever answered.
@router.get(
    "/px",
    dependencies=[Depends(public_route)],
    response_class=Response,
    responses={200: {"content": {"image/gif": {}}, "description": "always a 1x1 transparent GIF"}},
    summary="Conversion pixel (image)",
)
async def pixel_image(request: Request) -> Response:
    await _take(hit_of(request.query_params, request.headers.get("referer")), request)
    return Response(GIF, media_type="image/gif", headers=PIXEL_HEADERS)


@router.post(
    "/px",
    dependencies=[Depends(public_route)],
    status_code=204,
    response_class=Response,
    summary="Conversion pixel (sendBeacon; JSON or form-encoded text)",
)
async def pixel_beacon(request: Request) -> Response:
    try:
        body = await read_body(request, BEACON_MAX)
    except PayloadTooLarge:
        body = b""
    fields = {**request.query_params, **beacon_fields(body)}
    await _take(hit_of(fields), request)
    return Response(status_code=204, headers=PIXEL_HEADERS)


@router.options("/px", dependencies=[Depends(public_route)], include_in_schema=False)
async def pixel_preflight() -> Response:
    return Response(status_code=204, headers=PREFLIGHT_HEADERS)


@router.get(
    "/px.js",
    dependencies=[Depends(public_route)],
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}}},
    summary="The pixel script the snippet loads (the same for every source; cacheable)",
)
async def pixel_script() -> Response:
    return Response(script(), media_type="text/javascript; charset=utf-8", headers=SCRIPT_HEADERS)


@cache
def script() -> bytes:
    return SCRIPT_FILE.read_bytes()
