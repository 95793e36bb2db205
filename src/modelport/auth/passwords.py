"""Passwords: argon2id hashes, computed off the event loop, and the rules a password follows."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from modelport.errors import InvalidInput

MIN_LENGTH = 10
MAX_LENGTH = 256


def check_password(password: str) -> str:
    """The password if it is acceptable; InvalidInput saying what is wrong otherwise."""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(f"password must be at least {MIN_LENGTH} characters", field="password")
    if len(password) > MAX_LENGTH:
        raise InvalidInput(f"password must be at most {MAX_LENGTH} characters", field="password")
    return password


class Passwords:
    """Hashes and verifies passwords with argon2id at OWASP's recommended cost (19 MiB, two
    passes, one lane): slow for a guesser, yet cheap enough on a small shared server. Each
    call runs in a worker thread, so it never stalls other requests."""

    def __init__(self) -> None:
        self._hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
        self._decoy: str | None = None

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Whether `password` matches `password_hash`. With no hash (an unknown email) a
        decoy is checked and False returned, so the answer takes as long as for an account."""
        if password_hash is None:
            if self._decoy is None:
                self._decoy = await self.hash(secrets.token_urlsafe(16))
            await asyncio.to_thread(self._matches, self._decoy, password)
            return False
        return await asyncio.to_thread(self._matches, password_hash, password)

    def _matches(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
