"""Importing a canonical file over HTTP: numbers land in metrics_daily, a re-import is a no-op, a corrected file
upserts, one bad row in ten thousand writes nothing."""

from __future__ import annotations

import uuid

from tests.factories.identity import Tenant
from tests.metrics.conftest import API, Show, canonical, daily, errors_of, make_show, upload


def test_a_canonical_file_imports_and_its_numbers_are_readable(show: Show) -> None:
    first, second = show.episode(0)["id"], show.episode(1)["id"]
    content = canonical(
        [
            ("2026-08-02", first, "hosting", 120, 100, 0.61, 0.02, 3, 1234),
            ("2026-08-01", first, "hosting", 100, 90, 0.5, "", 1, 0),
            ("2026-08-01", second, "hosting", 40, "", "", "", "", ""),
        ]
    )
    with show.tenant.client("ops") as api:
        response = upload(api, content, name="august.csv")
        assert response.status_code == 201, response.text
        done = response.json()
        assert done["status"] == "completed"
        assert (done["format"], done["source"], done["file_name"]) == ("canonical", "hosting", "august.csv")
        assert (done["rows_total"], done["rows_imported"], done["rows_inserted"], done["rows_updated"]) == (3, 3, 3, 0)
        assert done["progress"] == 1 and done["error_count"] == 0 and done["errors"] == []
        assert done["last_sync_watermark"] == "2026-08-02"
        assert done["duration_ms"] is not None and done["finished_at"]
        rows = daily(api, episode_id=first, source="hosting")
        assert [(r["day"], r["downloads"], r["completion_rate"], r["ctr"], r["revenue_cents"]) for r in rows] == [
            ("2026-08-02", 120, 0.61, 0.02, 1234),
            ("2026-08-01", 100, 0.5, None, 0),
        ]
        assert rows[0]["podcast_id"] == show.podcast_id and rows[0]["import_id"] == done["id"]
        totals = api.get(
            "/api/v1/metrics/daily/totals",
            params={"podcast_id": show.podcast_id, "source": "hosting", "from": "2026-08-01", "to": "2026-08-02"},
        )
        assert totals.status_code == 200, totals.text
        assert [(t["day"], t["downloads"], t["rows"]) for t in totals.json()] == [
            ("2026-08-01", 140, 2),
            ("2026-08-02", 120, 1),
        ]
        assert api.get(f"{API}/status/{done['id']}").json()["rows_inserted"] == 3
        history = api.get(f"{API}/history").json()
        assert history["items"][0]["id"] == done["id"] and "errors" not in history["items"][0]
    with show.tenant.client() as owner:
        kinds = [
            e["type"] for e in owner.get("/api/v1/events", params={"type": "etl.import_completed"}).json()["items"]
        ]
        assert "etl.import_completed" in kinds


def test_the_same_file_again_is_a_reported_no_op(network: Tenant) -> None:
    show = make_show(network, ["Again"], show_title="Repeat Show")
    content = canonical([("2026-08-03", show.episode(0)["id"], "hosting", 5, 4, 0.5, 0.1, 0, 0)])
    with network.client() as api:
        first = upload(api, content)
        assert first.status_code == 201, first.text
        before = daily(api, episode_id=show.episode(0)["id"])
        again = upload(api, content, name="renamed.csv")
        assert again.status_code == 200, again.text
        body = again.json()
        assert (body["duplicate_of"], body["status"], body["rows_inserted"]) == (first.json()["id"], "completed", 0)
        assert daily(api, episode_id=show.episode(0)["id"]) == before
        assert before[0]["import_id"] == first.json()["id"]


def test_a_corrected_file_updates_the_rows_it_repeats_and_adds_new_ones(network: Tenant) -> None:
    show = make_show(network, ["Fix Me"], show_title="Correction Show")
    episode = show.episode(0)["id"]
    with network.client() as api:
        assert upload(api, canonical([("2026-08-04", episode, "hosting", 10, 9, 0.5, 0.1, 1, 100)])).status_code == 201
        fixed = upload(
            api,
            canonical(
                [
                    ("2026-08-04", episode, "hosting", 11, 9, 0.5, 0.1, 1, 100),
                    ("2026-08-05", episode, "hosting", 7, 6, 0.4, 0.1, 0, 0),
                ]
            ),
        )
        assert fixed.status_code == 201, fixed.text
        assert (fixed.json()["rows_inserted"], fixed.json()["rows_updated"]) == (1, 1)
        assert [(r["day"], r["downloads"]) for r in daily(api, episode_id=episode)] == [
            ("2026-08-05", 7),
            ("2026-08-04", 11),
        ]


def test_one_bad_row_in_ten_thousand_writes_nothing(network: Tenant) -> None:
    show = make_show(network, ["Big One", "Big Two"], show_title="All Or Nothing")
    ids = [e["id"] for e in show.episodes]
    rows = [
        (f"2025-{1 + n // 2 // 28 % 12:02d}-{1 + n // 2 % 28:02d}", ids[n % 2], f"s{n // 672}", n, n, 0.5, 0.1, 0, 0)
        for n in range(10_000)
    ]
    rows[7_777] = (*rows[7_777][:3], -5, *rows[7_777][4:])
    with network.client() as api:
        response = upload(api, canonical(rows))
        assert errors_of(response) == [(7_779, "downloads", "-5", "must be 0 or more")]
        problem = response.json()
        assert problem["error_count"] == 1 and problem["status"] == 422
        assert daily(api, podcast_id=show.podcast_id) == []
        failed = api.get(f"{API}/status/{problem['import_id']}").json()
        assert (failed["status"], failed["rows_total"], failed["rows_imported"]) == ("failed", 10_000, 0)
        assert failed["errors"][0]["row"] == 7_779
        good = upload(api, canonical(rows[:7_777] + rows[7_778:]))
        assert good.status_code == 201, good.text
        assert good.json()["rows_inserted"] == 9_999
    with network.client() as owner:
        errors = owner.get("/api/v1/events", params={"type": "etl.error"}).json()["items"]
        assert any(e["subject_id"] == problem["import_id"] for e in errors)


def test_every_error_is_counted_and_the_first_thousand_kept(network: Tenant) -> None:
    show = make_show(network, ["Many Errors"], show_title="Error Show")
    rows = [(f"2026-05-{1 + n % 28:02d}", show.episode(0)["id"], f"s{n}", "x", 0, 0, 0, 0, 0) for n in range(1_500)]
    with network.client() as api:
        response = upload(api, canonical(rows))
        assert response.status_code == 422
        assert response.json()["error_count"] == 1_500
        assert len(response.json()["errors"]) == 1_000
        assert response.json()["errors"][-1]["row"] == 1_001


def test_csv_injection_cells_are_stored_as_data(network: Tenant) -> None:
    show = make_show(network, ["Injected"], show_title="Injection Show")
    episode = show.episode(0)["id"]
    cells = ["=1+2", "@sum(a1)", "+cmd|' /c calc'!a0", "-2+3"]
    content = canonical(
        [(f"2026-08-0{n + 1}", episode, f'"{cell}"', 1, 1, 0.1, 0.1, 0, 0) for n, cell in enumerate(cells)]
    )
    with network.client() as api:
        response = upload(api, content)
        assert response.status_code == 201, response.text
        assert sorted(r["source"] for r in daily(api, episode_id=episode)) == sorted(cells)


def test_the_flag_off_hides_every_route(network: Tenant, show: Show) -> None:
    with network.client() as owner:
        assert owner.put("/api/v1/feature-flags/ENABLE_ETL_CSV_UPLOAD", json={"enabled": False}).status_code == 200
        try:
            assert upload(owner, canonical([])).status_code == 404
            assert owner.get(f"{API}/history").status_code == 404
            assert owner.get(f"{API}/status/{uuid.uuid4()}").status_code == 404
            assert owner.get("/api/v1/metrics/daily").status_code == 404
            assert owner.post(f"{API}/import-url", json={"url": "https://example.com/a.csv"}).status_code == 404
        finally:
            owner.put("/api/v1/feature-flags/ENABLE_ETL_CSV_UPLOAD", json={"enabled": None})
        assert owner.get(f"{API}/history").status_code == 200
