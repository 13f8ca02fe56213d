"""The demo's planned orders as rows: insertion orders numbered as the service numbers them, their episode slots, and
the events the bookings service, the delivery job and the sellers would have logged."""

from __future__ import annotations

import random
import uuid
from datetime import datetime
from typing import Any

from podsponsor.bookings.codes import io_number
from podsponsor.demo.io_model import Context, Order, Row
from podsponsor.demo.shows import new_id


def number_orders(orders: list[Order]) -> None:
    """IO-<year>-<sequence>, counted in booking order from 0001 each year, as the service numbers them."""
    sequence: dict[int, int] = {}
    for order in sorted(orders, key=lambda o: (o.created_at, o.id)):
        year = order.created_at.year
        sequence[year] = sequence.get(year, 0) + 1
        order.number = io_number(year, sequence[year])


def io_row(context: Context, order: Order) -> Row:
    updated = order.status_changed_at or order.created_at
    return {
        "tenant_id": context.rows.id,
        "id": order.id,
        "number": order.number,
        "campaign_id": order.deal["id"],
        "sponsor_id": order.sponsor["id"],
        "podcast_id": order.show.podcast["id"],
        "ad_unit_id": order.unit["id"],
        "flight_start": order.start,
        "flight_end": order.end,
        "impression_goal": order.goal,
        **order.columns,
        "status": order.status,
        "status_changed_at": updated,
        "delivered_impressions": order.delivered,
        "delivery_updated_at": updated if order.kind == "past" else None,
        "created_by": context.seller,
        "created_at": order.created_at,
        "updated_at": updated,
    }


def placement_rows(context: Context, order: Order) -> list[Row]:
    if order.status == "cancelled":
        return []
    slots = [(index, False) for index in order.booked] + ([(order.bonus, True)] if order.bonus is not None else [])
    return [
        {
            "tenant_id": context.rows.id,
            "id": new_id(context.rng),
            "io_id": order.id,
            "ad_unit_id": order.unit["id"],
            "episode_id": order.show.episodes[index]["id"],
            "industry": order.sponsor["industry"],
            "bonus": bonus,
        }
        for index, bonus in slots
    ]


def _event(
    rng: random.Random,
    tenant_id: uuid.UUID,
    kind: str,
    subject: tuple[str, uuid.UUID],
    actor: uuid.UUID | None,
    at: datetime,
    payload: dict[str, Any],
) -> Row:
    return {
        "tenant_id": tenant_id,
        "id": new_id(rng),
        "type": kind,
        "subject_type": subject[0],
        "subject_id": subject[1],
        "actor_user_id": actor,
        "payload": payload,
        "at": at,
    }


def unit_event(rng: random.Random, tenant_id: uuid.UUID, unit: Row, actor: uuid.UUID) -> Row:
    payload = {"podcast_id": str(unit["podcast_id"]), "name": unit["name"], "rate_cpm_cents": unit["rate_cpm_cents"]}
    return _event(rng, tenant_id, "ad_unit.created", ("ad_unit", unit["id"]), actor, unit["created_at"], payload)


def order_events(context: Context, order: Order) -> list[Row]:
    """The log the bookings service and the delivery job would have written for the order so far."""
    rng, tenant_id, subject = context.rng, context.rows.id, ("insertion_order", order.id)
    booked = {
        "number": order.number,
        "campaign_id": str(order.deal["id"]),
        "sponsor_id": str(order.sponsor["id"]),
        "podcast_id": str(order.show.podcast["id"]),
        "ad_unit_id": str(order.unit["id"]),
        "episode_ids": [str(order.show.episodes[i]["id"]) for i in sorted(order.booked)],
        "flight_start": order.start.isoformat(),
        "flight_end": (order.booked_end or order.end).isoformat(),
        "impression_goal": order.goal,
        "pricing_model": order.columns["pricing_model"],
    }
    events = [_event(rng, tenant_id, "io.scheduled", subject, context.seller, order.created_at, booked)]
    number = {"number": order.number}
    if order.status == "cancelled":
        cancelled = number | {"from": "scheduled", "released_slots": 0}
        assert order.status_changed_at is not None
        events.append(
            _event(rng, tenant_id, "io.cancelled", subject, context.seller, order.status_changed_at, cancelled)
        )
    if order.activated_at is not None:
        activated = number | {"flight_start": order.start.isoformat()}
        events.append(_event(rng, tenant_id, "io.activated", subject, None, order.activated_at, activated))
    makegood = order.makegood
    if order.outcome_at is not None and makegood is None:
        delivered = number | {"goal": order.goal, "delivered": order.delivered, "within_tolerance": False}
        events.append(_event(rng, tenant_id, "io.delivered", subject, None, order.outcome_at, delivered))
    if order.outcome_at is not None and makegood is not None:
        events += _makegood_events(context, order, makegood)
    return events


def _makegood_events(context: Context, order: Order, makegood: Row) -> list[Row]:
    rng, tenant_id, subject = context.rng, context.rows.id, ("insertion_order", order.id)
    short = {
        "number": order.number,
        "makegood_id": str(makegood["id"]),
        "goal": makegood["goal"],
        "delivered": makegood["delivered"],
        "shortfall_impressions": makegood["shortfall_impressions"],
        "shortfall_cents": makegood["shortfall_cents"],
        "tolerance_pct": 0.0,
    }
    events = [_event(rng, tenant_id, "io.makegood", subject, None, makegood["created_at"], short)]
    if makegood["settled_at"] is None:
        return events
    settled = {
        "io_id": str(order.id),
        "number": order.number,
        "settlement": makegood["settlement"],
        "shortfall_impressions": makegood["shortfall_impressions"],
        "bonus_episode_id": str(makegood["bonus_episode_id"]) if makegood["bonus_episode_id"] else None,
        "extended_to": makegood["extended_to"].isoformat() if makegood["extended_to"] else None,
        "credit_cents": makegood["credit_cents"],
        "io_status": {"from": "makegood", "to": "makegood" if makegood["settlement"] == "credit" else "active"},
    }
    events.append(
        _event(
            rng,
            tenant_id,
            "makegood.settled",
            ("makegood", makegood["id"]),
            context.seller,
            makegood["settled_at"],
            settled,
        )
    )
    if order.final_at is not None:
        delivered = {
            "number": order.number,
            "goal": order.goal,
            "delivered": order.delivered,
            "within_tolerance": False,
        }
        events.append(_event(rng, tenant_id, "io.delivered", subject, None, order.final_at, delivered))
    return events
