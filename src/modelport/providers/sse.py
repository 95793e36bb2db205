"""Server-sent events, decoded as the WHATWG standard defines them.

https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation:
lines end in CRLF, LF or CR; a line starting with a colon is a comment; `data:` lines of one
event are joined with LF; `event:` names the event, `id:` and `retry:` are read (and not
relayed: the hub is not resumable); a blank line dispatches the event, unless it has no data;
an event left unfinished when the stream ends is discarded. Bytes arrive in arbitrary pieces,
an event or a CRLF may be split across them. An event (or a line) that grows past
`max_event` bytes before it ends raises EventTooLarge: what the stream holds is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass

BOM = b"\xef\xbb\xbf"


class EventTooLarge(ValueError):
    """An event or a line grew past the decoder's `max_event` bytes before it ended."""


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    """The event type; empty when the stream named none (the standard's "message")."""
    data: bytes
    id: str | None = None
    retry: int | None = None


class SseDecoder:
    """Feed it bytes as they arrive; it returns the events each piece completes."""

    def __init__(self, max_event: int = 64 * 1024 * 1024) -> None:
        self._max_event = max_event
        self._size = 0
        """The bytes of data lines the current event holds so far."""
        self._buffer = b""
        self._started = False
        self._after_cr = False
        self._event = ""
        self._data: list[bytes] = []
        self._id: str | None = None
        self._retry: int | None = None

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        """The events completed by `chunk` (possibly none)."""
        if self._after_cr and chunk:
            # The previous piece ended in CR, which ended its line: a LF now is its CRLF's.
            self._after_cr = False
            chunk = chunk.removeprefix(b"\n")
        buffer = self._buffer + chunk
        if not self._started:
            if len(buffer) < len(BOM) and BOM.startswith(buffer):
                self._buffer = buffer
                return []
            self._started = True
            buffer = buffer.removeprefix(BOM)
        if b"\r" in buffer:
            self._after_cr = buffer.endswith(b"\r")
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        lines = buffer.split(b"\n")
        self._buffer = lines[-1]
        if len(self._buffer) > self._max_event:
            raise EventTooLarge
        return self._lines(lines)

    def _lines(self, lines: list[bytes]) -> list[ServerSentEvent]:
        """Interpret every line but the last (the unfinished one)."""
        events: list[ServerSentEvent] = []
        for index in range(len(lines) - 1):
            line = lines[index]
            if not line:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
            elif line[0] != 0x3A:  # not a comment (":")
                self._field(line)
        return events

    def _field(self, line: bytes) -> None:
        name, colon, value = line.partition(b":")
        if colon and value[:1] == b" ":
            value = value[1:]
        if name == b"data":
            self._size += len(value)
            if self._size > self._max_event:
                raise EventTooLarge
            self._data.append(value)
        elif name == b"event":
            self._event = value.decode("utf-8", "replace")
        elif name == b"id":
            if b"\0" not in value:
                self._id = value.decode("utf-8", "replace")
        elif name == b"retry" and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> ServerSentEvent | None:
        data, event = self._data, self._event
        self._data, self._event, self._size = [], "", 0
        if not data:
            return None
        joined = data[0] if len(data) == 1 else b"\n".join(data)
        return ServerSentEvent(event, joined, self._id, self._retry)
