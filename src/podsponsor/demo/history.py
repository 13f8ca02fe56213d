"""Deal stage history for the demo's campaigns (`deal_stage_changes`): the moves a seller would have made, from the
deal's creation as a lead to the stage it is in now.

A deal is created as a lead at its `created_at`; it moves forward (now and then past a stage), sometimes back one
stage, and makes its last move, the one the event log already holds (`deal.stage_changed` with its `from`), at its
`stage_changed_at`. Every move is one `deals.allowed_moves` permits to a seller. The moves in between get the
events the sales service would have logged. The history is drawn from a generator of its own, so the demo's other
rows stay exactly as they were.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Final

from podsponsor.demo.shows import new_id

OPEN_STAGES: Final = ("lead", "qualified", "proposal", "negotiation")
SKIP_SHARE: Final = 0.12  # moves that jump a stage (a lead that arrives with a budget)
BACK_SHARE: Final = 0.15  # deals that step back one stage once on the way
MOVE_NOTES: Final = {
    "qualified": ("Budget confirmed for the quarter.", "Intro call done; they want host reads.", ""),
    "proposal": ("Sent the media kit and a proposal.", "Proposal out with the audience survey.", ""),
    "negotiation": ("Negotiating CPM and makegood terms.", "Agency asking for a lower CPM.", ""),
    "won": ("Signed; IOs to follow.", "Contract countersigned.", ""),
    "lost": ("Went with another network.", "Budget pulled for the quarter.", "No answer after the proposal."),
}
BACK_NOTES: Final = ("New buyer at the agency; starting over.", "Budget under review again.", "")
Row = dict[str, Any]


def deal_history(
    rng: random.Random, tenant_id: uuid.UUID, campaigns: list[Row], events: list[Row], seller_id: uuid.UUID
) -> tuple[list[Row], list[Row]]:
    """Each campaign's stage changes, oldest first, and the `deal.stage_changed` events of the moves between its
    creation and its last move (the creation and the last move are logged already)."""
    last_from = {e["subject_id"]: e["payload"]["from"] for e in events if e["type"] == "deal.stage_changed"}
    changes: list[Row] = []
    logged: list[Row] = []
    for deal in campaigns:
        stages = _path(rng, last_from.get(deal["id"]))
        if deal["stage"] != "lead":
            stages.append(deal["stage"])
        times = _times(rng, deal["created_at"], deal["stage_changed_at"], len(stages) - 1)
        changes.append(_change(rng, tenant_id, deal, None, "lead", seller_id, times[0], ""))
        moves = list(zip(pairwise(stages), times[1:], strict=True))
        for index, ((before, after), at) in enumerate(moves):
            going_back = after in OPEN_STAGES and OPEN_STAGES.index(after) < OPEN_STAGES.index(before)
            note = rng.choice(BACK_NOTES if going_back else MOVE_NOTES[after])
            changes.append(_change(rng, tenant_id, deal, before, after, seller_id, at, note))
            if index < len(moves) - 1:
                logged.append(_event(rng, tenant_id, deal["id"], before, after, seller_id, at))
    return changes, logged


def _path(rng: random.Random, last_from: str | None) -> list[str]:
    """The open stages a deal passed through, from lead to the stage it made its last move from."""
    target = OPEN_STAGES.index(last_from) if last_from else 0
    visited, at, stepped_back = [0], 0, False
    while at < target:
        at += 2 if target - at >= 2 and rng.random() < SKIP_SHARE else 1
        visited.append(at)
        if not stepped_back and rng.random() < BACK_SHARE:
            at -= 1
            visited.append(at)
            stepped_back = True
    return [OPEN_STAGES[index] for index in visited]


def _times(rng: random.Random, created: datetime, changed: datetime, moves: int) -> list[datetime]:
    """The creation time, the moves' times strictly between, and the last move at `changed` (moves ≥ 1)."""
    if moves == 0:
        return [created]
    between = sorted(rng.sample(range(1, 1000), moves - 1))
    span = (changed - created).total_seconds()
    return [created, *(created + timedelta(seconds=round(span * k / 1000)) for k in between), changed]


def _change(
    rng: random.Random,
    tenant_id: uuid.UUID,
    deal: Row,
    before: str | None,
    after: str,
    seller_id: uuid.UUID,
    at: datetime,
    note: str,
) -> Row:
    return {
        "tenant_id": tenant_id,
        "id": new_id(rng),
        "campaign_id": deal["id"],
        "from_stage": before,
        "to_stage": after,
        "changed_by": seller_id,
        "changed_at": at,
        "note": note,
    }


def _event(
    rng: random.Random,
    tenant_id: uuid.UUID,
    campaign_id: uuid.UUID,
    before: str,
    after: str,
    seller_id: uuid.UUID,
    at: datetime,
) -> Row:
    return {
        "tenant_id": tenant_id,
        "id": new_id(rng),
        "type": "deal.stage_changed",
        "subject_type": "campaign",
        "subject_id": campaign_id,
        "actor_user_id": seller_id,
        "payload": {"from": before, "to": after},
        "at": at,
    }
