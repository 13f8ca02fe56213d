from __future__ import annotations

from podsponsor.errors import AppError, Conflict, ValidationFailed


class IdempotencyKeyMissing(AppError):
    status = 400
    type = "idempotency-key-missing"
    title = "This request needs an Idempotency-Key header"


class InvalidBooking(ValidationFailed):
    type = "invalid-booking"
    title = "The insertion order is not valid"


class SlotTaken(Conflict):
    type = "slot-taken"
    title = "Another IO holds this episode slot"


class CompetitiveConflict(Conflict):
    type = "competitive-separation"
    title = "A competing sponsor is booked in this episode"


class PromoCodeTaken(Conflict):
    type = "promo-code-taken"
    title = "The promo code is in use"


class VanitySlugTaken(Conflict):
    type = "vanity-slug-taken"
    title = "The vanity URL is in use"


class IoLocked(Conflict):
    type = "io-locked"
    title = "The IO cannot change in its present status"


class AdUnitInUse(Conflict):
    type = "ad-unit-in-use"
    title = "Live IOs use this ad unit"
