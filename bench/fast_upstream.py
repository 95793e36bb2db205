"""A fast fake upstream for benchmarks, of both dialects: raw asyncio, canned answers.

    .venv/bin/python bench/fast_upstream.py --port 9000

It answers `POST /v1/chat/completions` with a fixed chat completion (usage included), or,
for `"stream":true`, with a handful of server-sent events: content chunks, the usage chunk
when `"include_usage":true` is asked for, then `data: [DONE]`. `POST /v1/responses` and
`POST /v1/messages` get the same answer in OpenAI's Responses shape and in Anthropic's
Messages shape (`bench_dialects.py`), plain or streamed. HTTP/1.1 keep-alive, no parsing
beyond the request line, Content-Length and two substrings of the body, and every answer
prebuilt once: the point is that it is never the bottleneck of a benchmark. Any path under
`/fail/` gets a 503 at once: a deployment that fails fast, for the failover benchmark.
"""

from __future__ import annotations

import argparse
import asyncio
from typing import cast

import orjson
import uvloop

import bench_dialects

PROMPT_TOKENS = 11
COMPLETION_TOKENS = 7
PIECES = ["Hello", "!", " How", " can", " I", " help", "?"]
HEAD_END = b"\r\n\r\n"


def _completion() -> bytes:
    return orjson.dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": 1,
            "model": "bench-upstream",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(PIECES)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": PROMPT_TOKENS,
                "completion_tokens": COMPLETION_TOKENS,
                "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
            },
        }
    )


def _event(payload: dict[str, object], name: str | None = None) -> bytes:
    data = b"data: " + orjson.dumps(payload) + b"\n\n"
    if name is not None:
        data = b"event: " + name.encode() + b"\n" + data
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"  # one HTTP chunk per event


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "bench-upstream",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _stream(*, include_usage: bool) -> list[bytes]:
    """The events of one streamed answer, each a separate write, as a real server sends them."""
    events = [_event(_chunk({"role": "assistant", "content": ""}))]
    events += [_event(_chunk({"content": piece})) for piece in PIECES]
    events.append(_event(_chunk({}, "stop")))
    if include_usage:
        usage = {
            "prompt_tokens": PROMPT_TOKENS,
            "completion_tokens": COMPLETION_TOKENS,
            "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
        }
        events.append(_event({**_chunk({}), "choices": [], "usage": usage}))
    done = b"data: [DONE]\n\n"
    events.append(f"{len(done):x}\r\n".encode() + done + b"\r\n0\r\n\r\n")
    return events


def _plain(status: str, body: bytes) -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body


PLAIN = _plain("200 OK", _completion())
NOT_FOUND = _plain("404 Not Found", b'{"error":{"message":"not found"}}')
FAILED = _plain("503 Service Unavailable", b'{"error":{"message":"overloaded"}}')
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
    b"Cache-Control: no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"
)
STREAM = _stream(include_usage=False)
STREAM_WITH_USAGE = _stream(include_usage=True)
END = b"0\r\n\r\n"
ANSWERS = {
    b"/v1/responses": (
        _plain("200 OK", orjson.dumps(bench_dialects.response(PIECES, PROMPT_TOKENS))),
        [_event(p, n) for n, p in bench_dialects.response_events(PIECES, PROMPT_TOKENS)] + [END],
    ),
    b"/v1/messages": (
        _plain("200 OK", orjson.dumps(bench_dialects.message(PIECES, PROMPT_TOKENS))),
        [_event(p, n) for n, p in bench_dialects.message_events(PIECES, PROMPT_TOKENS)] + [END],
    ),
}
"""The plain answer and the stream's pieces of each other API, by path."""


class Upstream(asyncio.Protocol):
    """One client connection: requests in order, answered as soon as each is whole."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while True:
            end = self._buffer.find(HEAD_END)
            if end < 0:
                return
            head = self._buffer[:end]
            length = _content_length(head)
            total = end + len(HEAD_END) + length
            if len(self._buffer) < total:
                return
            body = self._buffer[end + len(HEAD_END) : total]
            self._buffer = self._buffer[total:]
            self._answer(head, body)

    def _answer(self, head: bytes, body: bytes) -> None:
        assert self._transport is not None
        path = head.split(b" ", 2)[1]
        if path.startswith(b"/fail/"):
            self._transport.write(FAILED)
        elif path in ANSWERS:
            plain, stream = ANSWERS[path]
            if b'"stream":true' in body:
                self._transport.write(STREAM_HEAD)
                for event in stream:
                    self._transport.write(event)
            else:
                self._transport.write(plain)
        elif path != b"/v1/chat/completions":
            self._transport.write(NOT_FOUND)
        elif b'"stream":true' in body:
            self._transport.write(STREAM_HEAD)
            for event in STREAM_WITH_USAGE if b'"include_usage":true' in body else STREAM:
                self._transport.write(event)
        else:
            self._transport.write(PLAIN)


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Upstream, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    uvloop.run(serve(parser.parse_args().port))


if __name__ == "__main__":
    main()
