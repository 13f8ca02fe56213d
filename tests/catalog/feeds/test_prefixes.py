"""Measurement prefixes in enclosure URLs, built the way each service documents them, unwrap to the media file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from podsponsor.catalog.feeds import default_prefixes, load_prefixes, unwrap

MEDIA = "traffic.libsyn.com/secure/show/episode-12.mp3?dest-id=814653"


@pytest.mark.parametrize(
    ("url", "destination", "names"),
    [
        (f"https://dts.podtrac.com/redirect.mp3/{MEDIA}", f"https://{MEDIA}", ("Podtrac",)),
        (f"https://www.podtrac.com/pts/redirect.mp3/{MEDIA}", f"https://{MEDIA}", ("Podtrac",)),
        (f"https://play.podtrac.com/npr-510289/{MEDIA}", f"https://{MEDIA}", ("Podtrac",)),
        (f"https://chrt.fm/track/G481GD/{MEDIA}", f"https://{MEDIA}", ("Chartable",)),
        (f"https://chtbl.com/track/G481GD/{MEDIA}", f"https://{MEDIA}", ("Chartable",)),
        (f"https://op3.dev/e/{MEDIA}", f"https://{MEDIA}", ("OP3",)),
        (f"https://op3.dev/e,pg=ead4c236-bf58-58c6-a2c6-a6b28d128cb6/{MEDIA}", f"https://{MEDIA}", ("OP3",)),
        (f"https://op3.dev/e/https://{MEDIA}", f"https://{MEDIA}", ("OP3",)),
        (f"https://pdst.fm/e/{MEDIA}", f"https://{MEDIA}", ("Podsights",)),
        (f"https://prfx.byspotify.com/e/{MEDIA}", f"https://{MEDIA}", ("Spotify",)),
        (f"https://verifi.podscribe.com/rss/p/{MEDIA}", f"https://{MEDIA}", ("Podscribe",)),
        (f"https://pscrb.fm/rss/p/{MEDIA}", f"https://{MEDIA}", ("Podscribe",)),
        (f"https://mgln.ai/e/31/{MEDIA}", f"https://{MEDIA}", ("Magellan AI",)),
        (f"https://media.blubrry.com/hiddenbrain/{MEDIA}", f"https://{MEDIA}", ("Blubrry",)),
        (f"https://arttrk.com/p/ABCD1/{MEDIA}", f"https://{MEDIA}", ("ArtsAI",)),
        (f"https://clrtpod.com/m/{MEDIA}", f"https://{MEDIA}", ("Claritas",)),
        (f"https://pdcn.co/e/{MEDIA}", f"https://{MEDIA}", ("Podcorn",)),
        (f"https://x7k2.gum.fm/{MEDIA}", f"https://{MEDIA}", ("Gumshoe",)),
        (f"http://dts.podtrac.com/redirect.mp3/{MEDIA}", f"https://{MEDIA}", ("Podtrac",)),
        ("http://dts.podtrac.com/redirect.mp3/203.0.113.9/ep.mp3", "http://203.0.113.9/ep.mp3", ("Podtrac",)),
        (
            "http://chrt.fm/track/X/media.example.com:8000/ep.mp3",
            "http://media.example.com:8000/ep.mp3",
            ("Chartable",),
        ),
        ("https://chrt.fm/track/X/203.0.113.9/ep.mp3", "https://203.0.113.9/ep.mp3", ("Chartable",)),
        (f"https://op3.dev/e/http://{MEDIA}", f"http://{MEDIA}", ("OP3",)),
    ],
)
def test_single_prefixes_unwrap_to_the_media_file(url: str, destination: str, names: tuple[str, ...]) -> None:
    unwrapped = unwrap(url)
    assert (unwrapped.url, unwrapped.destination, unwrapped.prefixes) == (url, destination, names)


def test_nested_prefixes_unwrap_fully_and_are_recorded_outermost_first() -> None:
    url = (
        "https://dts.podtrac.com/redirect.mp3/chrt.fm/track/G481GD/"
        f"op3.dev/e,pg=ead4c236-bf58-58c6-a2c6-a6b28d128cb6/pdst.fm/e/{MEDIA}"
    )
    unwrapped = unwrap(url)
    assert unwrapped.destination == f"https://{MEDIA}"
    assert unwrapped.prefixes == ("Podtrac", "Chartable", "OP3", "Podsights")


def test_an_unknown_outer_redirect_does_not_hide_a_known_prefix_inside() -> None:
    unwrapped = unwrap(f"https://redirect.example.net/r/chrt.fm/track/X/{MEDIA}")
    assert (unwrapped.destination, unwrapped.prefixes) == (f"https://{MEDIA}", ("Chartable",))


@pytest.mark.parametrize(
    "url",
    [
        f"https://{MEDIA}",
        "https://op3.dev/",
        "https://media.blubrry.com/show/episode.mp3",
        "https://cdn.example.com/chrt.fm/archive.mp3",
        "ftp://dts.podtrac.com/redirect.mp3/example.com/a.mp3",
    ],
)
def test_urls_without_a_wrapped_destination_are_left_alone(url: str) -> None:
    unwrapped = unwrap(url)
    assert (unwrapped.destination, unwrapped.prefixes) == (url, ())


def test_the_packaged_list_is_the_opawg_list() -> None:
    packaged = default_prefixes()
    assert len(packaged) == 29
    names = {prefix.name for prefix in packaged.prefixes}
    assert {"Podtrac", "Chartable", "OP3", "Podscribe", "Spotify", "Magellan AI", "Blubrry", "Podsights"} <= names


def test_an_override_list_replaces_the_packaged_one(tmp_path: Path) -> None:
    path = tmp_path / "prefixes.json"
    path.write_text(json.dumps([{"prefixpattern": "track.example.org/t", "prefixname": "Example Tracker"}]))
    custom = load_prefixes(path)
    url = f"https://track.example.org/t/abc/chrt.fm/track/X/{MEDIA}"
    unwrapped = unwrap(url, custom)
    assert (unwrapped.destination, unwrapped.prefixes) == (f"https://chrt.fm/track/X/{MEDIA}", ("Example Tracker",))


def test_an_override_file_that_is_not_a_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prefixes.json"
    path.write_text('{"prefixpattern": "x"}')
    with pytest.raises(ValueError, match="JSON array"):
        load_prefixes(path)
