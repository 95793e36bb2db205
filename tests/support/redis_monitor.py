"""Round trips to a private Redis, as its MONITOR shows them.

MONITOR lists every command Redis runs, in order: those a client sent, and those a Lua script
ran (marked `lua`). A client's round trip is one command it sent on its own; a MULTI ...
EXEC block is one round trip (a transactional pipeline), and a script's own commands ride
on its EVALSHA.
"""

from __future__ import annotations

import secrets
import threading
from types import TracebackType
from typing import Any

import redis

READ_SECONDS = 10.0


class RoundTrips:
    """Records what Redis runs from `__enter__` to `__exit__`, on a thread of its own."""

    def __init__(self, port: int) -> None:
        self._sentinel = "ECHO round-trips-" + secrets.token_hex(8)
        self._client = redis.Redis(port=port, socket_timeout=READ_SECONDS, protocol=2)
        self._closer = redis.Redis(port=port, socket_timeout=READ_SECONDS)
        self._monitor: Any = None
        self._thread = threading.Thread(target=self._read, daemon=True)
        self.commands: list[dict[str, Any]] = []

    def __enter__(self) -> RoundTrips:
        self._closer.ping()  # its connection's handshake is done before MONITOR starts
        self._monitor = self._client.monitor().__enter__()  # type: ignore[no-untyped-call]
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Mark the end with an ECHO of our own; everything run before it has been seen."""
        self._closer.echo(self._sentinel.removeprefix("ECHO "))
        self._closer.close()
        self._thread.join(READ_SECONDS)
        self._monitor.__exit__(None, None, None)
        self._client.close()
        assert not self._thread.is_alive(), "MONITOR never showed the closing ECHO"

    def _read(self) -> None:
        for command in self._monitor.listen():
            if command["command"] == self._sentinel:
                return
            self.commands.append(command)

    def sent(self) -> list[str]:
        """One name per round trip, in order: the command's, `MULTI/EXEC` for a block."""
        trips: list[str] = []
        in_block: set[tuple[str, str]] = set()
        for command in self.commands:
            if command["client_type"] == "lua":
                continue
            client = (command["client_address"], command["client_port"])
            name = command["command"].split(" ", 1)[0].upper()
            if name == "MULTI":
                in_block.add(client)
            elif client in in_block:
                if name == "EXEC":
                    in_block.discard(client)
                    trips.append("MULTI/EXEC")
            else:
                trips.append(name)
        return trips
