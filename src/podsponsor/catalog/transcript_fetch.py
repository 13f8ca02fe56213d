"""Transcripts from the addresses feeds name (`<podcast:transcript>`), for episodes that have none yet.

Like feed refresh, each download happens outside any transaction (a slow host must not hold a database connection)
through the SSRF-safe outbound client, and each transcript is stored in a transaction of its own, so one broken
address costs only its own episode: every outcome is reported, none stops the batch.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from podsponsor import outbound
from podsponsor.auth.subject import Subject
from podsponsor.catalog import service, transcripts
from podsponsor.catalog.service import TranscriptSource
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError

log = logging.getLogger(__name__)

FETCH_TIMEOUT = 30.0  # seconds per transcript, redirects and body included: transcripts run to megabytes
CONCURRENT_FETCHES = 4  # hosts are many and mostly different; a few at once, gently
ACCEPT = "text/vtt, application/x-subrip, application/srt;q=0.9, text/plain;q=0.8, */*;q=0.1"


@dataclass(frozen=True)
class TranscriptFetched:
    """What happened to one episode: `words` when its transcript was stored, else `error` says why not."""

    source: TranscriptSource
    format: str | None = None
    words: int | None = None
    error: str | None = None

    @property
    def stored(self) -> bool:
        return self.error is None


Progress = Callable[[TranscriptFetched, int, int], None]  # (outcome, how many done, how many in all)


async def fetch_missing(
    subject: Subject,
    *,
    podcast_id: uuid.UUID | None = None,
    limit: int | None = None,
    on_progress: Progress | None = None,
) -> list[TranscriptFetched]:
    """Fetch, read and store the transcript of each episode (of one show, or all; newest first, at most `limit`)
    whose feed names one it does not have. Outcomes come back in that order."""
    async with tenant_transaction(subject.tenant_id) as session:
        sources = await service.transcripts_to_fetch(session, subject, podcast_id, limit)
    gate = asyncio.Semaphore(CONCURRENT_FETCHES)
    done = 0

    async def one(source: TranscriptSource) -> TranscriptFetched:
        nonlocal done
        async with gate:
            outcome = await fetch_one(subject, source)
        done += 1
        if on_progress is not None:
            on_progress(outcome, done, len(sources))
        return outcome

    return list(await asyncio.gather(*(one(source) for source in sources)))


async def fetch_one(subject: Subject, source: TranscriptSource) -> TranscriptFetched:
    try:
        parsed = await _download(source.url)
        async with tenant_transaction(subject.tenant_id) as session:
            stored = await service.add_fetched_transcript(session, subject, source.episode_id, parsed)
    except AppError as exc:
        return TranscriptFetched(source, error=exc.detail)
    except Exception as exc:  # one episode's surprise must not cost the others theirs
        log.exception("transcript fetch failed", extra={"episode_id": str(source.episode_id), "url": source.url})
        return TranscriptFetched(source, error=f"unexpected error ({type(exc).__name__}); see the log")
    if stored is None:
        return TranscriptFetched(source, error="a transcript was stored meanwhile; it was kept")
    return TranscriptFetched(source, format=stored.format, words=stored.words)


async def _download(url: str) -> transcripts.ParsedTranscript:
    result = await outbound.request(
        "GET",
        url,
        headers={"Accept": ACCEPT},
        timeout=FETCH_TIMEOUT,
        max_bytes=transcripts.MAX_TRANSCRIPT_BYTES,
        follow_redirects=outbound.MAX_REDIRECTS,
        label="transcript",
    )
    if result.status >= 400:
        reason = httpx.codes.get_reason_phrase(result.status)
        raise outbound.OutboundHTTPError(
            f"the server answered {result.status} {reason}".strip(), status_code=result.status
        )
    # Hosts label transcripts loosely (octet-stream, text/html for a .vtt): only a cue format's own type is believed,
    # anything else is read from the content.
    declared = transcripts.CUE_MEDIA_TYPES.get(transcripts.media_type(result.content_type))
    return await transcripts.parse_off_loop(result.content, declared)
