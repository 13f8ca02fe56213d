"""Podcast pages: the list with search, the new-show form, and a show with its episodes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from podsponsor.auth.dependencies import require_page
from podsponsor.auth.permissions import Permission
from podsponsor.auth.subject import Subject
from podsponsor.catalog import feed_refresh, service
from podsponsor.catalog.schemas import FeedImportIn, PodcastIn
from podsponsor.config import get_settings
from podsponsor.db.tenancy import tenant_transaction
from podsponsor.errors import AppError
from podsponsor.listing import window
from podsponsor.web.csrf import verify_csrf
from podsponsor.web.forms import app_errors, form_fields, optional, page_number, pager, parse_id, validation_errors
from podsponsor.web.render import render
from podsponsor.web.session import redirect, set_notice

router = APIRouter(tags=["pages"], include_in_schema=False)
Reader = Annotated[Subject, Depends(require_page(Permission.CATALOG_READ))]
Writer = Annotated[Subject, Depends(require_page(Permission.CATALOG_WRITE))]
SHOWS_PER_PAGE = 20
EPISODES_PER_PAGE = 25
SEARCH_MAX = 200
LANGUAGES = ("en", "en-US", "en-GB", "es", "fr", "de", "it", "pt-BR", "nl", "sv", "ja")


@router.get("/podcasts", response_class=HTMLResponse)
async def podcasts_page(request: Request, subject: Reader) -> Response:
    number = page_number(request.query_params.get("page"))
    q = request.query_params.get("q", "").strip()[:SEARCH_MAX]
    page = window(SHOWS_PER_PAGE, (number - 1) * SHOWS_PER_PAGE, "title", service.PODCAST_SORTS, SHOWS_PER_PAGE)
    async with tenant_transaction(subject.tenant_id) as session:
        shows, total = await service.list_podcasts(session, subject, q or None, None, None, page)
    return render(
        request,
        "catalog/podcasts.html",
        shows=shows,
        q=q,
        pager=pager(request, number, SHOWS_PER_PAGE, total),
        can_write=subject.can(Permission.CATALOG_WRITE),
    )


@router.get("/podcasts/new", response_class=HTMLResponse)
async def new_podcast_page(request: Request, subject: Writer) -> Response:
    return _form(request, {}, {})


@router.get("/podcasts/import", response_class=HTMLResponse)
async def import_page(request: Request, subject: Writer) -> Response:
    return render(request, "catalog/podcast_import.html", values={}, errors={})


@router.post("/podcasts/import", response_class=HTMLResponse)
async def import_podcast(request: Request, subject: Writer) -> Response:
    """Add (or update) a show from its feed: fetched, parsed and stored before the page answers."""
    await verify_csrf(request)
    values = await form_fields(request)
    try:
        url = FeedImportIn.model_validate({"feed_url": values.get("feed_url", "")}).feed_url
        report = await feed_refresh.import_show(subject, str(url))
    except ValidationError as exc:
        return render(request, "catalog/podcast_import.html", 422, values=values, errors=validation_errors(exc))
    except AppError as exc:
        errors = {"feed_url": exc.detail}
        return render(request, "catalog/podcast_import.html", exc.status, values=values, errors=errors)
    response = redirect(f"/podcasts/{report.podcast_id}")
    verb = "added" if report.created else "updated"
    set_notice(
        response,
        f"The show is {verb}: {report.episodes_created} new and {report.episodes_updated} changed "
        f"episodes of {report.episodes_in_feed} in the feed.",
    )
    return response


@router.post("/podcasts/{podcast_id}/refresh", response_class=HTMLResponse)
async def refresh_podcast(podcast_id: str, request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    show_id = parse_id(podcast_id, "podcast")
    response = redirect(f"/podcasts/{show_id}")
    try:
        report = await feed_refresh.refresh_show(subject, show_id, conditional=False)
    except AppError as exc:
        if exc.status == 404:
            raise
        set_notice(response, f"The feed could not be read: {exc.detail}", "error")
        return response
    set_notice(
        response,
        f"Feed fetched: {report.episodes_created} new, {report.episodes_updated} changed, "
        f"{report.episodes_unchanged} unchanged episodes.",
    )
    return response


@router.post("/podcasts", response_class=HTMLResponse)
async def create_podcast(request: Request, subject: Writer) -> Response:
    await verify_csrf(request)
    values = await form_fields(request)
    try:
        data = PodcastIn.model_validate(_as_input(values))
        async with tenant_transaction(subject.tenant_id) as session:
            show = await service.create_podcast(session, subject, data)
    except ValidationError as exc:
        return _form(request, values, validation_errors(exc), 422)
    except AppError as exc:
        return _form(request, values, app_errors(exc), exc.status)
    response = redirect(f"/podcasts/{show.id}")
    set_notice(response, f"{show.title} is added.")
    return response


@router.get("/podcasts/{podcast_id}", response_class=HTMLResponse)
async def podcast_page(podcast_id: str, request: Request, subject: Reader) -> Response:
    show_id = parse_id(podcast_id, "podcast")
    number = page_number(request.query_params.get("page"))
    offset = (number - 1) * EPISODES_PER_PAGE
    page = window(EPISODES_PER_PAGE, offset, "-publish_date", service.EPISODE_SORTS, get_settings().page_size_max)
    async with tenant_transaction(subject.tenant_id) as session:
        show = await service.get_podcast(session, subject, show_id)
        episodes, total = await service.list_episodes(session, subject, show.id, None, None, None, page)
        prefixes = await service.prefix_usage(session, subject, show.id)
        transcripts = await service.transcript_heads(session, subject, [episode.id for episode in episodes])
    return render(
        request,
        "catalog/podcast_detail.html",
        show=show,
        episodes=episodes,
        transcripts=transcripts,
        prefixes=prefixes,
        public_base_url=get_settings().public_base_url,
        can_write=subject.can(Permission.CATALOG_WRITE),
        can_measure=subject.can(Permission.MEASUREMENT_READ),
        can_book=subject.can(Permission.BOOKINGS_READ),
        pager=pager(request, number, EPISODES_PER_PAGE, total),
    )


def _form(request: Request, values: dict[str, str], errors: dict[str, str], status: int = 200) -> Response:
    return render(request, "catalog/podcast_form.html", status, values=values, errors=errors, languages=LANGUAGES)


def _as_input(values: dict[str, str]) -> dict[str, Any]:
    """Form text as the API's input: empty optional fields are unset, categories are comma-separated."""
    return {
        "title": values.get("title", ""),
        "feed_url": optional(values.get("feed_url")),
        "author": values.get("author", ""),
        "language": optional(values.get("language")),
        "categories": [part.strip() for part in values.get("categories", "").split(",") if part.strip()],
        "explicit": values.get("explicit") == "on",
        "description": values.get("description", ""),
    }
