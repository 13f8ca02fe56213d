"""PostgreSQL text cannot hold U+0000: input carrying it is refused as invalid (422), never a server error."""

from __future__ import annotations

from tests.bookings.booking_world import problem
from tests.factories.identity import make_tenant


def test_nul_in_a_query_or_a_body_is_a_422(server: str) -> None:
    owner = make_tenant(server).client()
    for response in (
        owner.get("/api/v1/sponsors", params={"q": "a\x00b"}),
        owner.get("/api/v1/podcasts", params={"q": "\x00"}),
        owner.post("/api/v1/sponsors", json={"name": "Nul\u0000Co", "industry": "software"}),
    ):
        body = problem(response, 422, "validation-error")
        assert "NUL" in body["detail"]
    # Nothing half-written, and the workspace still answers.
    assert owner.get("/api/v1/sponsors").json()["total"] == 0
