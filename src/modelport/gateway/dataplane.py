"""The /v1 endpoints: authorize -> route -> call the upstream -> meter -> answer."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport import metrics
from modelport.api.context import ROUTE_TEMPLATE, bearer_token, request_id_of
from modelport.catalog.model import CatalogModel
from modelport.catalog.service import Catalog
from modelport.core.pricing import Tokens
from modelport.errors import (
    Forbidden,
    InvalidInput,
    ModelportError,
    NotFound,
    RateLimited,
    StorageUnavailable,
    Unauthenticated,
    UpstreamError,
    UpstreamTimeout,
)
from modelport.gateway.call import Call, upstream_payload
from modelport.gateway.disconnect import DisconnectWatch
from modelport.gateway.requests import (
    check_limits,
    estimate_tokens,
    parse_chat,
    parse_embeddings,
    read_body,
)
from modelport.gateway.sse import (
    DONE,
    completion_chars,
    event_data,
    generated_pieces,
    usage_of,
    without_usage,
)
from modelport.gateway.wire import error_body, error_shape, send_error, send_json
from modelport.keys.verifier import KeyIdentity, KeyVerifier
from modelport.providers.upstream import UpstreamClient
from modelport.usage.limits import KeyLimiter
from modelport.usage.recorder import UsageRecorder
from modelport.usage.row import Status

Headers = list[tuple[bytes, bytes]]
Handler = Callable[[Scope, Receive, Send, Headers], Awaitable[None]]
SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
MODEL_PREFIX = "/v1/models/"
NO_KEY = "You didn't provide an API key. Send 'Authorization: Bearer <model access key>'."

log = logging.getLogger("modelport.gateway")


class DataPlane:
    """Serves `/v1/models`, `/v1/chat/completions` and `/v1/embeddings`."""

    def __init__(
        self,
        verifier: KeyVerifier,
        catalog: Catalog,
        upstream: UpstreamClient,
        recorder: UsageRecorder,
        limiter: KeyLimiter,
        *,
        max_body: int,
    ) -> None:
        self._limiter = limiter
        self._verifier = verifier
        self._catalog = catalog
        self._upstream = upstream
        self._recorder = recorder
        self._max_body = max_body
        self._routes: dict[str, tuple[str, Handler]] = {
            "/v1/models": ("GET", self._models),
            "/v1/chat/completions": ("POST", self._chat),
            "/v1/embeddings": ("POST", self._embeddings),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].rstrip("/")
        route = self._routes.get(path)
        if route is None and path.startswith(MODEL_PREFIX):
            route, path = ("GET", self._model), MODEL_PREFIX + "{model}"
        if route is None:
            await send_json(
                send, 404, error_body("Unknown endpoint.", "invalid_request_error", "not_found")
            )
            return
        scope[ROUTE_TEMPLATE] = path
        method, handler = route
        if scope["method"] != method:
            await send_json(
                send,
                405,
                error_body(f"Use {method}.", "invalid_request_error", "method_not_allowed"),
            )
            return
        # Each handler adds the key's x-ratelimit-* headers here; every response carries them.
        headers: Headers = []
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if headers:
                    message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        try:
            await handler(scope, receive, send_with_headers, headers)
        except ModelportError as exc:
            await send_error(send_with_headers, exc)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id_of(scope)})
            if not started:
                body = error_body("Unexpected server-side error.", "server_error", "internal_error")
                await send_json(send_with_headers, 500, body)

    async def _authorize(self, scope: Scope) -> KeyIdentity:
        token = bearer_token(scope)
        if token is None:
            metrics.KEY_REFUSALS.inc("missing")
            raise Unauthenticated(NO_KEY)
        identity = await self._verifier.verify(token)
        self._recorder.touch(identity.key_id)
        return identity

    def _model_for(self, identity: KeyIdentity, model_id: str) -> CatalogModel:
        if identity.models is not None and model_id not in identity.models:
            if self._catalog.find(model_id) is None:
                raise NotFound(f"The model {model_id!r} does not exist.")
            raise Forbidden(f"This model access key may not use the model {model_id!r}.")
        return self._catalog.servable(model_id)

    async def _models(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._authorize(scope)
        allowed = [
            {"id": m.id, "object": "model", "created": 0, "owned_by": m.entry.provider}
            for m in self._catalog.all()
            if m.available and (identity.models is None or m.id in identity.models)
        ]
        await send_json(send, 200, orjson.dumps({"object": "list", "data": allowed}))

    async def _model(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        """One model, as `GET /v1/models/{id}` (the SDK's `models.retrieve`) gives it."""
        identity = await self._authorize(scope)
        model_id = scope["path"].rstrip("/")[len(MODEL_PREFIX) :]
        model = self._catalog.find(model_id)
        if (
            model is None
            or not model.available
            or (identity.models is not None and model_id not in identity.models)
        ):
            raise NotFound(f"The model {model_id!r} does not exist or this key may not use it.")
        body = {"id": model.id, "object": "model", "created": 0, "owned_by": model.entry.provider}
        await send_json(send, 200, orjson.dumps(body))

    async def _chat(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        identity = await self._authorize(scope)
        request = parse_chat(await read_body(receive, self._max_body))
        model = self._model_for(identity, request.model)
        if model.entry.type != "chat":
            raise InvalidInput(
                f"{model.id} is an embedding model; use /v1/embeddings.", field="model"
            )
        check_limits(request, model)
        body = orjson.dumps(upstream_payload(request.payload, model, stream=request.stream))
        call = Call(
            _request_id(scope), identity, model, body, request.prompt_chars, request.include_usage
        )
        completion = _requested_tokens(request.payload) or model.max_output_tokens
        await self._admit(call, completion, headers)
        if request.stream:
            await self._guarded(call, receive, lambda: self._stream(call, send))
        else:
            await self._guarded(
                call, receive, lambda: self._complete(call, "/chat/completions", send)
            )

    async def _embeddings(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        identity = await self._authorize(scope)
        payload, model_id, chars = parse_embeddings(await read_body(receive, self._max_body))
        model = self._model_for(identity, model_id)
        if model.entry.type != "embedding":
            raise InvalidInput(
                f"{model.id} is a chat model; use /v1/chat/completions.", field="model"
            )
        body = orjson.dumps(upstream_payload(payload, model, stream=False))
        call = Call(_request_id(scope), identity, model, body, chars)
        await self._admit(call, 0, headers)
        await self._guarded(call, receive, lambda: self._complete(call, "/embeddings", send))

    async def _admit(self, call: Call, completion_tokens: int, headers: Headers) -> None:
        """Apply the key's limits before any upstream call; RateLimited past them."""
        estimate = call.model.prices.cost(
            Tokens(estimate_tokens(call.prompt_chars), completion_tokens)
        )
        call.admission = await self._limiter.admit(
            call.identity, call.request_id, estimate, headers
        )

    async def _guarded(
        self, call: Call, receive: Receive, work: Callable[[], Awaitable[None]]
    ) -> None:
        """Run `work`; if the client leaves first, cancel it and charge what was used."""
        watch = DisconnectWatch(receive)
        try:
            await work()
        except asyncio.CancelledError:
            if not watch.fired:
                raise
            watch.absorb()
            if call.usage_row is None:
                call.usage_row = call.row("client_disconnect")
                self._recorder.submit(call.usage_row)
        finally:
            watch.stop()
            await self._settle(call)

    async def _settle(self, call: Call) -> None:
        """Count what the request really used against its key's limits."""
        if call.admission is None:
            return
        row = call.usage_row
        tokens = 0 if row is None else row.prompt_tokens + row.completion_tokens
        await self._limiter.settle(call.admission, tokens, 0 if row is None else row.cost_picousd)

    async def _record(
        self, call: Call, status: Status, *, completion_chars: int = 0, charge: bool = True
    ) -> None:
        call.usage_row = call.row(status, completion_chars=completion_chars, charge=charge)
        await self._recorder.record(call.usage_row)

    async def _complete(self, call: Call, path: str, send: Send) -> None:
        try:
            async with self._upstream.post(call.target, path, call.body) as response:
                status, data = response.status, await response.read()
        except UpstreamError as exc:
            _upstream_failed(call, _failure_kind(exc, started=False))
            await self._record(call, _failure_status(exc), charge=False)
            raise
        if not 200 <= status < 300:
            _upstream_failed(call, f"http_{status}")
            await self._record(call, "upstream_error", charge=False)
            raise upstream_failure(status, data, call.model)
        parsed = _loads(data)
        call.usage = usage_of(parsed)
        await self._record(call, "ok", completion_chars=completion_chars(parsed))
        await send_json(send, 200, data)

    async def _stream(self, call: Call, send: Send) -> None:
        started = False
        try:
            async with self._upstream.post(call.target, "/chat/completions", call.body) as response:
                if not response.ok:
                    data = await response.read()
                    _upstream_failed(call, f"http_{response.status}")
                    await self._record(call, "upstream_error", charge=False)
                    raise upstream_failure(response.status, data, call.model)
                await send({"type": "http.response.start", "status": 200, "headers": SSE_HEADERS})
                started = True
                async for events in response.events():
                    out, done = self._relay_all(call, events)
                    if out:
                        await send({"type": "http.response.body", "body": out, "more_body": True})
                    if done:
                        break
        except (UpstreamError, StorageUnavailable) as exc:
            if isinstance(exc, UpstreamError) and call.usage_row is None:
                _upstream_failed(call, _failure_kind(exc, started=started))
            if not started:
                if call.usage_row is None:
                    await self._record(call, _failure_status(exc), charge=False)
                raise
            if call.usage_row is None:
                await self._record(call, _failure_status(exc))
            await self._end_stream_with_error(send, exc)
            return
        try:
            await self._record(call, "ok")
        except StorageUnavailable as exc:
            await self._end_stream_with_error(send, exc)
            return
        if call.include_usage and call.usage is None and call.usage_row is not None:
            # The client asked for usage and the upstream gave none: send our estimate.
            await send({"type": "http.response.body", "body": usage_chunk(call), "more_body": True})
        await send({"type": "http.response.body", "body": DONE + b"\n\n", "more_body": False})

    def _relay_all(self, call: Call, events: list[bytes]) -> tuple[bytes, bool]:
        """What to pass on for events that arrived together, and whether the stream ended.

        One write per arrival rather than one per event: each write is a syscall.
        """
        out: list[bytes] = []
        for event in events:
            if event.startswith(DONE):
                return b"".join(out), True
            relayed = self._relay(call, event)
            if relayed is not None:
                out.append(relayed)
        return b"".join(out), False

    def _relay(self, call: Call, event: bytes) -> bytes | None:
        """What to pass on for one upstream event, counting what it generated."""
        chunk = event_data(event)
        usage = usage_of(chunk)
        if usage is None:
            call.pieces += generated_pieces(chunk)
            return event + b"\n\n"
        call.usage = usage
        if call.include_usage:
            return event + b"\n\n"
        stripped = without_usage(chunk)
        return None if stripped is None else stripped + b"\n\n"

    async def _end_stream_with_error(self, send: Send, exc: ModelportError) -> None:
        _, error_type, code = error_shape(exc)
        event = b"data: " + error_body(exc.message, error_type, code) + b"\n\n"
        await send({"type": "http.response.body", "body": event, "more_body": False})


class DataPlaneMiddleware:
    """Sends `/v1/...` to the data plane and everything else on down the stack."""

    def __init__(self, app: ASGIApp, data_plane: DataPlane) -> None:
        self.app = app
        self._data_plane = data_plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"] if scope["type"] == "http" else ""
        if path == "/v1" or path.startswith("/v1/"):
            await self._data_plane(scope, receive, send)
        else:
            await self.app(scope, receive, send)


def usage_chunk(call: Call) -> bytes:
    """A final chunk carrying the recorded (estimated) usage, as OpenAI's usage chunk looks."""
    row = call.usage_row
    assert row is not None
    usage = {
        "prompt_tokens": row.prompt_tokens,
        "completion_tokens": row.completion_tokens,
        "total_tokens": row.prompt_tokens + row.completion_tokens,
    }
    chunk = {
        "id": "chatcmpl-" + call.request_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": call.model.id,
        "choices": [],
        "usage": usage,
    }
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def upstream_failure(status: int, data: bytes, model: CatalogModel) -> ModelportError:
    """Our error for an upstream's error answer; its message is kept only for request faults."""
    if status in (400, 404, 413, 422):
        detail = _upstream_message(data, model)
        return InvalidInput(
            f"The upstream provider rejected the request: {detail}", code="upstream_rejected"
        )
    if status == 429:
        return RateLimited(
            "The upstream provider is rate limiting this model; retry shortly.", retry_after=1
        )
    return UpstreamError(f"The upstream provider for {model.id} answered HTTP {status}.")


def _upstream_message(data: bytes, model: CatalogModel) -> str:
    parsed = _loads(data)
    message = "no details given"
    if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict):
        message = str(parsed["error"].get("message") or message)
    if model.api_key:
        message = message.replace(model.api_key, "[redacted]")
    return message[:300]


def _upstream_failed(call: Call, kind: str) -> None:
    """Count and log an upstream failure (the model and the kind; never the upstream's body)."""
    metrics.UPSTREAM_ERRORS.inc(call.model.id, kind)
    log.warning(
        "upstream error",
        extra={"request_id": call.request_id, "model": call.model.id, "kind": kind},
    )


def _failure_kind(exc: UpstreamError, *, started: bool) -> str:
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    return "stream_broken" if started else "connection"


def _failure_status(exc: ModelportError) -> Status:
    return "upstream_timeout" if isinstance(exc, UpstreamTimeout) else "upstream_error"


def _loads(data: bytes) -> object:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def _requested_tokens(payload: dict[str, object]) -> int | None:
    for name in ("max_completion_tokens", "max_tokens"):
        value = payload.get(name)
        if isinstance(value, int):
            return value
    return None


def _request_id(scope: Scope) -> str:
    request_id = request_id_of(scope)
    assert request_id is not None  # RequestContextMiddleware sets it
    return request_id
