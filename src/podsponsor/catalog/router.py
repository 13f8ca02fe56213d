from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from podsponsor.auth.dependencies import require
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.catalog import feed_refresh, service, transcripts
from podsponsor.catalog.ingest import IngestReport
from podsponsor.catalog.schemas import (
    EpisodeIn,
    EpisodeOut,
    EpisodePatch,
    FeedImportIn,
    IngestOut,
    PodcastIn,
    PodcastOut,
    PodcastPatch,
    TranscriptOut,
)
from podsponsor.catalog.transcripts import TranscriptFormat
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.listing import DEFAULT_LIMIT, Page, window

router = APIRouter(prefix="/api/v1", tags=["catalog"])
Reader = Annotated[Subject, Depends(require(Permission.CATALOG_READ))]
Writer = Annotated[Subject, Depends(require(Permission.CATALOG_WRITE))]


@router.post("/podcasts", status_code=status.HTTP_201_CREATED, response_model=PodcastOut, summary="Add a show")
async def create_podcast(body: PodcastIn, subject: Writer) -> PodcastOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return PodcastOut.model_validate(await service.create_podcast(session, subject, body))


@router.post(
    "/podcasts/import",
    response_model=IngestOut,
    responses={201: {"model": IngestOut, "description": "the show was added"}},
    summary="Add or update a show from its RSS feed",
)
async def import_podcast(body: FeedImportIn, response: Response, subject: Writer) -> IngestOut:
    report = await feed_refresh.import_show(subject, str(body.feed_url))
    response.status_code = status.HTTP_201_CREATED if report.created else status.HTTP_200_OK
    return _ingest_out(report)


@router.post("/podcasts/{podcast_id}/refresh", response_model=IngestOut, summary="Fetch a show's feed now")
async def refresh_podcast(
    podcast_id: uuid.UUID,
    subject: Writer,
    force: Annotated[bool, Query(description="fetch in full even if the server says nothing changed")] = False,
) -> IngestOut:
    return _ingest_out(await feed_refresh.refresh_show(subject, podcast_id, conditional=not force))


def _ingest_out(report: IngestReport) -> IngestOut:
    return IngestOut.model_validate(report, from_attributes=True)


@router.get("/podcasts", response_model=Page[PodcastOut], summary="List shows")
async def list_podcasts(
    subject: Reader,
    q: Annotated[str | None, Query(max_length=200, description="text in the title or author")] = None,
    category: Annotated[str | None, Query(max_length=200)] = None,
    explicit: bool | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.PODCAST_SORTS}, '-' for descending")] = "title",
) -> Page[PodcastOut]:
    page = window(limit, offset, sort, service.PODCAST_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_podcasts(session, subject, q, category, explicit, page)
        return Page.of([PodcastOut.model_validate(r) for r in rows], total, page)


@router.get("/podcasts/{podcast_id}", response_model=PodcastOut, summary="One show")
async def get_podcast(podcast_id: uuid.UUID, subject: Reader) -> PodcastOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return PodcastOut.model_validate(await service.get_podcast(session, subject, podcast_id))


@router.patch("/podcasts/{podcast_id}", response_model=PodcastOut, summary="Change a show")
async def update_podcast(podcast_id: uuid.UUID, body: PodcastPatch, subject: Writer) -> PodcastOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return PodcastOut.model_validate(await service.update_podcast(session, subject, podcast_id, body))


@router.delete("/podcasts/{podcast_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a show (soft)")
async def delete_podcast(podcast_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_podcast(session, subject, podcast_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/episodes", status_code=status.HTTP_201_CREATED, response_model=EpisodeOut, summary="Add an episode")
async def create_episode(body: EpisodeIn, subject: Writer) -> EpisodeOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return EpisodeOut.model_validate(await service.create_episode(session, subject, body))


@router.get("/episodes", response_model=Page[EpisodeOut], summary="List episodes")
async def list_episodes(
    subject: Reader,
    podcast_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200, description="text in the title")] = None,
    published_from: datetime | None = None,
    published_to: datetime | None = None,
    limit: int = DEFAULT_LIMIT,
    offset: int = 0,
    sort: Annotated[str, Query(description=f"one of {service.EPISODE_SORTS}, '-' for descending")] = "-publish_date",
) -> Page[EpisodeOut]:
    page = window(limit, offset, sort, service.EPISODE_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        rows, total = await service.list_episodes(session, subject, podcast_id, q, published_from, published_to, page)
        return Page.of([EpisodeOut.model_validate(r) for r in rows], total, page)


@router.get("/episodes/{episode_id}", response_model=EpisodeOut, summary="One episode")
async def get_episode(episode_id: uuid.UUID, subject: Reader) -> EpisodeOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return EpisodeOut.model_validate(await service.get_episode(session, subject, episode_id))


@router.patch("/episodes/{episode_id}", response_model=EpisodeOut, summary="Change an episode")
async def update_episode(episode_id: uuid.UUID, body: EpisodePatch, subject: Writer) -> EpisodeOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return EpisodeOut.model_validate(await service.update_episode(session, subject, episode_id, body))


@router.delete("/episodes/{episode_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove an episode (soft)")
async def delete_episode(episode_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_episode(session, subject, episode_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


TRANSCRIPT_BODY = {
    "required": True,
    "description": f"the transcript file, at most {transcripts.MAX_TRANSCRIPT_BYTES // (1024 * 1024)} MB of UTF-8",
    "content": {media: {"schema": {"type": "string"}} for media in ("text/vtt", "application/x-subrip", "text/plain")},
}


@router.put(
    "/episodes/{episode_id}/transcript",
    response_model=TranscriptOut,
    responses={201: {"model": TranscriptOut, "description": "the episode had no transcript before"}},
    openapi_extra={"requestBody": TRANSCRIPT_BODY},
    summary="Store an episode's transcript (WebVTT, SRT or plain text)",
)
async def put_transcript(
    episode_id: uuid.UUID,
    request: Request,
    response: Response,
    subject: Writer,
    format: Annotated[
        TranscriptFormat | None,
        Query(description="vtt, srt or text; unset: from the Content-Type, and for text/plain from the content"),
    ] = None,
) -> TranscriptOut:
    declared = transcripts.upload_format(format, request.headers.get("content-type"))
    raw = await transcripts.read_capped(request.stream(), request.headers.get("content-length"))
    parsed = await transcripts.parse_off_loop(raw, declared)
    async with tenant_transaction(subject.tenant_id) as session:
        transcript, created = await service.store_transcript(session, subject, episode_id, parsed)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return TranscriptOut.model_validate(transcript)


@router.get("/episodes/{episode_id}/transcript", response_model=TranscriptOut, summary="An episode's transcript")
async def get_transcript(episode_id: uuid.UUID, subject: Reader) -> TranscriptOut:
    async with tenant_transaction(subject.tenant_id) as session:
        return TranscriptOut.model_validate(await service.get_transcript(session, subject, episode_id))


@router.delete(
    "/episodes/{episode_id}/transcript", status_code=status.HTTP_204_NO_CONTENT, summary="Remove a transcript"
)
async def delete_transcript(episode_id: uuid.UUID, subject: Writer) -> Response:
    async with tenant_transaction(subject.tenant_id) as session:
        await service.delete_transcript(session, subject, episode_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
