"""/health (alive), /ready (database reachable, migrations at head), /metrics (Prometheus)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from podsponsor.auth.dependencies import public_route
from podsponsor.auth.subject import Subject
from podsponsor.observability import service
from podsponsor.observability.metrics import REGISTRY

router = APIRouter(tags=["operations"])
Public = Annotated[Subject | None, Depends(public_route)]


@router.get("/health", summary="The process is alive")
async def health(_: Public) -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    responses={503: {"description": "not ready: the report says what is missing", "content": {"application/json": {}}}},
    summary="The database answers and the schema is at the latest migration",
)
async def ready(_: Public) -> JSONResponse:
    report: dict[str, Any] = await service.readiness()
    return JSONResponse(report, status_code=200 if report["status"] == "ready" else 503)


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics (text exposition format)")
async def metrics(_: Public) -> Response:
    await service.refresh_gauges()
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
