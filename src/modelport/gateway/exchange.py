"""What one request sends upstream, and how its answer comes back to the client.

An inbound API parses the client's request (`Inbound`) and makes its `Exchange` for the
model's dialect: a passthrough when the upstream speaks the client's API, otherwise a
`Translated` one, which goes through Chat Completions, the pivot: the client's side of the
pivot (`ClientSide`, from the API's module) meets the upstream's (`WireSide`, `wires.py`).
The pipeline drives an exchange without knowing which it is (docs/design/protocols.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from modelport.catalog.deployment import Deployment
from modelport.catalog.model import CatalogModel, ModelType
from modelport.core.pricing import Tokens
from modelport.errors import ModelportError
from modelport.gateway.respond import ErrorModel
from modelport.keys.verifier import KeyIdentity
from modelport.providers.dialects import Api, Dialect
from modelport.providers.dialects.base import Kind


@dataclass(frozen=True, slots=True)
class Inbound:
    """A client's request as its API parsed it: only what routing and metering need."""

    payload: dict[str, Any]
    model: str
    stream: bool
    prompt_chars: int
    """The prompt's length, for the estimates admission needs before the upstream answers."""
    output_budget: int | None = None
    """The most output tokens the request asks for, when it says."""
    forwarded: dict[str, str] = field(default_factory=dict)
    """Client headers the upstream's dialect may pass on (Anthropic's API version and betas)."""


@dataclass(frozen=True, slots=True)
class Route:
    """Where a request goes: the model the key may use, one of its deployments, and that
    upstream's dialect."""

    request_id: str
    identity: KeyIdentity
    model: CatalogModel
    deployment: Deployment
    dialect: Dialect

    def speaks(self, api: Api) -> bool:
        """Whether the upstream serves `api` itself: then the request passes through."""
        return self.dialect.speaks(api, self.deployment.native_responses)


class Stream(Protocol):
    """One streamed answer: upstream events in, the client's bytes out."""

    def feed(self, kind: Kind, payload: Any, event: str) -> bytes:
        """What to send the client for one upstream event (often nothing)."""

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        """The stream's last events; `tokens` are what was recorded (`reported`: the
        upstream's own count, else our estimate)."""

    def fail(self, exc: ModelportError) -> bytes:
        """The event that ends the stream with `exc`."""

    def result(self) -> dict[str, Any] | None:
        """The whole answer the stream amounted to, once finished (for storing)."""


class Exchange(Protocol):
    @property
    def wire(self) -> Api:
        """The API the upstream is asked."""

    @property
    def payload(self) -> dict[str, Any]:
        """The upstream request in the wire API's shape (the dialect then names its model)."""

    @property
    def prompt_chars(self) -> int: ...

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]:
        """The client's answer for the upstream's (parsed) answer."""

    def stream(self) -> Stream: ...

    async def completed(self, answer: dict[str, Any]) -> None:
        """After the request is recorded and before the answer's end is sent."""


class InboundApi(Protocol):
    """A client-facing API that reaches an upstream: one module in `gateway/apis/` each."""

    @property
    def api(self) -> Api: ...

    @property
    def errors(self) -> ErrorModel: ...

    @property
    def model_type(self) -> ModelType: ...

    @property
    def x_api_key(self) -> bool:
        """Whether the key may come as `x-api-key` (Anthropic's SDK sends it so)."""

    def parse(self, body: bytes, headers: dict[str, str]) -> Inbound:
        """The request; InvalidInput naming the field when it cannot be served."""

    def check(self, inbound: Inbound, model: CatalogModel) -> None:
        """InvalidInput when the request cannot fit the model (output tokens, context)."""

    async def exchange(self, inbound: Inbound, route: Route) -> Exchange:
        """How the request travels to the route's upstream and back. May read stored state
        (a conversation), raising NotFound or InvalidInput before anything is spent."""


class ChatStream(Protocol):
    """A client API's side of a stream, fed chat completion chunks."""

    def feed(self, chunk: dict[str, Any]) -> bytes: ...

    def finish(self, tokens: Tokens, reported: bool) -> bytes: ...

    def fail(self, exc: ModelportError) -> bytes: ...

    def result(self) -> dict[str, Any] | None: ...


class ClientSide(Protocol):
    """A client API's side of the pivot: chat answers in, its own answers out."""

    def answer(self, chat: dict[str, Any], tokens: Tokens | None) -> dict[str, Any]: ...

    def stream(self) -> ChatStream: ...


class ChunkSource(Protocol):
    """An upstream's stream as chat completion chunks."""

    def feed(self, kind: Kind, payload: Any, event: str) -> list[dict[str, Any]]: ...


class WireSide(Protocol):
    """An upstream dialect's side of the pivot: chat requests out, chat answers back."""

    @property
    def api(self) -> Api: ...

    def request(self, chat: dict[str, Any]) -> dict[str, Any]: ...

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]: ...

    def chunks(self) -> ChunkSource: ...


async def nothing(answer: dict[str, Any]) -> None:
    """An exchange with nothing to do once its request is recorded."""


@dataclass(slots=True)
class Passthrough:
    """An exchange in the upstream's own API: only the model's name changes, both ways."""

    wire: Api
    payload: dict[str, Any]
    prompt_chars: int
    model_id: str
    streams: Callable[[], Stream] | None = None
    """Makes the client's stream; None for an API that does not stream."""

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]:
        answer["model"] = self.model_id
        return dict(answer)

    def stream(self) -> Stream:
        assert self.streams is not None, f"{self.wire} does not stream"
        return self.streams()

    async def completed(self, answer: dict[str, Any]) -> None:
        await nothing(answer)


@dataclass(slots=True)
class Translated:
    """An exchange through Chat Completions: client -> chat -> wire, and back."""

    client: ClientSide
    side: WireSide
    chat_request: dict[str, Any]
    prompt_chars: int
    on_complete: Callable[[dict[str, Any]], Awaitable[None]] = nothing
    wire: Api = field(init=False)
    payload: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.wire = self.side.api
        self.payload = self.side.request(self.chat_request)

    def answer(self, answer: Any, tokens: Tokens | None) -> dict[str, Any]:
        return self.client.answer(self.side.answer(answer, tokens), tokens)

    def stream(self) -> Stream:
        return TranslatedStream(self.side.chunks(), self.client.stream())

    async def completed(self, answer: dict[str, Any]) -> None:
        await self.on_complete(answer)


@dataclass(slots=True)
class TranslatedStream:
    source: ChunkSource
    sink: ChatStream

    def feed(self, kind: Kind, payload: Any, event: str) -> bytes:
        chunks = self.source.feed(kind, payload, event)
        if not chunks:
            return b""
        if len(chunks) == 1:
            return self.sink.feed(chunks[0])
        return b"".join(self.sink.feed(chunk) for chunk in chunks)

    def finish(self, tokens: Tokens, reported: bool) -> bytes:
        return self.sink.finish(tokens, reported)

    def fail(self, exc: ModelportError) -> bytes:
        return self.sink.fail(exc)

    def result(self) -> dict[str, Any] | None:
        return self.sink.result()
