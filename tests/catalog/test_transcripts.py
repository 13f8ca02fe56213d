"""Episode transcripts: WebVTT, SRT and plain text read into plain text; stored, read and removed over REST; shown on
the show page; fetched from the addresses feeds name, by the service and by `podsponsor catalog fetch-transcripts`."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator, Sequence
from datetime import datetime

import httpx
import pytest

from podsponsor.auth.subject import Subject, system_subject
from podsponsor.auth.tokens import TokenClaims, issue_session
from podsponsor.catalog import service, transcript_fetch
from podsponsor.catalog.exceptions import (
    TranscriptEmpty,
    TranscriptNotText,
    TranscriptTooLarge,
    UnsupportedTranscriptType,
)
from podsponsor.catalog.service import TranscriptSource
from podsponsor.catalog.transcripts import (
    ACCEPTED,
    MAX_TRANSCRIPT_BYTES,
    count_words,
    detect_format,
    parse_transcript,
    upload_format,
)
from podsponsor.config import Settings, reset_settings
from podsponsor.db.bootstrap import DatabaseUrls
from podsponsor.db.engine import Database
from podsponsor.db.tenancy import tenant_transaction
from tests.cli.conftest import podsponsor
from tests.factories.feed_server import FeedServer
from tests.factories.identity import Tenant, make_tenant

# A transcript as editors publish them: header metadata, STYLE/REGION/NOTE blocks, cue ids and settings, voices
# with classes, class/italic/bold/ruby/timestamp tags, entities, a BOM and CRLF line ends.
EPISODE_VTT = (
    "\ufeffWEBVTT - The Daily Grind, episode 12\r\n"
    "Kind: captions\r\n"
    "Language: en-US\r\n"
    "\r\n"
    "STYLE\r\n"
    "::cue(.loud) { color: #ff6600; }\r\n"
    '::cue(v[voice="Ana Ruiz"]) { color: teal }\r\n'
    "\r\n"
    "REGION\r\n"
    "id:bottom\r\n"
    "width:80%\r\n"
    "\r\n"
    "NOTE\r\n"
    "Transcribed by the show's editor.\r\n"
    "Checked against the audio on 2026-03-02.\r\n"
    "\r\n"
    "intro\r\n"
    "00:00:00.000 --> 00:00:03.200 region:bottom align:start\r\n"
    "<v Ana Ruiz>Welcome back to <i>The Daily Grind</i>,</v>\r\n"
    "<v Ana Ruiz>where coffee &amp; code meet.</v>\r\n"
    "\r\n"
    "00:00:03.400 --> 00:00:06.900\r\n"
    "<v Ana Ruiz>Today: <c.loud>espresso</c> machines<00:00:05.100> under&nbsp;$500.</v>\r\n"
    "\r\n"
    "2\r\n"
    "00:00:07.000 --> 00:00:09.500 line:85%\r\n"
    "<v.guest Ben Okafor>Thanks for having me &lt;3 &mdash; big fan.</v>\r\n"
    "\r\n"
    "NOTE the ad break starts here\r\n"
    "\r\n"
    "00:00:15.000 --> 00:00:18.250\r\n"
    "<v Ben Okafor>So, the <b>grinder</b> matters more than the <ruby>機械<rt>きかい</rt></ruby> itself.</v>\r\n"
).encode()
EPISODE_TEXT = (
    "Welcome back to The Daily Grind, where coffee & code meet. Today: espresso machines under $500.\n\n"
    "Thanks for having me <3 — big fan.\n\n"
    "So, the grinder matters more than the 機械 itself."
)

# SRT as subtitle tools write it: italics, font colours, an ASS position override, coordinates after the timing,
# a blank line inside a cue and a sequence number without the blank line before it.
EPISODE_SRT = (
    b"1\n00:00:01,000 --> 00:00:04,000\n<i>Previously on</i> Case Files\xe2\x80\xa6\n\n"
    b"2\n00:00:04,200 --> 00:00:07,500 X1:100 X2:600 Y1:50 Y2:80\n"
    b'{\\an8}The detective <font color="#ffff00">found</font> the letter.\n\n'
    b"3\n00:00:07,600 --> 00:00:09,000\nShe read it twice.\n\nIt changed everything.\n"
    b"4\n00:00:12,500 --> 00:00:14,000\n- Who sent it?\n- Nobody knows.\n"
)
SRT_TEXT = (
    "Previously on Case Files… The detective found the letter. She read it twice. It changed everything.\n\n"
    "- Who sent it? - Nobody knows."
)

SHORT_VTT = b"WEBVTT\n\n00:00.000 --> 00:02.000\n<v Host>Coffee grinders, burrs and espresso.\n"


# --- reading transcripts ----------------------------------------------------------------------------------------


def test_a_published_webvtt_file_keeps_only_what_is_said_in_paragraphs() -> None:
    parsed = parse_transcript(EPISODE_VTT)
    assert parsed.format == "vtt"
    assert parsed.text == EPISODE_TEXT
    assert parsed.words == 31


def test_srt_loses_numbers_timings_and_markup_and_pauses_start_paragraphs() -> None:
    parsed = parse_transcript(EPISODE_SRT.replace(b"\n", b"\r\n"))
    assert parsed.format == "srt"
    assert parsed.text == SRT_TEXT
    assert parsed.words == 21


def test_plain_text_is_kept_as_written_with_whitespace_tidied() -> None:
    parsed = parse_transcript(b"  Host:\tWelcome   back.\r\nGuest: Thanks!\n\n\n\nHost: Let's talk coffee & tea.  \n")
    assert parsed.format == "text"
    assert parsed.text == "Host: Welcome back.\nGuest: Thanks!\n\nHost: Let's talk coffee & tea."
    assert parsed.words == 10


def test_rolling_captions_are_not_counted_twice() -> None:
    rolling = (
        b"WEBVTT\n\n00:00.000 --> 00:01.000\nso today we are\n\n"
        b"00:01.000 --> 00:02.000\nso today we are\ntalking about <00:01.500><c>grinders</c>\n\n"
        b"00:02.000 --> 00:03.000\ntalking about grinders\nand burrs\n"
    )
    parsed = parse_transcript(rolling)
    assert parsed.text == "so today we are talking about grinders and burrs"
    assert parsed.words == 9


def test_speaker_changes_start_paragraphs_and_short_gaps_do_not() -> None:
    vtt = (
        b"WEBVTT\n\n00:00.000 --> 00:01.000\n<v Ana>One.\n\n00:02.000 --> 00:03.000\n<v Ana>Two.\n\n"
        b"00:03.100 --> 00:04.000\n<v Ben>Three.\n\n00:04.100 --> 00:05.000\nFour.\n"
    )
    assert parse_transcript(vtt).text == "One. Two.\n\nThree. Four."


def test_a_short_line_said_twice_is_kept_twice() -> None:
    vtt = b"WEBVTT\n\n00:00.000 --> 00:01.000\nYeah.\n\n00:01.000 --> 00:02.000\nYeah.\n"
    assert parse_transcript(vtt).text == "Yeah. Yeah."


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (EPISODE_VTT, "vtt"),
        (b"WEBVTT\n\n00:01.000 --> 00:02.000\nhi\n", "vtt"),
        (b"\n\n00:00:01.000 --> 00:00:02.000\nhi there\n", "vtt"),  # no header: the timing's dot says WebVTT
        (EPISODE_SRT, "srt"),
        (b"00:00:01,000 --> 00:00:02,000\nhi\n", "srt"),
        (b"WEBVTTX is not a header\n", "text"),
        (b"Episode 12 transcript\n\nHost: hello --> there\n", "text"),
    ],
)
def test_the_format_is_detected_from_the_content(content: bytes, expected: str) -> None:
    assert detect_format(content.decode()) == expected


def test_a_format_given_wins_over_detection() -> None:
    as_text = parse_transcript(SHORT_VTT, "text")
    assert as_text.format == "text" and as_text.text.startswith("WEBVTT")
    assert parse_transcript(SHORT_VTT, "vtt").text == "Coffee grinders, burrs and espresso."


@pytest.mark.parametrize(
    ("text", "words"),
    [("don't stop", 2), ("COVID-19 is — well … over", 4), ("", 0), ("  - ... —  ", 0), ("$500 and 42", 3)],
)
def test_words_are_tokens_with_a_letter_or_digit(text: str, words: int) -> None:
    assert count_words(text) == words


@pytest.mark.parametrize(
    ("content", "error", "says"),
    [
        (b"", TranscriptEmpty, "empty"),
        (b" \n\t\r\n", TranscriptEmpty, "empty"),
        (b"WEBVTT\n\nNOTE nothing but a note\n\n00:00.000 --> 00:01.000\n<i></i>\n", TranscriptEmpty, "WebVTT"),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\n2\n00:00:02,000 --> 00:00:03,000\n", TranscriptEmpty, "SRT"),
        (b"ID3\x04\x00\x00\x00\x00\x00#TSSE", TranscriptNotText, "binary"),
        (bytes(range(128, 256)) * 20, TranscriptNotText, "binary"),
        ("Caf\xe9 con leche, por favor.".encode("latin-1"), TranscriptNotText, "byte 0xe9 at offset 3"),
        ("WEBVTT\n".encode("utf-16"), TranscriptNotText, "UTF-16"),
        (b"<!DOCTYPE html><html><body><p>Transcript</p></body></html>", UnsupportedTranscriptType, "HTML"),
        (b'{"version": "1.0.0", "segments": [{"body": "hi"}]}', UnsupportedTranscriptType, "JSON"),
    ],
)
def test_what_is_not_a_transcript_is_refused_saying_why(content: bytes, error: type[Exception], says: str) -> None:
    with pytest.raises(error) as refused:
        parse_transcript(content)
    assert says in refused.value.detail  # type: ignore[attr-defined]


def test_a_transcript_over_the_size_limit_is_refused() -> None:
    with pytest.raises(TranscriptTooLarge) as refused:
        parse_transcript(b"word " * (MAX_TRANSCRIPT_BYTES // 5 + 1))
    assert refused.value.status == 413


def test_an_upload_format_comes_from_the_query_then_the_content_type() -> None:
    assert upload_format("srt", "application/json") == "srt"
    assert upload_format(None, "text/vtt; charset=utf-8") == "vtt"
    assert upload_format(None, "application/x-subrip") == "srt"
    assert upload_format(None, "text/plain") is None
    assert upload_format(None, None) is None
    with pytest.raises(UnsupportedTranscriptType) as refused:
        upload_format(None, "application/pdf")
    assert refused.value.status == 415 and "application/pdf" in refused.value.detail


# --- over REST ----------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pair(server: str) -> tuple[Tenant, Tenant]:
    return make_tenant(server, roles=("owner", "sales")), make_tenant(server)


def _episode(api: httpx.Client, title: str = "Espresso, explained") -> str:
    show = api.post("/api/v1/podcasts", json={"title": f"Transcribed Show {uuid.uuid4().hex[:6]}"})
    assert show.status_code == 201, show.text
    episode = api.post("/api/v1/episodes", json={"podcast_id": show.json()["id"], "title": title})
    assert episode.status_code == 201, episode.text
    return str(episode.json()["id"])


def _put(
    api: httpx.Client, episode_id: str, body: bytes, content_type: str | None = "text/vtt", **params: str
) -> httpx.Response:
    headers = {"Content-Type": content_type} if content_type else {}
    return api.put(f"/api/v1/episodes/{episode_id}/transcript", content=body, headers=headers, params=params)


def _problem(response: httpx.Response, status: int, type_: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, object] = response.json()
    assert str(body["type"]).endswith(f"/{type_}"), body
    return body


def test_a_transcript_is_stored_read_replaced_and_removed(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        episode_id = _episode(api)
        created = _put(api, episode_id, EPISODE_VTT)
        assert created.status_code == 201, created.text
        assert created.json()["format"] == "vtt" and created.json()["words"] == 31
        read = api.get(f"/api/v1/episodes/{episode_id}/transcript").json()
        assert read == {**created.json(), "text": EPISODE_TEXT, "episode_id": episode_id}
        assert set(read) == {"episode_id", "format", "words", "text", "updated_at"}

        replaced = _put(api, episode_id, EPISODE_SRT, "application/octet-stream", format="srt")
        assert replaced.status_code == 200, replaced.text
        assert replaced.json()["format"] == "srt" and replaced.json()["text"] == SRT_TEXT
        assert datetime.fromisoformat(replaced.json()["updated_at"]) > datetime.fromisoformat(
            created.json()["updated_at"]
        )

        events = api.get("/api/v1/events", params={"type": "episode.transcript_stored"}).json()["items"]
        mine = [e["payload"] for e in events if e["subject_id"] == episode_id]
        assert mine == [
            {"format": "srt", "words": 21, "source": "upload", "created": False},
            {"format": "vtt", "words": 31, "source": "upload", "created": True},
        ]

        assert api.delete(f"/api/v1/episodes/{episode_id}/transcript").status_code == 204
        _problem(api.get(f"/api/v1/episodes/{episode_id}/transcript"), 404, "not-found")
        _problem(api.delete(f"/api/v1/episodes/{episode_id}/transcript"), 404, "not-found")
        deleted = api.get("/api/v1/events", params={"type": "episode.transcript_deleted"}).json()["items"]
        assert [e["subject_id"] for e in deleted].count(episode_id) == 1


def test_text_plain_is_read_as_what_its_content_is(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        episode_id = _episode(api)
        assert _put(api, episode_id, SHORT_VTT, "text/plain; charset=utf-8").json()["format"] == "vtt"
        plain = _put(api, episode_id, b"Host: welcome to the show.", "text/plain").json()
        assert plain["format"] == "text" and plain["words"] == 5


def test_another_tenants_episode_is_404_and_its_transcript_untouched(pair: tuple[Tenant, Tenant]) -> None:
    tenant, other = pair
    with tenant.client() as api, other.client() as intruder:
        episode_id = _episode(api)
        _put(api, episode_id, EPISODE_VTT)
        path = f"/api/v1/episodes/{episode_id}/transcript"
        _problem(intruder.get(path), 404, "not-found")
        _problem(_put(intruder, episode_id, SHORT_VTT), 404, "not-found")
        _problem(intruder.delete(path), 404, "not-found")
        assert api.get(path).json()["text"] == EPISODE_TEXT
        _problem(api.get(f"/api/v1/episodes/{uuid.uuid4()}/transcript"), 404, "not-found")


def test_a_removed_episode_has_no_transcript_to_read_or_store(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        episode_id = _episode(api)
        _put(api, episode_id, EPISODE_VTT)
        assert api.delete(f"/api/v1/episodes/{episode_id}").status_code == 204
        _problem(api.get(f"/api/v1/episodes/{episode_id}/transcript"), 404, "not-found")
        _problem(_put(api, episode_id, SHORT_VTT), 404, "not-found")


def test_reading_needs_catalog_read_and_writing_catalog_write(pair: tuple[Tenant, Tenant], anon: httpx.Client) -> None:
    tenant, _ = pair
    with tenant.client() as api, tenant.client("sales") as seller:
        episode_id = _episode(api)
        _put(api, episode_id, EPISODE_VTT)
        path = f"/api/v1/episodes/{episode_id}/transcript"
        assert seller.get(path).json()["words"] == 31
        _problem(_put(seller, episode_id, SHORT_VTT), 403, "forbidden")
        _problem(seller.delete(path), 403, "forbidden")
        _problem(anon.get(path), 401, "not-authenticated")
        _problem(anon.put(path, content=SHORT_VTT, headers={"Content-Type": "text/vtt"}), 401, "not-authenticated")
        assert api.get(path).json()["words"] == 31


def test_a_transcript_over_5_mb_is_413_whether_its_length_is_declared_or_streamed(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    too_big = b"WEBVTT\n\n" + b"a" * MAX_TRANSCRIPT_BYTES

    def chunked() -> Iterator[bytes]:
        for start in range(0, len(too_big), 256 * 1024):
            yield too_big[start : start + 256 * 1024]

    with tenant.client() as api:
        episode_id = _episode(api)
        declared = _problem(_put(api, episode_id, too_big), 413, "transcript-too-large")
        assert declared["max_bytes"] == MAX_TRANSCRIPT_BYTES and "5 MB" in str(declared["detail"])
        streamed = api.put(
            f"/api/v1/episodes/{episode_id}/transcript", content=chunked(), headers={"Content-Type": "text/vtt"}
        )
        _problem(streamed, 413, "transcript-too-large")
        _problem(api.get(f"/api/v1/episodes/{episode_id}/transcript"), 404, "not-found")


def test_bad_input_is_415_or_422_naming_what_was_wrong(pair: tuple[Tenant, Tenant]) -> None:
    tenant, _ = pair
    with tenant.client() as api:
        episode_id = _episode(api)
        unsupported = "unsupported-transcript-type"
        wrong_type = _problem(_put(api, episode_id, b'{"a": 1}', "application/json"), 415, unsupported)
        assert wrong_type["errors"] == [
            {"field": "content-type", "value": "application/json", "reason": f"use {ACCEPTED}"}
        ]
        html = _problem(_put(api, episode_id, b"<html><body>hi</body></html>", "text/plain"), 415, unsupported)
        assert "HTML" in str(html["detail"])
        binary = _problem(_put(api, episode_id, b"ID3\x04\x00\x00\x00", "text/plain"), 422, "transcript-not-text")
        assert "binary" in str(binary["detail"])
        latin = _problem(
            _put(api, episode_id, "Caf\xe9 con leche, por favor.".encode("latin-1"), "text/plain"),
            422,
            "transcript-not-text",
        )
        assert "UTF-8" in str(latin["detail"])
        empty = _problem(_put(api, episode_id, b"WEBVTT\n\nNOTE only a note\n"), 422, "transcript-empty")
        assert "WebVTT" in str(empty["detail"])
        _problem(_put(api, episode_id, SHORT_VTT, format="docx"), 422, "validation-error")
        _problem(api.get(f"/api/v1/episodes/{episode_id}/transcript"), 404, "not-found")


# --- on the show page ---------------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(server: str, settings: Settings) -> Iterator[tuple[Tenant, httpx.Client]]:
    tenant = make_tenant(server)
    session = issue_session(settings, TokenClaims(tenant.id, tenant.user_ids["owner"], 1))  # type: ignore[arg-type]
    with httpx.Client(
        base_url=server, cookies={"podsponsor_session": session}, headers={"accept": "text/html"}
    ) as page:
        yield tenant, page


def test_the_show_page_gives_each_transcripts_length_and_opening(signed_in: tuple[Tenant, httpx.Client]) -> None:
    tenant, browser = signed_in
    with tenant.client() as api:
        show = api.post("/api/v1/podcasts", json={"title": "Page Transcripts"}).json()
        episodes = [
            api.post("/api/v1/episodes", json={"podcast_id": show["id"], "title": title}).json()["id"]
            for title in ("Short one", "Long one", "Untranscribed one")
        ]
        _put(api, episodes[0], EPISODE_VTT)
        _put(api, episodes[1], " ".join(f"espresso{n}" for n in range(1, 2001)).encode(), "text/plain")
    page = browser.get(f"/podcasts/{show['id']}")
    assert page.status_code == 200
    cells = re.findall(
        r"<details class=\"transcript\" data-transcript><summary>(.*?)</summary>\s*<p>(.*?)</p>", page.text, re.S
    )
    by_words = dict(cells)
    assert set(by_words) == {"Transcript: 31 words", "Transcript: 2,000 words"}
    assert by_words["Transcript: 31 words"].startswith("Welcome back to The Daily Grind, where coffee &amp; code meet.")
    assert "big fan." in by_words["Transcript: 31 words"]
    opening = by_words["Transcript: 2,000 words"]
    assert opening.startswith("espresso1 espresso2 ") and opening.endswith("…")
    assert 280 <= len(opening) <= 301 and re.search(r" espresso\d+…$", opening)


# --- fetched from the feed's addresses ----------------------------------------------------------------------------


def transcript_feed(title: str, items: Sequence[tuple[str, str | None]]) -> bytes:
    """A feed whose items (guid = title) name a transcript with <podcast:transcript> when given one; the last item
    is the newest."""
    entries = "".join(
        f'<item><title>{guid}</title><guid isPermaLink="false">{guid}</guid>'
        f"<pubDate>Mon, 02 Mar 2026 10:{n:02d}:00 +0000</pubDate>"
        + (f'<podcast:transcript url="{url}" type="text/vtt"/>' if url else "")
        + f'<enclosure url="https://cdn.example.com/{guid}.mp3" length="1000" type="audio/mpeg"/></item>'
        for n, (guid, url) in enumerate(items)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:podcast="https://podcastindex.org/namespace/1.0"><channel>'
        f"<title>{title}</title><link>https://example.com</link><description>d</description>{entries}</channel></rss>"
    ).encode()


def _import(tenant: Tenant, feed_url: str) -> tuple[str, dict[str, str]]:
    with tenant.client() as api:
        imported = api.post("/api/v1/podcasts/import", json={"feed_url": feed_url})
        assert imported.status_code == 201, imported.text
        podcast_id = imported.json()["podcast_id"]
        listed = api.get("/api/v1/episodes", params={"podcast_id": podcast_id}).json()["items"]
    return podcast_id, {episode["guid"]: episode["id"] for episode in listed}


@pytest.fixture
def local_hosts_allowed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The fetcher runs in the test process here: let it reach the local feed server, as the app's server may."""
    monkeypatch.setenv("OUTBOUND_ALLOW_HOSTS", "127.0.0.1")
    reset_settings()
    yield
    monkeypatch.delenv("OUTBOUND_ALLOW_HOSTS")
    reset_settings()


async def test_fetching_stores_each_missing_transcript_and_reports_each_failure(
    db: Database, server: str, feed_server: FeedServer, local_hosts_allowed: None
) -> None:
    tenant = make_tenant(server)
    tag = uuid.uuid4().hex[:8]
    urls = {
        "ep-vtt": feed_server.put(f"{tag}-episode.vtt", EPISODE_VTT),
        "ep-srt": feed_server.put(f"{tag}-episode.srt", EPISODE_SRT),
        "ep-html": feed_server.put(f"{tag}-page", b"<!DOCTYPE html><html><body>Moved!</body></html>"),
        "ep-404": feed_server.url(f"/live/{tag}-gone.vtt"),
        "ep-typed": feed_server.put(f"{tag}-typed.vtt", SHORT_VTT),
        "ep-none": None,
    }
    podcast_id, episodes = _import(
        tenant, feed_server.put(f"{tag}-feed", transcript_feed("Fetched", list(urls.items())))
    )
    with tenant.client() as api:
        assert _put(api, episodes["ep-typed"], b"Typed by hand.", "text/plain").status_code == 201
    subject = system_subject(uuid.UUID(tenant.id))
    progress: list[tuple[str, int, int]] = []

    outcomes = await transcript_fetch.fetch_missing(
        subject,
        podcast_id=uuid.UUID(podcast_id),
        on_progress=lambda o, done, total: progress.append((o.source.title, done, total)),
    )

    assert [outcome.source.title for outcome in outcomes] == ["ep-404", "ep-html", "ep-srt", "ep-vtt"]  # newest first
    found = {outcome.source.title: outcome for outcome in outcomes}
    assert (found["ep-vtt"].format, found["ep-vtt"].words, found["ep-vtt"].error) == ("vtt", 31, None)
    assert (found["ep-srt"].format, found["ep-srt"].words) == ("srt", 21)
    assert found["ep-html"].error == "the transcript is HTML or XML; podsponsor reads WebVTT, SRT and plain text"
    assert found["ep-404"].error == "the server answered 404 Not Found"
    assert sorted(done for _, done, _ in progress) == [1, 2, 3, 4] and {total for *_, total in progress} == {4}
    assert feed_server.hits(f"/live/{tag}-typed.vtt") == 0
    with tenant.client() as api:
        transcript = api.get(f"/api/v1/episodes/{episodes['ep-vtt']}/transcript").json()
        assert transcript["text"] == EPISODE_TEXT
        assert api.get(f"/api/v1/episodes/{episodes['ep-typed']}/transcript").json()["text"] == "Typed by hand."
        _problem(api.get(f"/api/v1/episodes/{episodes['ep-none']}/transcript"), 404, "not-found")
        events = api.get("/api/v1/events", params={"type": "episode.transcript_stored", "limit": 10}).json()["items"]
        assert sorted(e["payload"]["source"] for e in events) == ["feed", "feed", "upload"]

    again = await transcript_fetch.fetch_missing(subject, podcast_id=uuid.UUID(podcast_id))
    assert sorted(outcome.source.title for outcome in again) == ["ep-404", "ep-html"]
    assert feed_server.hits(f"/live/{tag}-episode.vtt") == 1
    newest = await transcript_fetch.fetch_missing(subject, limit=1)
    assert [outcome.source.title for outcome in newest] == ["ep-404"]


async def test_a_fetched_transcript_never_replaces_one_sent_meanwhile(
    db: Database, server: str, feed_server: FeedServer, local_hosts_allowed: None
) -> None:
    tenant = make_tenant(server)
    tag = uuid.uuid4().hex[:8]
    podcast_id, episodes = _import(
        tenant,
        feed_server.put(f"{tag}-feed", transcript_feed("Race", [("ep-1", feed_server.put(f"{tag}.vtt", SHORT_VTT))])),
    )
    subject = system_subject(uuid.UUID(tenant.id))
    [source] = await _sources(subject, podcast_id)
    with tenant.client() as api:
        _put(api, episodes["ep-1"], b"Sent by a person.", "text/plain")
        outcome = await transcript_fetch.fetch_one(subject, source)
        assert outcome.error == "a transcript was stored meanwhile; it was kept"
        assert api.get(f"/api/v1/episodes/{episodes['ep-1']}/transcript").json()["text"] == "Sent by a person."


async def _sources(subject: Subject, podcast_id: str) -> list[TranscriptSource]:
    async with tenant_transaction(subject.tenant_id) as session:
        return await service.transcripts_to_fetch(session, subject, uuid.UUID(podcast_id), None)


@pytest.fixture
def cli_env(database: DatabaseUrls) -> dict[str, str]:
    return {
        **os.environ,
        "XDG_RUNTIME_DIR": os.environ.get("XDG_RUNTIME_DIR", "/tmp"),
        "OUTBOUND_ALLOW_HOSTS": "127.0.0.1",
    }


def test_the_command_reports_each_episode_and_goes_on_past_failures(
    server: str, feed_server: FeedServer, cli_env: dict[str, str]
) -> None:
    tenant = make_tenant(server)
    tag = uuid.uuid4().hex[:8]
    items = [
        ("ep-gone", feed_server.url(f"/live/{tag}-gone.vtt")),
        ("ep-good", feed_server.put(f"{tag}.vtt", EPISODE_VTT)),
    ]
    podcast_id, _ = _import(tenant, feed_server.put(f"{tag}-feed", transcript_feed(f"CLI Show {tag}", items)))

    first = podsponsor("catalog", "fetch-transcripts", "--tenant", tenant.slug, env=cli_env)
    assert first.returncode == 1, first.stderr
    lines = first.stdout.splitlines()
    stored = rf"\[{tenant.slug} [12]/2\] CLI Show {tag} — ep-good: 31 words \(vtt\)"
    assert any(re.fullmatch(stored, line) for line in lines), first.stdout
    assert any(
        line.endswith(f"— ep-gone: failed: the server answered 404 Not Found ({items[0][1]})") for line in lines
    ), first.stdout
    assert lines[-1] == "1 transcript(s) stored, 1 failed."

    # Every workspace, narrowed to the show: only the failed episode is tried again.
    again = podsponsor("catalog", "fetch-transcripts", "--podcast", podcast_id, "--limit", "5", env=cli_env)
    assert again.returncode == 1, again.stderr
    assert again.stdout.splitlines()[-1] == "0 transcript(s) stored, 1 failed.", again.stdout
    assert feed_server.hits(f"/live/{tag}.vtt") == 1

    unknown = podsponsor("catalog", "fetch-transcripts", "--podcast", str(uuid.uuid4()), env=cli_env)
    assert unknown.returncode == 1 and "no show has the id" in unknown.stderr
    nowhere = podsponsor("catalog", "fetch-transcripts", "--tenant", "no-such-workspace", env=cli_env)
    assert nowhere.returncode == 1 and "no workspace has the slug 'no-such-workspace'" in nowhere.stderr
