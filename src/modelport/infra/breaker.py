"""A circuit breaker for Redis calls: after a failure, don't ask again for a moment.

A Redis that hangs would otherwise cost every request a socket timeout; with the breaker,
it costs one timed-out call per pause, and the in-memory or database fallback meanwhile.
"""

from __future__ import annotations

import time

PAUSE_AFTER_FAILURE = 1.0


class Breaker:
    def __init__(self, pause: float = PAUSE_AFTER_FAILURE) -> None:
        self._pause = pause
        self._until = 0.0

    @property
    def open(self) -> bool:
        """Whether calls should be skipped right now."""
        return time.monotonic() < self._until

    def trip(self) -> None:
        self._until = time.monotonic() + self._pause
