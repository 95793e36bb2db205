"""Rotation with an overlap: after a regenerate, the old secret may keep working a while.

A regenerate is immediate unless it asks for an overlap. With one, the key row keeps the old
secret's digest (`previous_digest`) and when it stops working (`previous_expires_at`); the
verifier accepts that digest only while the time is before it, on every check, cache hits
included. `docs/design/revocation.md` gives the guarantee and why it holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from modelport.core.digest import Digest
from modelport.db.tables import ModelKey
from modelport.errors import InvalidInput

MAX_OVERLAP_SECONDS: Final = 86_400
"""A day: long enough to roll a secret out to every app, short enough to stay a rotation."""
FIELD: Final = "overlap_seconds"


@dataclass(frozen=True, slots=True)
class Overlap:
    """What a regenerate writes about the secret it replaces: nothing (immediate), or its
    digest and the moment it stops working."""

    digest: Digest | None = None
    expires_at: datetime | None = None

    def columns(self) -> dict[str, object]:
        return {"previous_digest": self.digest, "previous_expires_at": self.expires_at}


IMMEDIATE: Final = Overlap()


def checked_seconds(value: object) -> int:
    """`value` as an overlap in whole seconds; InvalidInput naming the field unless it is an
    integer from 0 (immediate) to MAX_OVERLAP_SECONDS."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{FIELD} must be a whole number of seconds", field=FIELD)
    if not 0 <= value <= MAX_OVERLAP_SECONDS:
        raise InvalidInput(
            f"{FIELD} must be from 0 to {MAX_OVERLAP_SECONDS:,} seconds (a day)", field=FIELD
        )
    return value


def overlap(old: Digest, seconds: int, now: datetime) -> Overlap:
    """The overlap a regenerate at `now` grants the secret whose digest is `old`."""
    if seconds == 0:
        return IMMEDIATE
    return Overlap(old, now + timedelta(seconds=seconds))


def old_secret_expires_at(key: ModelKey, now: datetime) -> datetime | None:
    """When the key's old secret stops working, while an overlap runs; None otherwise."""
    until = key.previous_expires_at
    return until if key.previous_digest is not None and until is not None and until > now else None
