"""The corpus of bad files: each answers 422 with its own errors (row, column, value, reason), never a 5xx, and
writes nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.metrics.conftest import CANONICAL_HEADER, Show, canonical, daily, errors_of, upload

Build = Callable[[Show], bytes]
NOT_CANONICAL = "not a column of the canonical format"


def _row(show: Show, day: str = "2026-08-01", episode: int = 0, **cells: object) -> tuple[object, ...]:
    values = {
        "downloads": 10,
        "listeners": 8,
        "completion_rate": 0.5,
        "ctr": 0.1,
        "conversions": 0,
        "revenue_cents": 0,
        **cells,
    }
    return (day, show.episode(episode)["id"], "corpus", *values.values())


CORPUS: dict[str, tuple[Build, list[tuple[object, object, object, str]]]] = {
    "data where the header should be": (
        lambda s: canonical([_row(s)], header=",".join(map(str, _row(s, day="2026-07-31")))),
        [
            (
                1,
                "2026-07-31",
                "2026-07-31",
                "the first row looks like data, not a header: add a header row (day,episode_id,source,downloads,…)",
            )
        ],
    ),
    "a header nobody exports": (
        lambda s: b"foo,bar,baz\n1,2,3\n",
        [
            (1, None, None, "no column holds the day: map one"),
            (1, None, None, "no column holds the episode (id, GUID or title): map one"),
            (1, None, None, "no column holds at least one number (downloads, listeners, …): map one"),
            (1, None, None, "no column holds the source (a column, or the source label of the import): map one"),
        ],
    ),
    "a missing column": (
        lambda s: canonical([_row(s)[:6] + _row(s)[7:]], header=CANONICAL_HEADER.replace(",ctr", "")),
        [(1, "ctr", "ctr", "missing column (leave its cells empty when you have no numbers for it)")],
    ),
    "an extra column": (
        lambda s: canonical([(*_row(s), "x")], header=CANONICAL_HEADER + ",notes"),
        [(1, "notes", "notes", NOT_CANONICAL)],
    ),
    "bad types": (
        lambda s: canonical(
            [_row(s, downloads="many"), _row(s, day="2026-13-01"), _row(s, day="08/02/2026", completion_rate="half")]
        ),
        [
            (2, "downloads", "many", "not a number"),
            (3, "day", "2026-13-01", "no such date (month must be in 1..12)"),
            (4, "completion_rate", "half", "not a number or percentage"),
        ],
    ),
    "negative numbers": (
        lambda s: canonical([_row(s, listeners=-1), _row(s, day="2026-08-02", revenue_cents="-$4.00")]),
        [(2, "listeners", "-1", "must be 0 or more"), (3, "revenue_cents", "-$4.00", "must be 0 or more")],
    ),
    "rates over one": (
        lambda s: canonical([_row(s, ctr=1.5), _row(s, day="2026-08-02", completion_rate="120%")]),
        [
            (2, "ctr", "1.5", "must be between 0 and 1"),
            (3, "completion_rate", "120%", "must be between 0 and 1 (0 % to 100 %)"),
        ],
    ),
    "unknown episodes": (
        lambda s: canonical(
            [
                ("2026-08-01", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "corpus", 1, 1, 0, 0, 0, 0),
                ("2026-08-01", "", "corpus", 1, 1, 0, 0, 0, 0),
            ]
        ),
        [
            (2, "episode_id", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "no episode has this id or GUID"),
            (3, "episode_id", "", "empty: every row needs its episode"),
        ],
    ),
    "the same key twice": (
        lambda s: canonical([_row(s), _row(s, day="2026-08-02"), _row(s, downloads=11)]),
        [(4, "day", "2026-08-01", "the same day, episode and source as row 2 (corpus)")],
    ),
    "an empty file": (lambda s: b"", [(1, None, None, "the file is empty")]),
    "a header only": (lambda s: canonical([]), [(2, None, None, "the file has a header but no data rows")]),
    "a 1 MB line": (
        lambda s: canonical([_row(s), (*_row(s, day="2026-08-02")[:2], "x" * 1_000_000, *_row(s)[3:])]),
        [(3, None, None, "a cell is longer than 131,072 characters")],
    ),
    "a 1 MB line of commas": (
        lambda s: canonical([_row(s)]) + b"," * 1_000_000 + b"1\n",
        [(3, None, None, "expected 9 columns, found 1000001")],
    ),
    "not UTF-8": (
        lambda s: canonical([_row(s)]) + "2026-08-02,Caf\u00e9,corpus,1,1,0,0,0,0\n".encode("latin-1"),
        [(3, None, None, "not UTF-8 text (byte 0xE9): save the file as 'CSV UTF-8' and upload it again")],
    ),
    "a source counting owns": (
        lambda s: canonical([_row(s), (*_row(s, day="2026-08-02")[:2], "Prefix", *_row(s)[3:])]),
        [
            (
                3,
                "source",
                "Prefix",
                "'prefix' is reserved for the downloads podsponsor counts itself; name the platform instead",
            )
        ],
    ),
    "a short row": (
        lambda s: canonical([_row(s), _row(s, day="2026-08-02")[:8]]),
        [(3, None, None, "expected 9 columns, found 8")],
    ),
}


@pytest.mark.parametrize("case", CORPUS, ids=list(CORPUS))
def test_each_bad_file_names_its_errors_and_imports_nothing(show: Show, case: str) -> None:
    build, expected = CORPUS[case]
    with show.tenant.client("creator") as api:
        response = upload(api, build(show), name=f"{case}.csv")
        assert errors_of(response) == expected
        assert response.json()["error_count"] == len(expected)
        assert api.get(f"/api/v1/etl/status/{response.json()['import_id']}").json()["status"] == "failed"
        assert daily(api, source="corpus") == []


def test_an_unknown_title_suggests_the_closest_one(show: Show) -> None:
    content = b"Date,Episode,Plays\n2026-08-01,Mony Talks,12\n2026-08-01,Completely Different,3\n"
    with show.tenant.client() as api:
        response = upload(api, content, name=f"titles-{uuid.uuid4().hex}.csv")
        assert errors_of(response) == [
            (2, "Episode", "Mony Talks", "no episode has this title"),
            (3, "Episode", "Completely Different", "no episode has this title"),
        ]
        assert response.json()["errors"][0]["suggestion"] == "did you mean 'Money Talks'?"
        assert "suggestion" not in response.json()["errors"][1]


def test_a_bad_request_names_the_field(show: Show) -> None:
    with show.tenant.client() as api:
        wrong_preset = upload(api, canonical([]), preset="excel")
        assert wrong_preset.status_code == 422 and wrong_preset.json()["errors"][0]["field"] == "preset"
        wrong_mapping = upload(api, canonical([]), mapping="{not json")
        assert wrong_mapping.json()["errors"][0]["field"] == "mapping"
        unknown_field = upload(api, canonical([]), mapping='{"plays": "Plays"}')
        assert "unknown field(s) plays" in unknown_field.json()["errors"][0]["reason"]
        no_file = api.post("/api/v1/etl/upload", data={"preset": "canonical"}, files={"other": ("x", b"1")})
        assert no_file.status_code == 422 and no_file.json()["errors"][0]["field"] == "other"
        not_multipart = api.post("/api/v1/etl/upload", content=b"day\n", headers={"content-type": "text/csv"})
        assert not_multipart.status_code == 422 and not_multipart.json()["errors"][0]["field"] == "file"
