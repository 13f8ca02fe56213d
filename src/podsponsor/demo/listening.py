"""Listening for the demo shows: the prefix hits of the last `LISTENING_DAYS` UTC days up to now, made without a
database, so that counting has real-looking traffic to count and every show page has downloads to chart.

Each show has an audience of its own size (they differ up to a hundredfold); each episode is downloaded most on its
release day, then less every day (a·exp(-age/τ)), and its back catalogue keeps a long tail. Listeners keep their
address hash, app and country (from the show's audience survey), and listen most at commuting hours of their time
zone. The hits carry the mess counting must remove: HEAD requests, Apple's `bytes=0-1` probe before the file, resumed
downloads the same day, a paired Apple Watch fetching the phone's episode, known bots, data-centre traffic and a few
requests for files that are no episode. The same seed, workspace and `now` always give the same hits; a later `now`
on the same UTC day only adds the hits made since (a day is made whole, then cut at `now`).
"""

from __future__ import annotations

import hashlib
import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from typing import Any, Final

from podsponsor.demo.generate import TenantRows
from podsponsor.demo.shows import new_id

LISTENING_DAYS: Final = 35
# Downloads per show and day on average: about 45,000 downloads and 75,000 hits for the 20 demo shows.
DOWNLOADS_PER_SHOW_DAY: Final = 60
MIN_DOWNLOADS_PER_DAY: Final = 6
TAIL_DAYS: Final = 30  # the back catalogue's tail halves about every this many days of age, at first
HEAD_SHARE: Final = 0.08  # downloads preceded by a HEAD request
PROBE_SHARE: Final = 0.7  # downloads by Apple's media stack that start with the `bytes=0-1` probe
RESUME_SHARE: Final = 0.15  # downloads resumed later the same day (one to three more requests)
WATCH_SHARE: Final = 0.05  # Apple listeners whose paired Apple Watch fetches the episode too, half the time
HOUSEHOLD_SHARE: Final = 0.08  # listeners behind the address of another listener (a household, a carrier NAT)
IPV6_SHARE: Final = 0.3
STATUS: Final = 302
Row = dict[str, Any]


@dataclass(frozen=True)
class Client:
    """A podcast app as the prefix sees it: the user agents of its versions and how it asks for the file."""

    agents: tuple[str, ...]
    share: float
    apple: bool = False  # Apple's media stack: probes with `bytes=0-1`, and may have a paired watch
    ranged: bool = False  # asks for `bytes=0-` rather than the whole file
    browser: bool = False  # a web page's player: sends a Referer


CLIENTS: Final = (
    Client(
        (
            "AppleCoreMedia/1.0.0.21H16 (iPhone; U; CPU OS 17_7 like Mac OS X; en_us)",
            "AppleCoreMedia/1.0.0.22A3354 (iPhone; U; CPU OS 18_0 like Mac OS X; en_us)",
            "AppleCoreMedia/1.0.0.22B83 (iPhone; U; CPU OS 18_1 like Mac OS X; en_us)",
        ),
        30,
        apple=True,
    ),
    Client(
        ("Podcasts/4025.1.2 CFNetwork/1568.100.1 Darwin/24.0.0", "Podcasts/1.1.0 CFNetwork/1496.0.7 Darwin/23.5.0"), 9
    ),
    Client(("AppleCoreMedia/1.0.0.23H222 (Macintosh; U; Intel Mac OS X 14_7; en_us)",), 2, apple=True),
    Client(
        (
            "Spotify/8.9.86 iOS/18.1 (iPhone16,2)",
            "Spotify/8.9.84.594 Android/34 (SM-S921B)",
            "Spotify/8.9.86.551 Android/33 (Pixel 7)",
        ),
        22,
    ),
    Client(("Overcast/3.0 (+http://overcast.fm/; iOS podcast app)",), 4),
    Client(("Pocket Casts", "Shifty Jelly Pocket Casts, iOS v7.74"), 4),
    Client(("CastBox/10.9.2-240925129 (Linux;Android 14) ExoPlayerLib/2.10.4",), 3, ranged=True),
    Client(
        (
            "Podcast Addict - Dalvik/2.1.0 (Linux; U; Android 14; SM-A546B Build/UP1A.231005.007)",
            "PodcastAddict/v5 ( https://podcastaddict.com/; Android podcast app)",
        ),
        4,
    ),
    Client(("AlexaMediaPlayer/2.1.5261.0 (Linux;Android 7.1.2) ExoPlayerLib/2.10.4",), 2, ranged=True),
    Client(
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 "
            "Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
            "Safari/605.1.15",
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:132.0) Gecko/20100101 Firefox/132.0",
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile "
            "Safari/537.36",
        ),
        8,
        browser=True,
    ),
)
CLIENT_WEIGHTS: Final = tuple(accumulate(client.share for client in CLIENTS))
APPLE_WATCH: Final = (
    "atc/1.0 watchOS/11.1 model/Watch7,4 hwp/t8310 build/22S572 (6; dt:318)",
    "atc/1.0 watchOS/10.6.1 model/Watch6,2 hwp/t8301 build/21U580 (6; dt:275)",
)
GOOGLEBOT: Final = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
GOOGLEBOT_ADDRESSES: Final = ("66.249.66.1", "66.249.66.33", "66.249.79.12", "66.249.68.5")
CURL: Final = "curl/8.4.0"
CRAWLER: Final = "Mozilla/5.0 (compatible; AudioIndexCrawler/1.4; +https://crawler.audioindex.example/)"
DATACENTERS: Final = ("Amazon AWS", "Google Cloud", "Microsoft Azure", "DigitalOcean", "Hetzner Online")
OTHER_REFERERS: Final = ("https://www.google.com/", "https://duckduckgo.com/", "https://news.ycombinator.com/")

# Listening by local hour: a morning commute peak, a lunch and an evening shoulder, quiet nights.
LOCAL_HOURS: Final = tuple(
    accumulate((1, 0.6, 0.4, 0.3, 0.4, 1.2, 3, 5.5, 6, 5, 4.2, 4, 4.5, 4, 3.8, 4, 4.8, 5.5, 5, 4.2, 3.8, 3.4, 2.6, 1.7))
)
UTC_OFFSET: Final = {
    "US": -5, "CA": -5, "MX": -6, "CO": -5, "AR": -3, "CL": -3, "GB": 0, "IE": 0, "FR": 1, "BE": 1, "CH": 1,
    "DE": 1, "ES": 1, "IN": 5, "AU": 10, "NZ": 13,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Listener:
    ip_hash: str
    country: str
    user_agent: str
    client: Client
    referer: str | None
    watch: str | None  # the user agent of a paired Apple Watch that fetches episodes too


@dataclass
class Audience:
    """One show's listening: its episodes (oldest first), each one's expected downloads per day of the window,
    its listeners, and which episodes each listener has already downloaded."""

    podcast: Row
    episodes: list[Row]
    subscribers: float
    expected: list[list[float]]
    listeners: list[Listener] = field(default_factory=list)
    heard: set[tuple[int, int]] = field(default_factory=set)

    @property
    def token(self) -> str:
        return str(self.podcast["prefix_token"])


def listening_days(now: datetime) -> list[date]:
    """The UTC days that get listening: the last `LISTENING_DAYS` whole days and today."""
    today = now.astimezone(UTC).date()
    return [today - timedelta(days=back) for back in range(LISTENING_DAYS, -1, -1)]


def listening_hits(rows: TenantRows, seed: int, now: datetime) -> list[Row]:
    """A workspace's prefix hits (rows of `download_requests`) up to `now`, in time order."""
    rng = random.Random(f"{seed}:{rows.slug}:listening")  # noqa: S311 - reproducible on purpose
    days = listening_days(now)
    audiences = _audiences(rng, rows, days)
    hits: list[Row] = []
    for index, day in enumerate(days):
        volume = 0
        for audience in audiences:
            downloads = _downloads(rng, rows, audience, index, day)
            volume += len(downloads)
            hits += downloads
        hits += _noise(rng, rows, audiences, index, day, volume)
    hits.sort(key=lambda hit: (hit["ts"], hit["id"]))
    return [hit for hit in hits if hit["ts"] <= now]


# Audiences -----------------------------------------------------------------------------------------------------------


def _audiences(rng: random.Random, rows: TenantRows, days: list[date]) -> list[Audience]:
    """Each show's expected downloads per episode and day, scaled so the workspace averages about
    `DOWNLOADS_PER_SHOW_DAY` per show and day (and no show has fewer than `MIN_DOWNLOADS_PER_DAY`), and a few more
    listeners than the show has subscribers."""
    audiences = []
    for podcast in rows.podcasts:
        episodes = sorted((e for e in rows.episodes if e["podcast_id"] == podcast["id"]), key=_published)
        subscribers = 10 ** rng.uniform(0.4, 2.2)  # relative: the biggest show has up to ~60 times the smallest's
        take, decay, tail = rng.uniform(0.55, 0.85), rng.uniform(1.5, 4.0), rng.uniform(0.005, 0.012)
        expected = [[_expected(e, day, take, decay, tail) for e in episodes] for day in days]
        audiences.append(Audience(podcast, episodes, subscribers, expected))
    total = sum(a.subscribers * sum(map(sum, a.expected)) for a in audiences)
    scale = DOWNLOADS_PER_SHOW_DAY * len(audiences) * len(days) * rng.uniform(0.9, 1.1) / total
    for audience in audiences:
        # A show too small to draw a chart with is given the least audience that does.
        daily = audience.subscribers * scale * sum(map(sum, audience.expected)) / len(days)
        audience.subscribers *= scale * max(1.0, MIN_DOWNLOADS_PER_DAY / daily)
        audience.expected = [[audience.subscribers * x for x in day] for day in audience.expected]
        pool = round(audience.subscribers * 1.25) + 20
        for _ in range(pool):
            audience.listeners.append(_listener(rng, audience.podcast, audience.listeners))
    return audiences


def _published(episode: Row) -> datetime:
    published: datetime = episode["publish_date"]
    return published


def _expected(episode: Row, day: date, take: float, decay: float, tail: float) -> float:
    """Expected downloads on `day` per subscriber: the release peak's share of that day plus the back catalogue's."""
    age = (day - _published(episode).date()).days
    if age < 0:
        return 0.0
    release = take * (1 - math.exp(-1 / decay)) * math.exp(-age / decay)
    return release + tail * math.pow(1 + age / TAIL_DAYS, -1.1)


def _listener(rng: random.Random, podcast: Row, others: list[Listener]) -> Listener:
    countries = podcast["audience_profile"]["top_countries"]
    country = rng.choices(list(countries), weights=list(countries.values()))[0]
    client = _client(rng)
    if others and rng.random() < HOUSEHOLD_SHARE:
        housemate = rng.choice(others)
        ip_hash, country = housemate.ip_hash, housemate.country
    else:
        ip_hash = _ip_hash(_address(rng))
    referer = None
    if client.browser:
        referer = podcast["website_url"] if rng.random() < 0.8 else rng.choice(OTHER_REFERERS)
    watch = rng.choice(APPLE_WATCH) if client.apple and rng.random() < WATCH_SHARE else None
    return Listener(ip_hash, country, rng.choice(client.agents), client, referer, watch)


def _address(rng: random.Random) -> str:
    """A made-up client address; an IPv6 one as its /64, which is what the prefix hashes."""
    if rng.random() < IPV6_SHARE:
        groups = [f"{rng.randrange(0x2400, 0x2C00):x}", *(f"{rng.getrandbits(16):x}" for _ in range(3))]
        return ":".join(groups) + "::/64"
    return f"{rng.randint(24, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


def _ip_hash(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()


# Downloads -----------------------------------------------------------------------------------------------------------


def _downloads(rng: random.Random, rows: TenantRows, audience: Audience, index: int, day: date) -> list[Row]:
    """The requests of one show's downloads on `day`: how many is drawn around what its episodes expect."""
    weights = audience.expected[index]
    count = _poisson(rng, sum(weights))
    if not count:
        return []
    hits: list[Row] = []
    cumulative = list(accumulate(weights))
    for _ in range(count):
        episode = bisect_right(cumulative, rng.random() * cumulative[-1])
        listener = _listener_for(rng, audience, episode)
        started = _download_time(rng, audience.episodes[episode], listener, day)
        hits += _requests(rng, rows, audience, audience.episodes[episode], listener, started)
    return hits


def _listener_for(rng: random.Random, audience: Audience, episode: int) -> Listener:
    """A listener of the show, preferably one who has not downloaded this episode yet."""
    for _ in range(4):
        picked = rng.randrange(len(audience.listeners))
        if (picked, episode) not in audience.heard:
            break
    audience.heard.add((picked, episode))
    return audience.listeners[picked]


def _download_time(rng: random.Random, episode: Row, listener: Listener, day: date) -> datetime:
    """On release day most apps fetch the episode within hours of publication; otherwise listeners follow the
    clock of their time zone."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    end = start + timedelta(days=1)
    published = _published(episode)
    if published >= start and rng.random() < 0.55:
        at = published + timedelta(seconds=rng.expovariate(1 / 5400))
    else:
        local = bisect_right(LOCAL_HOURS, rng.random() * LOCAL_HOURS[-1])
        hour = (local - UTC_OFFSET.get(listener.country, 0)) % 24
        at = start + timedelta(hours=hour, seconds=rng.uniform(0, 3600))
    if published <= at < end:
        return at
    first = max(start, published)
    return first + (end - first) * rng.random()


def _requests(
    rng: random.Random, rows: TenantRows, audience: Audience, episode: Row, listener: Listener, at: datetime
) -> list[Row]:
    """What one download looks like at the prefix: its requests, from `at` on."""
    size = int(episode["enclosure_bytes"])
    fetches: list[tuple[float, str, str | None, str]] = []
    start = 0.0
    if rng.random() < HEAD_SHARE:
        fetches.append((0.0, "HEAD", None, listener.user_agent))
        start = rng.uniform(0.2, 2.0)
    if listener.client.apple and rng.random() < PROBE_SHARE:
        fetches.append((start, "GET", "bytes=0-1", listener.user_agent))
        fetches.append((start + rng.uniform(0.1, 1.5), "GET", f"bytes=0-{size - 1}", listener.user_agent))
    else:
        fetches.append((start, "GET", "bytes=0-" if listener.client.ranged else None, listener.user_agent))
    if rng.random() < RESUME_SHARE:
        later = start
        for _ in range(rng.randint(1, 3)):
            later += rng.uniform(120, 4 * 3600)
            fetches.append((later, "GET", f"bytes={rng.randrange(size // 10, size - 1)}-", listener.user_agent))
    if listener.watch and rng.random() < 0.5:
        fetches.append((start + rng.uniform(5, 600), "GET", None, listener.watch))
    destination = str(episode["enclosure_url"])
    return [
        _hit(
            rng,
            rows,
            audience,
            at + timedelta(seconds=offset),
            method,
            destination,
            user_agent,
            listener.ip_hash,
            listener.country,
            range_header=range_header,
            referer=listener.referer,
        )
        for offset, method, range_header, user_agent in fetches
    ]


# What counting must leave out ----------------------------------------------------------------------------------------


def _noise(
    rng: random.Random, rows: TenantRows, audiences: list[Audience], index: int, day: date, volume: int
) -> list[Row]:
    """A day's bots, data-centre fetches and requests for files that are no episode, in proportion to its volume."""
    start = datetime.combine(day, time(), tzinfo=UTC)
    hits: list[Row] = []

    def add(user_agent: str, ip_hash: str, country: str, datacenter: str | None = None) -> None:
        audience = rng.choices(audiences, weights=[a.subscribers for a in audiences])[0]
        destination = str(_any_episode(rng, audience, index)["enclosure_url"])
        at = start + timedelta(seconds=rng.uniform(0, 86_400))
        hits.append(_hit(rng, rows, audience, at, "GET", destination, user_agent, ip_hash, country, datacenter))

    for _ in range(_poisson(rng, 0.004 * volume + 1)):
        add(GOOGLEBOT, _ip_hash(rng.choice(GOOGLEBOT_ADDRESSES)), "US")
    for _ in range(_poisson(rng, 0.002 * volume + 0.5)):
        add(CRAWLER, _ip_hash("198.51.100.23"), "DE")
    for _ in range(_poisson(rng, 1.0)):
        add(CURL, _ip_hash("203.0.113.77"), "US", datacenter="DigitalOcean")
    for _ in range(_poisson(rng, 0.012 * volume)):
        address = f"{rng.choice((3, 20, 34, 35, 52))}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
        add(rng.choice(_client(rng).agents), _ip_hash(address), "US", datacenter=rng.choice(DATACENTERS))
    for _ in range(_poisson(rng, 0.002 * volume + 1)):
        hits.append(_missing_file(rng, rows, rng.choice(audiences), start))
    return hits


def _missing_file(rng: random.Random, rows: TenantRows, audience: Audience, start: datetime) -> Row:
    """A listener asking for a file that is no episode of the show: its trailer, or an episode taken down."""
    listener = rng.choice(audience.listeners)
    folder = str(audience.episodes[-1]["enclosure_url"]).rsplit("/", 1)[0]
    destination = f"{folder}/trailer.mp3" if rng.random() < 0.5 else f"{folder}/{new_id(rng)}.mp3"
    at = start + timedelta(seconds=rng.uniform(0, 86_400))
    return _hit(rng, rows, audience, at, "GET", destination, listener.user_agent, listener.ip_hash, listener.country)


def _any_episode(rng: random.Random, audience: Audience, index: int) -> Row:
    """Any of the show's episodes out on that day: crawlers walk the whole catalogue."""
    out = [e for e, expected in zip(audience.episodes, audience.expected[index], strict=True) if expected > 0]
    return rng.choice(out or audience.episodes)


def _client(rng: random.Random) -> Client:
    return CLIENTS[bisect_right(CLIENT_WEIGHTS, rng.random() * CLIENT_WEIGHTS[-1])]


# Rows ----------------------------------------------------------------------------------------------------------------


def _hit(
    rng: random.Random,
    rows: TenantRows,
    audience: Audience,
    at: datetime,
    method: str,
    destination: str,
    user_agent: str,
    ip_hash: str,
    country: str,
    datacenter: str | None = None,
    *,
    range_header: str | None = None,
    referer: str | None = None,
) -> Row:
    return {
        "tenant_id": rows.id,
        "id": new_id(rng),
        "ts": at,
        "podcast_id": audience.podcast["id"],
        "method": method,
        "url": f"/p/{audience.token}/{destination.split('://', 1)[1]}",
        "destination": destination,
        "range_header": range_header,
        "user_agent": user_agent,
        "referer": referer,
        "ip_hash": ip_hash,
        "country": country,
        "datacenter": datacenter,
        "status": STATUS,
    }


def _poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: Knuth's product of uniforms for small means, the normal approximation for large ones."""
    if mean <= 0:
        return 0
    if mean > 50:
        return max(0, round(rng.gauss(mean, math.sqrt(mean))))
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count
