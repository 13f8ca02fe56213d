"""What a dashboard covers: its period of UTC days (defaults, order, cap) and, for the advertiser's, which
advertiser."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from podsponsor.auth.subject import Subject
from podsponsor.errors import ValidationFailed
from podsponsor.flags import service as flags
from podsponsor.sales import service as sales
from podsponsor.sales.models import Sponsor

DEFAULT_DAYS: Final = 30
MAX_DAYS: Final = 366


@dataclass(frozen=True)
class Period:
    """UTC days `start` to `end`, both included; `as_of` is the day numbers 'to date' are taken at."""

    start: date
    end: date
    today: date

    @property
    def as_of(self) -> date:
        return min(self.end, self.today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @cached_property
    def since(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @cached_property
    def until(self) -> datetime:
        """The instant after the period's last day."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    def each_day(self, last: date | None = None) -> list[date]:
        final = min(self.end, last) if last is not None else self.end
        return [self.start + timedelta(days=n) for n in range((final - self.start).days + 1)]


def period(start: date | None, end: date | None, *, today: date) -> Period:
    """The period asked for: `to` defaults to today, `from` to the 30 days ending on `to`."""
    end = end or today
    start = start or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise ValidationFailed(
            "from must not be after to",
            errors=[{"field": "from", "value": start.isoformat(), "reason": f"after to ({end.isoformat()})"}],
        )
    if (end - start).days + 1 > MAX_DAYS:
        raise ValidationFailed(
            f"a dashboard covers at most {MAX_DAYS} days",
            errors=[{"field": "to", "value": end.isoformat(), "reason": f"more than {MAX_DAYS} days after from"}],
        )
    return Period(start, end, today)


async def sponsor_for(session: AsyncSession, subject: Subject, sponsor_id: uuid.UUID | None) -> Sponsor:
    """The advertiser a dashboard is for: an advertiser user's own (another sponsor is 404, as everywhere); anyone
    else names one."""
    if subject.is_advertiser:
        chosen = sponsor_id or subject.sponsor_id
        if chosen is None:
            raise ValidationFailed(
                "your account is not linked to an advertiser",
                errors=[{"field": "sponsor_id", "value": None, "reason": "no advertiser on this account"}],
            )
    elif sponsor_id is None:
        raise ValidationFailed(
            "say which advertiser the dashboard is for",
            errors=[{"field": "sponsor_id", "value": None, "reason": "required"}],
        )
    else:
        chosen = sponsor_id
    return await sales.get_sponsor(session, subject, chosen)


async def features(session: AsyncSession, subject: Subject) -> frozenset[str]:
    """The feature flags on for the workspace, read once for a dashboard's cards."""
    return frozenset(flag.name for flag in await flags.list_flags(session, subject) if flag.enabled)
