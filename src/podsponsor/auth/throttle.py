"""Sign-in throttling over the shared rate limiter (`podsponsor.ratelimit`): Redis-backed when REDIS_URL is set.

Passwords: a failed sign-in counts against its e-mail from its address (LOGIN_MAX_FAILURES per LOGIN_WINDOW_SECONDS)
and against the address alone (ten times as many: one office may share an address). Second factor: wrong codes count
against the user, whichever step asked for one (sign-in, turning it on or off, new recovery codes).

Each attempt takes its hit before it is checked and gives it back when it turns out right, so only failures count
and concurrent guesses cannot slip past the count while earlier ones are still being checked.
"""

from __future__ import annotations

import uuid

from podsponsor.errors import TooManyRequests
from podsponsor.ratelimit.limiter import RateLimiter
from podsponsor.ratelimit.limits import SECOND_FACTOR, SIGN_IN, SIGN_IN_ADDRESS


class LoginThrottle:
    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    @staticmethod
    def _account(email: str, address: str) -> str:
        return f"{email.lower()}|{address}"

    async def password_attempt(self, email: str, address: str) -> None:
        """Count a password attempt; TooManyRequests when this e-mail from this address, or this address, has failed
        too often in the window."""
        account = await self.limiter.hit(SIGN_IN, self._account(email, address))
        if not account.allowed:
            raise TooManyRequests(
                f"too many failed sign-ins; try again in {account.retry_after} s", retry_after=account.retry_after
            )
        everyone = await self.limiter.hit(SIGN_IN_ADDRESS, address)
        if not everyone.allowed:
            # Refused unchecked: not a failure of this account.
            await self.limiter.undo(SIGN_IN, self._account(email, address))
            raise TooManyRequests(
                f"too many failed sign-ins from your address; try again in {everyone.retry_after} s",
                retry_after=everyone.retry_after,
            )

    async def password_right(self, email: str, address: str) -> None:
        await self.limiter.clear(SIGN_IN, self._account(email, address))
        await self.limiter.undo(SIGN_IN_ADDRESS, address)

    async def code_attempt(self, user_id: uuid.UUID) -> None:
        """Count a second-factor code; TooManyRequests when this user's codes were wrong too often in the window."""
        decision = await self.limiter.hit(SECOND_FACTOR, str(user_id))
        if not decision.allowed:
            raise TooManyRequests(
                f"too many wrong codes; try again in {decision.retry_after} s", retry_after=decision.retry_after
            )

    async def code_right(self, user_id: uuid.UUID) -> None:
        await self.limiter.clear(SECOND_FACTOR, str(user_id))
