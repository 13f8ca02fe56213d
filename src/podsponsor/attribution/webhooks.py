"""Conversions in from shops: `POST /hooks/{shopify|woocommerce|stripe}/{token}`.

The URL names no workspace: the token finds the source (and its workspace) first. Then, in this order:
1. the raw body is read (at most `BODY_MAX` bytes, else 413) before anything parses it, since the signature covers
   those exact bytes;
2. an unknown token, a source of another kind, an inactive source or a workspace with attribution switched off is
   404, and nothing is kept;
3. WooCommerce's unsigned ping (sent when the webhook is saved) is answered 200 and nothing is kept;
4. the signature is checked with the source's secret; a missing or wrong one is 401 and only counted in the source's
   health (in a transaction of its own);
5. the payload is read; what cannot be read is 422 naming the field, kept only as the source's last failure, and the
   event is not marked as received, so the platform's retries get another chance once the reader is fixed;
6. the event id is claimed once (a repeat, concurrent or later, answers 200 "duplicate"), the conversion is recorded
   once per order, and the source's health counts the event, all in one transaction.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from podsponsor.attribution import service
from podsponsor.attribution.exceptions import EndpointNotFound, SignatureInvalid
from podsponsor.attribution.platforms import PARSERS, is_woocommerce_ping
from podsponsor.attribution.schemas import SourceRef
from podsponsor.attribution.signatures import verify_delivery
from podsponsor.auth.dependencies import public_route
from podsponsor.db.tenancy import set_tenant, tenant_transaction, unscoped_transaction
from podsponsor.errors import PayloadTooLarge, ValidationFailed

log = logging.getLogger(__name__)

BODY_MAX: Final = 1024 * 1024
# What `secrets.new_token` makes: 32 URL-safe characters. Anything else is not looked up.
TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{32}")
NO_STORE: Final = {"Cache-Control": "no-store"}

router = APIRouter(tags=["conversions"])


async def read_body(request: Request, limit: int = BODY_MAX) -> bytes:
    """The raw body, refused past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"a webhook body is at most {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"a webhook body is at most {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def find_source(kind: str, token: str) -> SourceRef:
    """The active source of `kind` behind `token`, in a workspace with attribution on; else EndpointNotFound."""
    if not TOKEN.fullmatch(token):
        raise EndpointNotFound(f"no {kind} endpoint at this address")
    async with unscoped_transaction() as session:
        source = await service.source_for_token(session, token)
        if source is None or source.kind != kind:
            raise EndpointNotFound(f"no {kind} endpoint at this address")
        if not source.active:
            raise EndpointNotFound(f"this {kind} endpoint is deactivated; it can be reactivated in podsponsor")
        await set_tenant(session, source.tenant_id)  # feature flag overrides are under row-level security
        if not await service.attribution_enabled(session, source.tenant_id):
            raise EndpointNotFound(f"no {kind} endpoint at this address")
    return source


async def _refuse(source: SourceRef, error: SignatureInvalid | ValidationFailed, now: datetime) -> None:
    """Keeps why a delivery was refused in the source's health; the refusal itself is raised by the caller."""
    try:
        async with tenant_transaction(source.tenant_id) as session:
            await service.note_failure(
                session, source, error.detail, now, signature=isinstance(error, SignatureInvalid)
            )
    except Exception:
        # The platform must still hear the refusal; a health counter lost is logged, not turned into a 500.
        log.exception("webhook failure not counted", extra={"source_id": str(source.id)})


async def receive(kind: str, token: str, request: Request) -> JSONResponse:
    body = await read_body(request)
    now = datetime.now(UTC)
    source = await find_source(kind, token)
    headers = request.headers
    if kind == "woocommerce" and is_woocommerce_ping(body, headers):
        return JSONResponse({"status": "ping"}, headers=NO_STORE)
    try:
        verify_delivery(source.kind, source.secret_encrypted, body, headers, now)
        event = PARSERS[kind](body, headers)
        async with tenant_transaction(source.tenant_id) as session:
            accepted = await service.accept_delivery(session, source, event, now)
    except (SignatureInvalid, ValidationFailed) as error:
        await _refuse(source, error, now)
        raise
    body_out: dict[str, str] = {"status": accepted.outcome}
    if accepted.conversion_id is not None:
        body_out["conversion_id"] = str(accepted.conversion_id)
    if accepted.reason is not None:
        body_out["reason"] = accepted.reason
    return JSONResponse(body_out, status_code=201 if accepted.outcome == "stored" else 200, headers=NO_STORE)


# Public: shops' servers call these. The token in the URL finds the source; the signature made with the source's
# secret is the credential, checked before anything is stored.
@router.post("/hooks/shopify/{token}", dependencies=[Depends(public_route)], summary="Shopify orders/create webhook")
async def shopify_webhook(token: str, request: Request) -> JSONResponse:
    return await receive("shopify", token, request)


@router.post("/hooks/woocommerce/{token}", dependencies=[Depends(public_route)], summary="WooCommerce order webhook")
async def woocommerce_webhook(token: str, request: Request) -> JSONResponse:
    return await receive("woocommerce", token, request)


@router.post("/hooks/stripe/{token}", dependencies=[Depends(public_route)], summary="Stripe checkout.session.completed")
async def stripe_webhook(token: str, request: Request) -> JSONResponse:
    return await receive("stripe", token, request)
