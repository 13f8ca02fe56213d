"""Shows and their episodes: feed-like rows with cadences, numbering, durations and an audience survey."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from podsponsor.demo.catalogue import IMAGE_HOST, LANGUAGE_COUNTRIES, MEDIA_HOST, Show, Workspace
from podsponsor.demo.vocabulary import AGE_BANDS, CADENCE_DAYS, FIRST_NAMES, GENRES, LAST_NAMES, Genre

# Fixed, so that one seed always gives the same rows whatever day it runs.
ANCHOR = datetime(2026, 11, 1, 12, tzinfo=UTC)
HISTORY_DAYS = 3 * 365
MIN_EPISODES = 6
NEWEST_MIN_EPISODES = 60
BYTES_PER_SECOND = 16_000  # 128 kbit/s MP3
NONBINARY = 0.03  # share of every genre's audience


def new_id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def prefix_token(podcast_id: uuid.UUID) -> str:
    """The show's prefix token, derived from its id rather than drawn, so the rows drawn after it stay as they were
    and the demo's prefixed URLs are the same in every load."""
    digest = hashlib.sha256(b"demo prefix token:" + podcast_id.bytes).digest()
    return base64.urlsafe_b64encode(digest[:12]).decode()


def person(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def plan_episode_counts(rng: random.Random, shows: list[Show], total: int) -> list[int]:
    """Episodes per show adding up to `total`. Each show gets a random age; the most frequent show (the daily
    one) launched last and takes what is left, so the other shows keep back catalogues of up to three years."""
    caps = [int((HISTORY_DAYS - 14) / CADENCE_DAYS[show.cadence]) for show in shows]
    counts = [max(MIN_EPISODES, round(cap * rng.uniform(0.15, 1.0))) for cap in caps]
    newest = min(range(len(shows)), key=lambda i: CADENCE_DAYS[shows[i].cadence])
    others = sum(counts) - counts[newest]
    room = total - NEWEST_MIN_EPISODES
    if others > room:
        counts = [max(MIN_EPISODES, round(c * room / others)) for c in counts]
    counts[newest] = 0
    counts[newest] = max(MIN_EPISODES, min(caps[newest], total - sum(counts)))
    turn = 0
    while (gap := total - sum(counts)) != 0:
        k = turn % len(counts)
        turn += 1
        if gap > 0 and counts[k] < caps[k]:
            counts[k] += 1
        elif gap < 0 and counts[k] > MIN_EPISODES:
            counts[k] -= 1
    return counts


def shares(rng: random.Random, weights: dict[str, float]) -> dict[str, float]:
    """Noisy weights turned into shares in thousandths that add up to exactly 1000/1000."""
    noisy = {key: weight * rng.uniform(0.75, 1.25) for key, weight in weights.items()}
    total = sum(noisy.values())
    exact = {key: value * 1000 / total for key, value in noisy.items()}
    whole = {key: int(value) for key, value in exact.items()}
    for key in sorted(exact, key=lambda k: exact[k] - whole[k], reverse=True)[: 1000 - sum(whole.values())]:
        whole[key] += 1
    return {key: value / 1000 for key, value in sorted(whole.items(), key=lambda kv: -kv[1])}


def audience_countries(workspace: Workspace, show: Show) -> dict[str, float]:
    """The show's true audience country weights, before the survey's noise."""
    countries = dict(LANGUAGE_COUNTRIES.get(show.language[:2], workspace.countries))
    if show.language == "en-GB":
        countries["GB"] = countries.get("GB", 0) * 5
    return countries


def audience_genders(genre: Genre) -> dict[str, float]:
    """The genre's true gender weights, before the survey's noise."""
    return {"female": genre.female, "male": 1 - genre.female - NONBINARY, "nonbinary": NONBINARY}


def audience_profile(rng: random.Random, workspace: Workspace, show: Show) -> dict[str, Any]:
    genre = GENRES[show.genre]
    return {
        "age_bands": shares(rng, dict(zip(AGE_BANDS, genre.age, strict=True))),
        "gender": shares(rng, audience_genders(genre)),
        "top_countries": shares(rng, audience_countries(workspace, show)),
        "source": "listener survey",
        "sample_size": rng.randrange(300, 5000, 10),
    }


def publish_dates(rng: random.Random, cadence: str, count: int) -> list[datetime]:
    """`count` publish times, oldest first, ending within one cadence of the anchor, on a fixed weekday and hour."""
    day = ANCHOR.date() - timedelta(days=rng.randrange(0, math.ceil(CADENCE_DAYS[cadence])))
    at = time(rng.choice((4, 5, 6, 9, 10, 11)), rng.choice((0, 0, 15, 30)), tzinfo=UTC)
    days: list[date] = []
    while len(days) < count:
        if cadence != "daily" or day.weekday() < 5:
            days.append(day)
        step = {"daily": 1, "weekly": 7, "biweekly": 14}.get(cadence, 3 + len(days) % 2)
        day -= timedelta(days=step)
    return [datetime.combine(d, at) + timedelta(minutes=rng.randrange(0, 4)) for d in reversed(days)]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _episode_text(rng: random.Random, genre: Genre, show: Show, published: datetime) -> tuple[str, str]:
    subjects = rng.sample(genre.subjects, 3)
    guest = person(rng)
    fill = {
        "subject": subjects[0],
        "subject2": subjects[1],
        "subject3": subjects[2],
        "guest": guest,
        "host": show.host,
        "part": rng.randint(1, 3),
        "date": f"{published:%A, %B} {published.day}",
    }
    title = _capitalized(rng.choice(genre.patterns).format(**fill))
    return title, _capitalized(rng.choice(genre.blurbs).format(**fill))


def _numbering(show: Show, index: int) -> tuple[int | None, int | None]:
    if show.season_length:
        return index // show.season_length + 1, index % show.season_length + 1
    return None, (index + 1 if show.numbered else None)


def episode_rows(
    rng: random.Random, tenant_id: uuid.UUID, podcast_id: uuid.UUID, workspace: Workspace, show: Show, count: int
) -> list[dict[str, Any]]:
    genre = GENRES[show.genre]
    seen: dict[str, int] = {}
    rows = []
    for index, published in enumerate(publish_dates(rng, show.cadence, count)):
        title, description = _episode_text(rng, genre, show, published)
        for _ in range(4):  # a real feed rarely repeats a title
            if title not in seen:
                break
            title, description = _episode_text(rng, genre, show, published)
        seen[title] = seen.get(title, 0) + 1
        if seen[title] > 1:
            title = f"{title}, Part {seen[title]}"
        season, number = _numbering(show, index)
        if show.prefix and number is not None:
            title = show.prefix.format(n=number) + title
        guid = str(new_id(rng))
        seconds = rng.randint(show.minutes[0] * 60, show.minutes[1] * 60)
        base = f"https://{MEDIA_HOST}/{workspace.slug}/{show.slug}/{guid}"
        rows.append(
            {
                "tenant_id": tenant_id,
                "id": new_id(rng),
                "podcast_id": podcast_id,
                "guid": guid,
                "title": title,
                "description": description,
                "enclosure_url": f"{base}.mp3",
                "enclosure_bytes": seconds * BYTES_PER_SECOND + rng.randint(40_000, 400_000),
                "enclosure_type": "audio/mpeg",
                "duration_seconds": seconds,
                "publish_date": published,
                "season": season,
                "episode_number": number,
                "explicit": show.explicit and rng.random() < 0.85,
                "transcript_url": f"{base}.vtt" if show.transcripts else None,
                "created_at": published,
                "updated_at": published,
                "deleted_at": None,
            }
        )
    return rows


def show_rows(
    rng: random.Random, tenant_id: uuid.UUID, workspace: Workspace, show: Show, count: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One podcast row and its episodes."""
    podcast_id = new_id(rng)
    episodes = episode_rows(rng, tenant_id, podcast_id, workspace, show, count)
    created = episodes[0]["publish_date"] - timedelta(days=rng.randint(3, 20))
    podcast = {
        "tenant_id": tenant_id,
        "id": podcast_id,
        "title": show.title,
        # No feed address: the demo's hosts are fictional, and the refresh job would record every show as failing.
        # Importing a real feed by its URL works alongside the demo shows.
        "feed_url": None,
        "description": show.about,
        "author": f"{show.host} · {workspace.name}",
        "language": show.language,
        "explicit": show.explicit,
        "categories": list(show.categories),
        "image_url": f"https://{IMAGE_HOST}/{workspace.slug}/{show.slug}/cover-3000.jpg",
        "website_url": f"https://{workspace.website}/shows/{show.slug}",
        "audience_profile": audience_profile(rng, workspace, show),
        "prefix_token": prefix_token(podcast_id),
        "created_at": created,
        "updated_at": episodes[-1]["publish_date"],
        "deleted_at": None,
    }
    return podcast, episodes
