"""Advertisers' briefs for the demo (`match_briefs`): the flight each sponsor wants next, the positions and number of
episode slots it needs, a few keywords beyond its targets and the categories it will not appear next to. Made
without a database from the seed, the workspace's rows and `now`, so the flights are always ahead of today.

Most sponsors have one (the advertiser login's always does); the rest leave matchmaking without a flight to fill.
Strict sponsors mostly block True Crime, some Comedy too; a few moderate ones block True Crime.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Final

from podsponsor.demo.generate import Row, TenantRows
from podsponsor.demo.shows import new_id

BRIEF_SHARE: Final = 0.85
POSITIONS: Final = ("pre", "mid", "post")
SLOTS_NEEDED: Final = (1, 12)
LEAD_DAYS: Final = (7, 90)  # how far ahead of today the wanted flight starts
FLIGHT_DAYS: Final = (14, 60)
# (chance, categories) by brand safety, drawn in order: the first that comes up is the brief's block list.
BLOCKS: Final[dict[str, tuple[tuple[float, tuple[str, ...]], ...]]] = {
    "strict": ((0.3, ("True Crime", "Comedy")), (0.6, ("True Crime",))),
    "moderate": ((0.2, ("True Crime",)),),
    "permissive": (),
}

# Words each industry looks for in a show beyond its target topics, in the words the demo's episodes and
# transcripts use where the industry truly fits.
INDUSTRY_KEYWORDS: Final[dict[str, tuple[str, ...]]] = {
    "consumer goods": ("lifestyle", "home", "family", "everyday", "gifts"),
    "apparel": ("style", "comfort", "outdoors", "sports", "fashion"),
    "beverages": ("coffee", "food", "mornings", "sports", "comedy"),
    "software": ("productivity", "remote teams", "startups", "engineering", "automation"),
    "web hosting": ("small business", "creators", "websites", "startups", "engineering"),
    "finance": ("investing", "personal finance", "retirement", "index funds", "mortgage rates"),
    "insurance": ("family", "home", "retirement", "safety", "mortgage"),
    "meal kits": ("cooking", "food", "family dinners", "protein", "health"),
    "mattresses": ("sleep", "sleep debt", "recovery", "wellness", "night"),
    "vpn": ("privacy", "security", "encryption", "passkeys", "browser privacy"),
    "education": ("careers", "learning", "public speaking", "statistics", "skills"),
    "health": ("wellness", "sleep", "gut health", "strength", "running"),
    "auto": ("commuting", "electric vehicles", "road trips", "safety", "sports"),
    "travel": ("adventure", "road trips", "history", "culture", "trails"),
    "gaming": ("esports", "games", "streaming", "comedy", "consoles"),
    "pets": ("pets", "family", "dogs", "cats", "community"),
    "recruiting": ("hiring", "careers", "remote teams", "negotiating a raise", "four-day week"),
    "home": ("home", "DIY", "community gardens", "tiny houses", "smart home"),
    "streaming": ("entertainment", "film", "comedy", "streaming miniseries", "sitcom finales"),
    "electronics": ("gadgets", "music", "foldable phones", "smart home", "satellite internet"),
    "outdoor gear": ("camping", "hiking", "winter camping", "ultralight gear", "canoe"),
    "food": ("cooking", "local", "maple syrup", "family", "street food"),
}


def generate_briefs(rows: TenantRows, seed: int, now: datetime) -> list[Row]:
    """The workspace's briefs as `match_briefs` rows, one per sponsor that has one."""
    rng = random.Random(f"{seed}:{rows.slug}:briefs")  # noqa: S311 - reproducible on purpose
    advertiser = next(user["sponsor_id"] for user in rows.users if user["role"] == "advertiser")
    briefs = []
    for sponsor in rows.sponsors:
        wanted = rng.random() < BRIEF_SHARE or sponsor["id"] == advertiser
        brief = _brief(rng, rows, sponsor, now)
        if wanted:
            briefs.append(brief)
    return briefs


def _brief(rng: random.Random, rows: TenantRows, sponsor: Row, now: datetime) -> Row:
    """Drawn for every sponsor, kept or not, so one sponsor's brief does not depend on whether others have one."""
    start = now.astimezone(UTC).date() + timedelta(days=rng.randint(*LEAD_DAYS))
    chosen = set(rng.sample(POSITIONS, rng.randint(1, len(POSITIONS))))
    own = [word for word in INDUSTRY_KEYWORDS.get(str(sponsor["industry"]), ()) if word not in sponsor["target_topics"]]
    created = now - timedelta(days=rng.randint(1, 30), minutes=rng.randint(0, 600))
    return {
        "tenant_id": rows.id,
        "id": new_id(rng),
        "sponsor_id": sponsor["id"],
        "flight_start": start,
        "flight_end": start + timedelta(days=rng.randint(*FLIGHT_DAYS) - 1),
        "positions": [position for position in POSITIONS if position in chosen],
        "slots_needed": rng.randint(*SLOTS_NEEDED),
        "keywords": rng.sample(own, min(len(own), rng.randint(2, 4))),
        "blocked_categories": list(_blocked(rng, str(sponsor["brand_safety"]))),
        "created_at": created,
        "updated_at": created,
    }


def _blocked(rng: random.Random, brand_safety: str) -> tuple[str, ...]:
    for chance, categories in BLOCKS[brand_safety]:
        if rng.random() < chance:
            return categories
    return ()
