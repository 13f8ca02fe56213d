"""Import and refresh a show's feed, owning the transactions: the API, the page and the job all use these.

The network fetch happens outside any transaction (a slow feed must not hold a database connection); the result
is applied in one transaction. A failed refresh of an existing show is stored on the show before the error goes on.
"""

from __future__ import annotations

import uuid

from podsponsor.auth.subject import Subject
from podsponsor.catalog import ingest
from podsponsor.catalog.ingest import IngestReport
from podsponsor.db.tenancy import tenant_transaction


async def import_show(subject: Subject, feed_url: str) -> IngestReport:
    fetched = await ingest.fetch_feed(feed_url)
    async with tenant_transaction(subject.tenant_id) as session:
        return await ingest.import_feed(session, subject, fetched)


async def refresh_show(subject: Subject, podcast_id: uuid.UUID, *, conditional: bool = True) -> IngestReport:
    async with tenant_transaction(subject.tenant_id) as session:
        podcast = await ingest.show_to_refresh(session, subject, podcast_id)
        feed_url, etag, last_modified = podcast.feed_url or "", podcast.feed_etag, podcast.feed_last_modified
    try:
        if conditional:
            fetched = await ingest.fetch_feed(feed_url, etag, last_modified)
        else:
            fetched = await ingest.fetch_feed(feed_url)
    except Exception as exc:
        failure = ingest.failure_of(exc)
        if failure is None:
            raise
        async with tenant_transaction(subject.tenant_id) as session:
            await ingest.record_failure(session, subject, podcast_id, failure)
        raise failure from exc
    async with tenant_transaction(subject.tenant_id) as session:
        return await ingest.apply_refresh(session, subject, podcast_id, fetched)
