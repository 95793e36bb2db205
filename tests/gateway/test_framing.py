"""However an upstream frames its stream (WHATWG's rules allow many ways), the hub finds the
usage in it: every framing is charged the upstream's exact token counts, never an estimate."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.scripted_upstream import Script, hub_on
from tests.support.usage import UsageRows

PROMPT, COMPLETION, CACHED, REASONING = 11, 7, 3, 2


def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return orjson.dumps(
        {
            "id": "c1",
            "object": "chat.completion.chunk",
            "created": 1,
            "model": "up",
            "choices": [choice],
        }
    )


USAGE = orjson.dumps(
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "up",
        "choices": [],
        "usage": {
            "prompt_tokens": PROMPT,
            "completion_tokens": COMPLETION,
            "total_tokens": PROMPT + COMPLETION,
            "prompt_tokens_details": {"cached_tokens": CACHED},
            "completion_tokens_details": {"reasoning_tokens": REASONING},
        },
    }
)
DATA = [
    chunk({"role": "assistant", "content": ""}),
    *[chunk({"content": "tok "}) for _ in range(COMPLETION)],
    chunk({}, "stop"),
    USAGE,
]


def framed(fields: bytes = b"", ending: bytes = b"\n") -> bytes:
    """The whole stream, each event preceded by `fields` lines, lines ended by `ending`."""
    events = [*DATA, b"[DONE]"]
    return b"".join(
        fields.replace(b"\n", ending) + b"data: " + data + ending + ending for data in events
    )


def split_every(stream: bytes, size: int) -> list[bytes]:
    return [stream[i : i + size] for i in range(0, len(stream), size)]


def split_blank_lines(stream: bytes) -> list[bytes]:
    """`stream` cut between the CR and the LF that end each event's blank line."""
    cuts = [i + 3 for i in range(len(stream)) if stream.startswith(b"\r\n\r\n", i)]
    return [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]


FRAMINGS = {
    "lf": [framed()],
    "crlf": [framed(ending=b"\r\n")],
    "cr": [framed(ending=b"\r")],
    "event-first": [framed(b"event: completion\n")],
    "id-first": [framed(b"id: 42\n")],
    "comments-and-retry": [framed(b": keep-alive\n\nretry: 3000\n")],
    "multiline-data": [
        b"".join(b"data: " + data.replace(b",", b",\ndata: ", 1) + b"\n\n" for data in DATA)
        + b"data: [DONE]\n\n"
    ],
    "split-reads": split_every(framed(b"event: x\n", ending=b"\r\n"), 7),
    "crlf-split": split_blank_lines(framed(ending=b"\r\n")),
}
"""One script per framing; `crlf-split` cuts every CRLF of a blank line between two reads."""


@pytest.fixture(scope="module")
def framing_hub(loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    scripts = {name: Script(pieces) for name, pieces in FRAMINGS.items()}
    with hub_on(scripts, loop, tmp_path_factory.mktemp("framing")) as (hub, _):
        yield hub


@pytest.mark.parametrize("framing", sorted(FRAMINGS))
def test_every_framing_is_charged_the_exact_counts(
    framing_hub: Hub, loop: BackgroundLoop, framing: str
) -> None:
    with framing_hub.client(framing_hub.new_team().token) as api:
        key = create_key(api)
    with sdk(framing_hub, key["secret_key"]) as client:
        stream = client.chat.completions.create(
            model=f"s-{framing}",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok " * COMPLETION
    usage = chunks[-1].usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens) == (PROMPT, COMPLETION)
    rows = UsageRows(framing_hub.database_url, loop)
    try:
        [row] = rows.of_key(key["uuid"])
    finally:
        rows.close()
    assert (row.status, row.estimated) == ("ok", False)
    assert (row.prompt_tokens, row.completion_tokens) == (PROMPT, COMPLETION)
    assert (row.cached_prompt_tokens, row.reasoning_tokens) == (CACHED, REASONING)


def test_the_framings_really_differ() -> None:
    """Guard against a script that silently degenerates to plain LF framing."""
    streams = {name: b"".join(pieces) for name, pieces in FRAMINGS.items()}
    assert streams["crlf-split"] == streams["crlf"]
    assert len(set(streams.values())) == len(FRAMINGS) - 1
    assert all(piece.endswith(b"\r") for piece in FRAMINGS["crlf-split"][:-1])
