"""Slows down password guessing: failed sign-ins are counted per email and per address.

Past the allowance every attempt, right or wrong, is refused after a pause with the same
message as a wrong password, until the window ends. A guesser learns nothing from it, and
gets at most `PER_EMAIL` guesses per account per window.
"""

from __future__ import annotations

from modelport.core.digest import Digester
from modelport.infra.ratelimit import RateLimiter

WINDOW_SECONDS = 15 * 60
PER_EMAIL = 5
PER_ADDRESS = 50


class SignInThrottle:
    def __init__(self, limiter: RateLimiter, digester: Digester) -> None:
        self._limiter = limiter
        self._digester = digester

    async def blocked(self, email: str, client_addr: str | None) -> bool:
        """Whether this email or address has used up its failures for the window."""
        for bucket, limit in self._buckets(email, client_addr):
            allowance = await self._limiter.hit(bucket, limit, WINDOW_SECONDS, cost=0)
            if allowance.remaining <= 0:
                return True
        return False

    async def failed(self, email: str, client_addr: str | None) -> None:
        for bucket, limit in self._buckets(email, client_addr):
            await self._limiter.hit(bucket, limit, WINDOW_SECONDS)

    def _buckets(self, email: str, client_addr: str | None) -> list[tuple[str, int]]:
        # The email is digested: the limiter may be Redis, and needs no addresses in clear.
        by_email = "signin:e:" + self._digester.digest(email).hex()[:32]
        return [(by_email, PER_EMAIL), ("signin:a:" + (client_addr or "unknown"), PER_ADDRESS)]
