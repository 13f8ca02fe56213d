"""The report's methodology note: how each of its numbers is computed, in a sponsor's words, with the workspace's own
settings (counting window, accrual days, the campaign's model and lookback) filled in. The full rules are in
docs/methodology.md (counting), docs/delivery.md (delivery and pacing) and docs/attribution.md (attribution)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from podsponsor.attribution.intervals import CONFIDENCE
from podsponsor.reports.schemas import AttributionOut, MethodologySection

WINDOWS: Final = {
    "calendar_day": "calendar-day windows (UTC midnight to midnight)",
    "first_touch_24h": "rolling 24-hour windows opened by a listener's first request",
    "extending_24h": "rolling 24-hour windows extended by each further request",
}


@dataclass(frozen=True)
class Setup:
    """The workspace's settings the numbers depend on."""

    window: str
    accrual_days: int


def sections(setup: Setup, attribution: AttributionOut | None) -> list[MethodologySection]:
    window = WINDOWS.get(setup.window, setup.window)
    found = [
        MethodologySection(
            heading="Delivered impressions",
            text=(
                "An impression is a podcast download counted under the IAB Tech Lab Podcast Measurement Technical "
                "Guidelines v2.3: HEAD and other non-GET requests, range probes, known bots, data-centre addresses "
                "and implausible volumes from one address are filtered out; host and CDN logs must show at least "
                "one minute of audio sent; a listener (address and user agent) downloading the same episode again "
                f"within a window counts once, in {window}. An IO's impressions are the counted downloads of its "
                "episodes during its flight (of every episode of the show for an IO without assigned episodes); "
                f"baked-in reads keep counting for the first {setup.accrual_days} days after each episode's "
                "release. Where both the measurement prefix and the host's logs counted an episode on a day, only "
                "the logs count. Days are UTC days."
            ),
        ),
        MethodologySection(
            heading="Expected impressions and pacing",
            text=(
                "Expected impressions follow each IO's pacing mode: even (the goal spread evenly over the flight's "
                "days, today counted as a whole day), as soon as possible (the whole goal from the first day) or "
                "front-loaded (1.25 times even until half the goal is in). Pacing is delivered divided by expected; "
                "an IO is on pace at 95 % or more, behind from 80 %, at risk below 80 %. The campaign's pacing is "
                "each started IO's pacing weighted by its goal. Cancelled IOs are listed but left out of every "
                "total and of the daily series."
            ),
        ),
        MethodologySection(
            heading="Spend and effective CPM",
            text=(
                "Spend to date is delivered impressions times the CPM for CPM-priced IOs, and the flat price per "
                "booked episode released so far for flat-priced ones, never more than an IO's maximum spend; "
                "acquisitions billed per conversion are not in delivery spend. Effective CPM is spend per thousand "
                "delivered impressions. Money is rounded half up to the cent."
            ),
        ),
    ]
    if attribution is not None:
        found += _attribution(attribution)
    return found


def _attribution(found: AttributionOut) -> list[MethodologySection]:
    confidence = f"{CONFIDENCE:.0%}"
    return [
        MethodologySection(
            heading="Attribution",
            text=(
                "The sponsor's conversions are matched to the campaign's IOs by promo code, then by a visit to an "
                f"IO's vanity URL within the {found.lookback_days}-day lookback (both deterministic), then by a "
                "household (hashed address with a compatible device) that downloaded an episode carrying the ad "
                f"within the lookback (modeled). Each conversion's credit is shared among the touchpoints on its "
                f"path by the {found.model_label.lower()} model, the campaign's default; other models are shown "
                "side by side and spread the same conversions differently among the IOs. CPA is spend divided by "
                "attributed conversions and ROAS attributed revenue divided by spend, in the spend's currency; the "
                "conversion rate is converting households divided by households reached."
            ),
        ),
        MethodologySection(
            heading="Uncertainty",
            text=(
                f"Each attribution figure carries a {confidence} interval: a percentile bootstrap over households "
                f"(resampled with replacement {found.interval.iterations:,} times, seed {found.interval.seed}), so "
                "the same data always gives the same interval. A cost per acquisition whose draw has no conversion "
                "has no upper bound."
            ),
        ),
    ]
