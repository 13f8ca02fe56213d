"""Files the way platforms and spreadsheets write them, imported end to end: episodes matched by id, GUID or title
and release date; BOM, semicolons, US and spelled-out dates, thousands separators, percentages and total rows."""

from __future__ import annotations

import pytest

from tests.factories.identity import Tenant
from tests.metrics.conftest import Show, daily, errors_of, make_show, upload

TITLES = ["Pilot", "The Second One", "Money Talks", "Ask Me Anything"]


@pytest.fixture(scope="module")
def shows(network: Tenant) -> dict[str, Show]:
    """One show per format; titles repeat across shows only where the file names the show."""
    return {
        name: make_show(network, [f"{prefix}{title}" for title in TITLES], show_title=f"{name} show")
        for name, prefix in (("spotify", "S: "), ("apple", ""), ("youtube", "Y: "), ("megaphone", ""), ("tolerant", ""))
    }


def _numbers(api, show: Show, source: str) -> list[tuple[str, str, int | None, int | None, float | None]]:
    titles = {e["id"]: e["title"] for e in show.episodes}
    rows = daily(api, podcast_id=show.podcast_id, source=source)
    return sorted(
        (r["day"], titles[r["episode_id"]], r["downloads"], r["listeners"], r["completion_rate"]) for r in rows
    )


def test_a_spotify_export_matches_episodes_by_title_and_release_date(network: Tenant, shows: dict[str, Show]) -> None:
    content = (
        b"Date,Episode,Release date,Plays,Consumption hours,Followers\n"
        b"2026-08-01,S: Pilot,2026-06-01,1289,12.5,40\n"
        b'2026-08-01,"S: The Second One",Jun 8 2026,"2,001",3.0,40\n'
    )
    with network.client() as api:
        response = upload(api, content, name="spotify.csv")
        assert response.status_code == 201, response.text
        assert (response.json()["format"], response.json()["source"]) == ("spotify", "spotify")
        assert _numbers(api, shows["spotify"], "spotify") == [
            ("2026-08-01", "S: Pilot", 1289, None, None),
            ("2026-08-01", "S: The Second One", 2001, None, None),
        ]


def test_the_release_date_must_agree_with_the_catalog(network: Tenant, shows: dict[str, Show]) -> None:
    content = b"Date,Episode,Release date,Plays\n2026-08-02,S: Pilot,2026-03-01,5\n"
    with network.client() as api:
        response = upload(api, content, name="spotify-wrong-date.csv")
        assert errors_of(response) == [
            (2, "Episode", "S: Pilot", "no episode with this title was released on 2026-03-01")
        ]
        assert response.json()["errors"][0]["suggestion"].startswith("the catalog has it released on 2026-06-01")


def test_an_apple_export_caps_repeat_listening_and_reads_percentages(network: Tenant, shows: dict[str, Show]) -> None:
    content = (
        b"Date,Show,Episode,Listeners,Engaged Listeners,Plays,Time Listened,Average Consumption\n"
        b"8/3/2026,apple show,Money Talks,310,200,400,10h 3m,104%\n"
        b"8/3/2026,apple show,Ask Me Anything,50,20,60,1h 2m,45.5%\n"
    )
    with network.client() as api:
        response = upload(api, content, name="apple.csv")
        assert response.status_code == 201, response.text
        assert response.json()["format"] == "apple"
        assert _numbers(api, shows["apple"], "apple") == [
            ("2026-08-03", "Ask Me Anything", 60, 50, 0.455),
            ("2026-08-03", "Money Talks", 400, 310, 1.0),
        ]


def test_a_youtube_studio_export_skips_its_total_row(network: Tenant, shows: dict[str, Show]) -> None:
    content = (
        "\ufeffDate,Content,Video title,Video publish time,Duration,Views,Average percentage viewed (%),"
        "Impressions click-through rate (%),Estimated revenue (USD)\n"
        "Total,,,,,1500,40.1,5.2,13.00\n"
        '2026-08-05,dQw4w9WgXcQ,Y: Pilot,"Jun 1, 2026",1800,1000,42.25,6.1,$10.50\n'
        '2026-08-04,dQw4w9WgXcQ,Y: Pilot,"Jun 1, 2026",1800,500,36.0,4.0,2.5\n'
    ).encode()
    with network.client() as api:
        response = upload(api, content, name="Chart data.csv")
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["format"], body["rows_total"], body["rows_skipped"], body["rows_imported"]) == ("youtube", 3, 1, 2)
        rows = daily(api, podcast_id=shows["youtube"].podcast_id, source="youtube")
        assert [(r["day"], r["downloads"], r["completion_rate"], r["ctr"], r["revenue_cents"]) for r in rows] == [
            ("2026-08-05", 1000, 0.4225, 0.061, 1050),
            ("2026-08-04", 500, 0.36, 0.04, 250),
        ]


def test_a_megaphone_export_matches_episodes_by_guid(network: Tenant, shows: dict[str, Show]) -> None:
    show = shows["megaphone"]
    guid = show.episode(2)["guid"]
    content = (
        "Date,Podcast,Episode,Episode ID,Published,Downloads,Unique Listeners\n"
        f"2026-08-06,megaphone show,Renamed On Megaphone,{guid},2026-06-15,77,70\n"
    ).encode()
    with network.client() as api:
        response = upload(api, content, name="megaphone.csv", source="Megaphone EU")
        assert response.status_code == 201, response.text
        assert response.json()["source"] == "megaphone eu"
        assert _numbers(api, show, "megaphone eu") == [("2026-08-06", "Money Talks", 77, 70, None)]


def test_a_title_in_several_shows_needs_the_show(network: Tenant, shows: dict[str, Show]) -> None:
    content = b"Date,Episode,Plays\n2026-08-02,Money Talks,5\n"
    with network.client() as api:
        response = upload(api, content, name="ambiguous.csv")
        assert errors_of(response) == [(2, "Episode", "Money Talks", "several episodes have this title")]


def test_a_spreadsheet_file_with_every_tolerated_quirk(network: Tenant, shows: dict[str, Show]) -> None:
    show = shows["tolerant"]
    one, two = show.episode(0)["id"], show.episode(1)["id"]
    content = (
        "\ufeffday;episode_id;source;downloads;listeners;completion_rate;ctr;conversions;revenue_cents\r\n"
        f"Aug 13, 2026;{one.upper()};Hosting;1,289;627.0;18%;0.02;3;$12.34\r\n"
        f"8/11/2026;{two};hosting;12;10;0,5;;0;100\r\n"
        "\r\n"
        f"2026-08-12;{one};hosting;3;3;1;0;0;0\r\n"
        "Total;;;1304;640;;;;\r\n"
    ).encode()
    with network.client() as api:
        response = upload(api, content, name="quirks.csv")
        assert response.status_code == 201, response.text
        assert (response.json()["rows_imported"], response.json()["rows_skipped"]) == (3, 2)
        assert _numbers(api, show, "hosting") == [
            ("2026-08-11", "The Second One", 12, 10, 0.5),
            ("2026-08-12", "Pilot", 3, 3, 1.0),
            ("2026-08-13", "Pilot", 1289, 627, 0.18),
        ]
        assert daily(api, episode_id=one, source="hosting", **{"from": "2026-08-13"})[0]["revenue_cents"] == 1234


def test_a_generic_file_imports_with_a_mapping(network: Tenant) -> None:
    show = make_show(network, ["Mapped Episode"], show_title="Mapped show")
    content = b"When,Which,How many\n2026-08-07,Mapped Episode,9\n"
    with network.client() as api:
        unmapped = upload(api, content, name="mine.csv")
        assert unmapped.status_code == 422
        mapping = '{"day": "When", "episode_title": "Which", "downloads": "How many"}'
        response = upload(api, content, name="mine-mapped.csv", mapping=mapping, source="my host")
        assert response.status_code == 201, response.text
        assert response.json()["format"] == "generic"
        assert [(r["day"], r["downloads"], r["source"]) for r in daily(api, podcast_id=show.podcast_id)] == [
            ("2026-08-07", 9, "my host")
        ]
