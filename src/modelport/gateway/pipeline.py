"""The one metered call every /v1 API goes through.

authorize -> scope -> admit -> call -> record once -> settle. An inbound API (`apis/`) says
how to read the request and render the answer; the model's dialect (`providers/dialects/`)
says how to talk to its upstream; this module does the rest, once for every API: the
key's limits, the upstream call, exactly one usage row per request that reached an upstream
(whatever happens: an answer, an upstream failure, the client leaving, the drain ending),
the settlement, scrubbing what goes back, and stopping a request that is interrupted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from modelport.catalog.model import CatalogModel
from modelport.core.pricing import Tokens
from modelport.drain import Drain
from modelport.errors import (
    ShuttingDown,
    StorageUnavailable,
    UpstreamError,
)
from modelport.gateway.access import Access
from modelport.gateway.call import Call, answer_chars, recorded_tokens
from modelport.gateway.exchange import Exchange, Inbound, InboundApi, Route, Stream
from modelport.gateway.failures import (
    UpstreamReportedError,
    count_failure,
    failure_kind,
    failure_status,
    upstream_failure,
)
from modelport.gateway.interrupt import SERVER_SHUTDOWN, InterruptWatch
from modelport.gateway.requests import Headers, estimate_tokens, header_map, request_id
from modelport.gateway.respond import (
    ErrorModel,
    end_stream,
    send_error,
    send_json,
    send_more,
    start_stream,
)
from modelport.providers.dialects import DIALECTS, Api
from modelport.providers.dialects.base import Kind, loads
from modelport.providers.scrub import Scrubber
from modelport.providers.upstream import Target, UpstreamClient
from modelport.usage.admission import KeyLimiter
from modelport.usage.recorder import UsageRecorder
from modelport.usage.row import Status

STOPPING = "The server is shutting down; retry the request."


@dataclass(frozen=True, slots=True)
class Outbound:
    """The upstream request of a call."""

    target: Target
    path: str
    body: bytes
    scrubber: Scrubber


class Pipeline:
    def __init__(
        self,
        access: Access,
        upstream: UpstreamClient,
        recorder: UsageRecorder,
        limiter: KeyLimiter,
        drain: Drain,
    ) -> None:
        self._access = access
        self._upstream = upstream
        self._recorder = recorder
        self._limiter = limiter
        self._drain = drain
        self._scrubbers: dict[str, Scrubber] = {}

    async def serve(
        self, api: InboundApi, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        """Serve one request of `api`, from its key to its settlement."""
        identity = await self._access.authorize(scope, x_api_key=api.x_api_key)
        inbound = api.parse(await self._access.body(receive), header_map(scope))
        model = self._access.scope(identity, inbound.model, api.model_type)
        api.check(inbound, model)
        route = Route(request_id(scope), identity, model, DIALECTS[model.entry.dialect])
        exchange = await api.exchange(inbound, route)
        outbound = self._outbound(route, exchange.wire, exchange.payload, inbound.forwarded)
        call = Call(route.request_id, identity, model, exchange.prompt_chars)
        budget = inbound.output_budget
        await self._admit(call, model.max_output_tokens if budget is None else budget, headers)
        if inbound.stream:
            await self._guarded(
                call,
                receive,
                send,
                api.errors,
                lambda: self._stream(call, route, exchange, outbound, send),
            )
        else:
            await self._guarded(
                call,
                receive,
                send,
                api.errors,
                lambda: self._plain(call, route, exchange, outbound, send),
            )

    async def ask(self, route: Route, api: Api, inbound: Inbound) -> Any:
        """An upstream call that costs nothing, so is neither admitted nor recorded (Anthropic's
        token count): its parsed answer. Raises as a metered call's failures do."""
        outbound = self._outbound(route, api, inbound.payload, inbound.forwarded)
        async with self._upstream.post(outbound.target, outbound.path, outbound.body) as got:
            status, data = got.status, await got.read()
        if not 200 <= status < 300:
            raise upstream_failure(status, data, route.model.id, route.dialect, outbound.scrubber)
        return loads(data)

    def _outbound(
        self, route: Route, api: Api, payload: dict[str, Any], forwarded: dict[str, str]
    ) -> Outbound:
        """The upstream request: the dialect's path, headers and body for `api`."""
        model, dialect = route.model, route.dialect
        assert model.base_url is not None  # only available models are served
        base = dialect.target(model.base_url, model.api_key)
        return Outbound(
            Target(base.base_url, base.headers + dialect.headers(forwarded)),
            dialect.path(api),
            orjson.dumps(dialect.prepare(api, payload, model.upstream_model)),
            self._scrubber(model),
        )

    def _scrubber(self, model: CatalogModel) -> Scrubber:
        scrubber = self._scrubbers.get(model.id)
        if scrubber is None:
            scrubber = self._scrubbers[model.id] = Scrubber(model.api_key)
        return scrubber

    async def _admit(self, call: Call, completion_tokens: int, headers: Headers) -> None:
        """Apply the key's limits before any upstream call; RateLimited past them."""
        estimate = call.model.prices.cost(
            Tokens(estimate_tokens(call.prompt_chars), completion_tokens)
        )
        call.admission = await self._limiter.admit(
            call.identity, call.request_id, estimate, headers
        )

    async def _guarded(
        self,
        call: Call,
        receive: Receive,
        send: Send,
        errors: ErrorModel,
        work: Callable[[], Awaitable[None]],
    ) -> None:
        """Run `work`; if the client leaves or the drain ends first, stop it and charge what
        was delivered (a request the server cut before any answer costs nothing)."""
        watch = InterruptWatch(receive, self._drain)
        try:
            await work()
        except asyncio.CancelledError:
            if watch.reason is None:
                raise
            watch.absorb()
            if watch.reason == SERVER_SHUTDOWN:
                await self._cut(call, send, errors)
            elif call.usage_row is None:
                call.usage_row = call.row("client_disconnect")
                self._recorder.submit(call.usage_row)
        finally:
            watch.stop()
            await self._settle(call)

    async def _cut(self, call: Call, send: Send, errors: ErrorModel) -> None:
        """The drain ended while `call` ran: record it once and tell the client why."""
        delivered = call.stream is not None
        if call.usage_row is None:
            call.usage_row = call.row("server_shutdown", charge=delivered)
            self._recorder.submit(call.usage_row)
        stopping = ShuttingDown(STOPPING)
        if call.stream is not None:
            await end_stream(send, call.stream.fail(stopping))
        else:
            await send_error(send, errors, stopping)

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

    async def _failed(self, call: Call, kind: str, status: Status, *, charge: bool = False) -> None:
        """Count an upstream failure and record the request (once)."""
        count_failure(call.request_id, call.model.id, kind)
        if call.usage_row is None:
            await self._record(call, status, charge=charge)

    async def _plain(
        self, call: Call, route: Route, exchange: Exchange, outbound: Outbound, send: Send
    ) -> None:
        try:
            async with self._upstream.post(outbound.target, outbound.path, outbound.body) as got:
                status, data = got.status, await got.read()
        except UpstreamError as exc:
            await self._failed(call, failure_kind(exc, started=False), failure_status(exc))
            raise
        if not 200 <= status < 300:
            await self._failed(call, f"http_{status}", "upstream_error")
            raise upstream_failure(status, data, call.model.id, route.dialect, outbound.scrubber)
        parsed = loads(outbound.scrubber.scrub(data))
        if not isinstance(parsed, dict):
            await self._failed(call, "not_json", "upstream_error")
            raise UpstreamError(
                f"The upstream provider for {call.model.id} sent an answer that is not JSON."
            )
        call.tokens = route.dialect.usage(exchange.wire, parsed)
        chars = 0 if call.tokens is not None else answer_chars(parsed)
        await self._record(call, "ok", completion_chars=chars)
        answer = exchange.answer(parsed, call.tokens)
        await exchange.completed(answer)
        await send_json(send, 200, orjson.dumps(answer))

    async def _stream(
        self, call: Call, route: Route, exchange: Exchange, outbound: Outbound, send: Send
    ) -> None:
        stream = exchange.stream()
        call.meter = route.dialect.meter(exchange.wire)
        try:
            async with self._upstream.post(outbound.target, outbound.path, outbound.body) as got:
                if not got.ok:
                    data = await got.read()
                    await self._failed(call, f"http_{got.status}", "upstream_error")
                    raise upstream_failure(
                        got.status, data, call.model.id, route.dialect, outbound.scrubber
                    )
                await start_stream(send)
                call.stream = stream
                await self._relay(call, stream, got.events(), outbound.scrubber, send)
        except (UpstreamError, StorageUnavailable) as exc:
            if call.stream is None:
                if isinstance(exc, UpstreamError):
                    await self._failed(call, failure_kind(exc, started=False), failure_status(exc))
                raise
            if isinstance(exc, UpstreamError):
                kind = failure_kind(exc, started=True)
                await self._failed(call, kind, failure_status(exc), charge=True)
            await end_stream(send, stream.fail(exc))
            return
        await self._finish(call, exchange, stream, send)

    async def _relay(
        self, call: Call, stream: Stream, arrivals: Any, scrubber: Scrubber, send: Send
    ) -> None:
        """Pass the upstream's events on as they arrive, one write per arrival, until the
        stream ends; UpstreamReportedError on an upstream error event (never relayed)."""
        meter = call.meter
        assert meter is not None
        async for events in arrivals:
            out: list[bytes] = []
            kind: Kind = "data"
            for event in events:
                # Scrubbed as it comes in: whatever reaches the client is made of it.
                kind, payload = meter.read(event.event, scrubber.scrub(event.data))
                if kind in ("error", "end"):
                    break
                piece = stream.feed(kind, payload, event.event)
                if piece:
                    out.append(piece)
                if kind == "final":
                    break
            if out:  # what came before an error or the end is delivered (and charged) first
                await send_more(send, b"".join(out))
            if kind == "error":
                raise UpstreamReportedError(
                    f"The upstream provider for {call.model.id} failed mid-stream."
                )
            if kind in ("end", "final"):
                return

    async def _finish(self, call: Call, exchange: Exchange, stream: Stream, send: Send) -> None:
        """Record the finished stream, then send its last events."""
        assert call.meter is not None
        call.tokens = call.meter.tokens
        try:
            await self._record(call, "ok")
        except StorageUnavailable as exc:
            await end_stream(send, stream.fail(exc))
            return
        assert call.usage_row is not None
        tail = stream.finish(recorded_tokens(call.usage_row), reported=call.tokens is not None)
        result = stream.result()
        if result is not None:
            await exchange.completed(result)
        await end_stream(send, tail)
