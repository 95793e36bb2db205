"""A circuit breaker for Redis calls: after a failure, don't ask again for a moment.

A Redis that hangs would otherwise cost every request a socket timeout; with the breaker,
it costs one timed-out call per pause, and the in-memory or database fallback meanwhile.

A timeout is not always Redis' fault. A replica past its core reads answers late: the
answer waits in the socket while the event loop works through other requests, and the
client's timeout fires first. Redis is still answering this process's other calls then,
and pausing would send every request to the fallback, which costs more CPU (a database
read per key check) and makes the lag worse. So a timeout pauses calls only when no call
made to Redis has been answered since the timed-out one began.
"""

from __future__ import annotations

import time

from redis.exceptions import TimeoutError as RedisTimeout

PAUSE_AFTER_FAILURE = 1.0


class Breaker:
    def __init__(self, pause: float = PAUSE_AFTER_FAILURE) -> None:
        self._pause = pause
        self._until = 0.0
        self._answered_at = float("-inf")

    @property
    def open(self) -> bool:
        """Whether calls should be skipped right now."""
        return time.monotonic() < self._until

    def answered(self) -> None:
        """Note that Redis answered a call."""
        self._answered_at = time.monotonic()

    def failed(self, error: Exception, started: float) -> bool:
        """After a call begun at `started` (`time.monotonic()`) failed: pause, or not.

        Returns whether calls are now paused: not for a timeout while Redis answered
        another call since `started` (this process's lag, see the module's docstring).
        """
        if isinstance(error, RedisTimeout) and self._answered_at > started:
            return False
        self.trip()
        return True

    def trip(self) -> None:
        """Pause calls, whatever failed."""
        self._until = time.monotonic() + self._pause
