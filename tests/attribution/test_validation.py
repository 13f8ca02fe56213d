"""Validation and lift: the figures on constructed data (promo-code truth where household matching is perfect and
where it is absent, a seeded holdout, a known 2x effect), then over REST on a campaign in the database: promo-code
and holdout validations stored and listed, the lift, and who may do what."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import polars as pl
import pytest

from podsponsor.attribution.validation import Holdout, held_out, holdout_check, lift_of, promo_code_check
from podsponsor.db.engine import Database
from podsponsor.errors import ValidationFailed
from tests.attribution.engine_world import recalc
from tests.attribution.validation_world import ValidationWorld, validation_world
from tests.factories.identity import Tenant, make_tenant

TRUTH = {"conversion_id": pl.Utf8(), "household": pl.Utf8(), "io_id": pl.Utf8()}
CREDIT = {"conversion_id": pl.Utf8(), "io_id": pl.Utf8(), "credit": pl.Float64()}


def _truth(n: int, io: str = "io-a") -> pl.DataFrame:
    return pl.DataFrame([(f"c{i}", f"h{i}", io) for i in range(n)], schema=TRUTH, orient="row")


def test_promo_truth_where_household_matching_is_perfect_scores_one_with_a_tight_interval() -> None:
    credited = pl.DataFrame([(f"c{i}", "io-a", 1.0) for i in range(40)], schema=CREDIT, orient="row")
    found = promo_code_check(_truth(40), credited)
    assert (found.sample_size, found.predicted, found.actual) == (40, 1.0, 1.0)
    assert (found.accuracy.value, found.accuracy.low, found.accuracy.high) == (1.0, 1.0, 1.0)


def test_promo_truth_without_household_matches_or_on_the_wrong_order_scores_zero() -> None:
    wrong = pl.DataFrame([(f"c{i}", "io-b", 1.0) for i in range(20)], schema=CREDIT, orient="row")
    for credited in (pl.DataFrame(schema=CREDIT), wrong):
        found = promo_code_check(_truth(40), credited)
        assert (found.predicted, found.accuracy.value, found.accuracy.low, found.accuracy.high) == (0, 0, 0, 0)


def test_promo_truth_half_right_has_an_interval_around_a_half_and_counts_households_once() -> None:
    # 100 households, each with two confirmed conversions, half of the households credited to the right order
    truth = pl.DataFrame(
        [(f"c{i}-{k}", f"h{i}", "io-a") for i in range(100) for k in range(2)], schema=TRUTH, orient="row"
    )
    credited = pl.DataFrame(
        [(f"c{i}-{k}", "io-a" if i % 2 else "io-b", 1.0) for i in range(100) for k in range(2)],
        schema=CREDIT,
        orient="row",
    )
    found = promo_code_check(truth, credited)
    assert found.accuracy.value == pytest.approx(0.5) and found.details["households"] == 100
    assert found.accuracy.low is not None and found.accuracy.high is not None
    assert 0.35 < found.accuracy.low < 0.5 < found.accuracy.high < 0.65
    with pytest.raises(ValidationFailed):
        promo_code_check(_truth(0), credited)


def test_the_holdout_is_reproducible_with_its_seed() -> None:
    exposed = [f"h{i:03}" for i in range(200)]
    first = held_out(exposed, Holdout(fraction=0.25, seed=7))
    assert len(first) == 50 and set(first) <= set(exposed)
    assert held_out(list(reversed(exposed)), Holdout(fraction=0.25, seed=7)) == first
    assert held_out(exposed, Holdout(fraction=0.25, seed=8)) != first
    assert held_out(exposed, Holdout(households=["h001", "nobody", "h002"])) == ["h001", "h002"]

    attributed = {h: 1.0 for h in exposed[::4]}  # one in four households converts
    once = holdout_check(exposed, attributed, first, seed=7)
    again = holdout_check(exposed, attributed, held_out(exposed, Holdout(fraction=0.25, seed=7)), seed=7)
    assert once == again
    assert once.actual == sum(attributed.get(h, 0.0) for h in first)
    assert once.predicted == pytest.approx(sum(attributed.get(h, 0.0) for h in exposed if h not in first) / 150 * 50)


def test_a_holdout_whose_rate_matches_the_others_is_accurate() -> None:
    exposed = [f"h{i}" for i in range(100)]
    attributed = {h: 1.0 for i, h in enumerate(exposed) if i % 5 == 0}  # 20 %, in and out of the holdout
    holdout = [h for i, h in enumerate(exposed) if i < 50]
    found = holdout_check(exposed, attributed, holdout)
    assert (found.predicted, found.actual, found.accuracy.value) == (10.0, 10.0, 1.0)
    assert found.accuracy.low is not None and found.accuracy.low < 1.0 == found.accuracy.high
    with pytest.raises(ValidationFailed):
        holdout_check(exposed, {}, holdout)  # nothing observed to compare with


def _households(rows: list[tuple[str, str, bool, int, int]]) -> pl.DataFrame:
    """(country, family, exposed, households, converting) → one row per household."""
    out = []
    for country, family, exposed, n, converting in rows:
        out += [(country, family, exposed, i < converting) for i in range(n)]
    return pl.DataFrame(out, schema=["country", "family", "exposed", "converted"], orient="row")


def test_exposed_households_converting_twice_as_often_give_a_lift_of_one() -> None:
    found = lift_of(_households([("US", "iOS", True, 2000, 200), ("US", "iOS", False, 4000, 200)]))
    assert found.lift.value == pytest.approx(1.0)
    assert found.lift.low is not None and found.lift.high is not None
    assert 0.6 < found.lift.low < 1.0 < found.lift.high < 1.5
    assert (found.exposed_rate, found.unexposed_rate, found.coverage) == (0.1, 0.05, 1.0)


def test_unexposed_households_are_reweighted_to_the_exposed_mix_of_strata() -> None:
    # Within each stratum the ad doubles the rate; the unexposed are mostly Android, where everyone converts less.
    found = lift_of(
        _households(
            [
                ("US", "iOS", True, 900, 180),
                ("US", "iOS", False, 100, 10),
                ("US", "Android", True, 100, 4),
                ("US", "Android", False, 900, 18),
                ("DE", "iOS", True, 50, 5),  # no unexposed household to match: left out
            ]
        )
    )
    assert found.lift.value == pytest.approx(1.0)
    assert found.coverage == pytest.approx(1000 / 1050)
    naive = (184 / 1000) / (28 / 1000) - 1
    assert naive > 5  # what comparing unmatched households would have claimed
    assert lift_of(_households([("US", "iOS", True, 10, 1)])).lift.value is None


# Over REST --------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tenant(server: str) -> Tenant:
    return make_tenant(server, roles=("owner", "sales", "creator", "advertiser"))


@pytest.fixture(scope="module")
async def world(tenant: Tenant, db: Database) -> ValidationWorld:
    found = await validation_world(uuid.UUID(tenant.id))
    await recalc(found.tenant, found.campaign)
    return found


def _post(api: httpx.Client, body: dict[str, Any], status: int = 201) -> Any:
    response = api.post("/api/v1/attribution/validate", json=body)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_promo_code_validation_is_stored_and_listed(tenant: Tenant, world: ValidationWorld) -> None:
    body = {"campaign_id": str(world.campaign), "model": "linear", "ground_truth": "promo_code"}
    with tenant.client("sales") as api:
        found = _post(api, body)
        listed = api.get(f"/api/v1/attribution/campaigns/{world.campaign}/validations").json()["items"]
    # four of the five code buyers heard the code's show; the fifth heard only the other IO's
    assert (found["sample_size"], found["predicted"], found["actual"]) == (5, pytest.approx(0.8), 1.0)
    accuracy = found["accuracy"]
    assert accuracy["value"] == pytest.approx(0.8) and accuracy["low"] <= 0.8 <= accuracy["high"]
    assert found["details"]["household_matched"] == 5 and found["created_by"] == tenant.user_ids["sales"]
    assert found["id"] in [v["id"] for v in listed]


async def test_a_holdout_validation_predicts_the_held_out_households(tenant: Tenant, world: ValidationWorld) -> None:
    held = [world.home("p1"), world.home("p2"), world.home("n1")]
    body = {
        "campaign_id": str(world.campaign),
        "model": "time_decay",
        "ground_truth": "holdout",
        "holdout_households": {"households": held},
    }
    with tenant.client("sales") as api:
        found = _post(api, body)
        seeded = {**body, "holdout_households": {"fraction": 0.4, "seed": 11}}
        first, second = _post(api, seeded), _post(api, seeded)
    # the other twelve exposed households bought three times: 3 / 12 x 3 = 0.75 predicted, 2 observed
    assert (found["sample_size"], found["predicted"], found["actual"]) == (3, pytest.approx(0.75), 2.0)
    assert found["accuracy"]["value"] == pytest.approx(1 - 1.25 / 2)
    assert found["details"]["training_households"] == 12
    assert first["sample_size"] == 6
    for key in ("predicted", "actual", "accuracy", "sample_size"):
        assert first[key] == second[key]


async def test_the_lift_compares_exposed_and_unexposed_households(tenant: Tenant, world: ValidationWorld) -> None:
    with tenant.client("sales") as api:
        found = api.get(f"/api/v1/attribution/campaigns/{world.campaign}/lift").json()
    assert found["label"] == "modeled"
    # 5 of 15 exposed households bought; 1 of the 10 unexposed listeners of show A did
    assert (found["exposed_households"], found["unexposed_households"]) == (15, 10)
    assert found["exposed_conversion_rate"] == pytest.approx(1 / 3)
    assert found["unexposed_conversion_rate"] == pytest.approx(0.1)
    lift = found["lift"]
    assert lift["value"] == pytest.approx(1 / 3 / 0.1 - 1) and lift["low"] <= lift["value"]
    assert [(s["country"], s["device_family"]) for s in found["strata"]] == [("unknown", "iOS")]


def _anonymous(server: str, body: dict[str, Any], reads: tuple[str, ...]) -> list[int]:
    with httpx.Client(base_url=server, timeout=30) as anonymous:
        posted = anonymous.post("/api/v1/attribution/validate", json=body).status_code
        return [posted, *(anonymous.get(path).status_code for path in reads)]


async def test_who_may_validate_and_read(server: str, tenant: Tenant, world: ValidationWorld) -> None:
    campaign = str(world.campaign)
    body = {"campaign_id": campaign, "model": "linear", "ground_truth": "promo_code"}
    reads = (f"/api/v1/attribution/campaigns/{campaign}/validations", f"/api/v1/attribution/campaigns/{campaign}/lift")
    assert _anonymous(server, body, reads) == [401, 401, 401]
    with tenant.client("creator") as api:
        _post(api, body, 403)
        assert [api.get(path).status_code for path in reads] == [403, 403]
    with tenant.client("advertiser") as api:  # another sponsor's campaign, and no right to run validations
        _post(api, body, 403)
        assert [api.get(path).status_code for path in reads] == [404, 404]
    with make_tenant(server).client() as api:
        _post(api, body, 404)
        assert [api.get(path).status_code for path in reads] == [404, 404]
    with tenant.client() as api:
        problem = _post(api, {**body, "model": "custom", "holdout_households": {"fraction": 0.2}}, 422)
        assert problem["status"] == 422
        assert _post(api, {**body, "model": "nonsense"}, 422)["status"] == 422


def test_holdout_fraction_stays_below_everyone() -> None:
    assert held_out(["a", "b"], Holdout(fraction=0.99, seed=1)) in (["a"], ["b"])
    assert len(held_out([str(i) for i in range(10)], Holdout(fraction=0.5))) == 5
