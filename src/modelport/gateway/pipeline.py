"""The one metered call every /v1 API goes through.

authorize -> scope and route -> admit -> call (failing over) -> record once -> settle. An
inbound API (`apis/`) says how to read the request and render the answer; the deployment's
dialect (`providers/dialects/`) says how to talk to its upstream; routing (`routing.py`)
says which deployments to try; this module does the rest, once for every API: the key's
limits, the upstream calls, exactly one usage row per request that reached an upstream
(whatever happens: an answer, an upstream failure, the client leaving, the drain ending),
the settlement, scrubbing what goes back, and stopping a request that is interrupted.

Failover: an attempt that fails before anything reached the client (no connection, no
answer in time, 429 or 5xx) is counted against its deployment's health and the next route
is tried, while the plan has one and the request's deadline allows. Only the attempt that
served is recorded, charged and named in the usage row; when every attempt failed, the last
failure is, uncharged, and its error (with the soonest `Retry-After`) goes to the client.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from modelport.catalog.deployment import Deployment
from modelport.core.pricing import Tokens
from modelport.drain import Drain
from modelport.errors import (
    ModelportError,
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
    retry_after_seconds,
    retryable,
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
from modelport.gateway.routing import Plan, Routing
from modelport.infra.cooldown import DeploymentHealth
from modelport.keys.verifier import KeyIdentity
from modelport.providers.dialects import Api
from modelport.providers.dialects.base import Kind, loads
from modelport.providers.scrub import Scrubber
from modelport.providers.upstream import Target, UpstreamClient
from modelport.usage.admission import KeyLimiter
from modelport.usage.recorder import UsageRecorder
from modelport.usage.row import Status

STOPPING = "The server is shutting down; retry the request."


class AttemptFailed(Exception):
    """An attempt failed before anything reached the client: another route may serve it."""

    def __init__(
        self, error: ModelportError, kind: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(kind)
        self.error = error
        self.kind = kind
        self.retry_after = retry_after


Work = Callable[["Call", Route, Exchange, "Outbound", Send], Awaitable[None]]


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
        routing: Routing,
        upstream: UpstreamClient,
        recorder: UsageRecorder,
        limiter: KeyLimiter,
        drain: Drain,
        health: DeploymentHealth,
        *,
        deadline: float,
    ) -> None:
        self._access = access
        self._routing = routing
        self._upstream = upstream
        self._recorder = recorder
        self._limiter = limiter
        self._drain = drain
        self._health = health
        self._deadline = deadline
        self._scrubbers: dict[str, Scrubber] = {}

    async def serve(
        self, api: InboundApi, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        """Serve one request of `api`, from its key to its settlement."""
        identity = await self._access.authorize(scope, x_api_key=api.x_api_key)
        inbound = api.parse(await self._access.body(receive), header_map(scope))
        plan = self._routing.plan(
            request_id(scope),
            identity,
            inbound.model,
            api.model_type,
            lambda model: api.check(inbound, model),
        )
        route = plan.routes[0]
        exchange = await api.exchange(inbound, route)
        call = Call(route.request_id, identity, route.model, exchange.prompt_chars)
        call.deployment = route.deployment
        await self._admit(call, plan, inbound.output_budget, headers)
        work: Work = self._stream if inbound.stream else self._plain
        await self._guarded(
            call,
            receive,
            send,
            api.errors,
            lambda: self._attempts(call, api, inbound, plan, exchange, send, work),
        )

    def route(self, request_id: str, identity: KeyIdentity, model_id: str) -> Route:
        """The first route of a chat model's plan, for a call that is not metered."""
        return self._routing.plan(request_id, identity, model_id, "chat").routes[0]

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
        deployment, dialect = route.deployment, route.dialect
        assert deployment.base_url is not None  # only configured deployments are routed to
        base = dialect.target(deployment.base_url, deployment.api_key)
        return Outbound(
            Target(
                base.base_url,
                base.headers + deployment.headers + dialect.headers(forwarded),
                max_connections=deployment.max_connections,
                timeout=deployment.timeout,
            ),
            dialect.path(api),
            orjson.dumps(dialect.prepare(api, payload, deployment.upstream_model)),
            self._scrubber(deployment),
        )

    def _scrubber(self, deployment: Deployment) -> Scrubber:
        scrubber = self._scrubbers.get(deployment.id)
        if scrubber is None:
            scrubber = self._scrubbers[deployment.id] = Scrubber(*deployment.secrets)
        return scrubber

    async def _admit(
        self, call: Call, plan: Plan, output_budget: int | None, headers: Headers
    ) -> None:
        """Apply the key's limits before any upstream call; RateLimited past them. The hold
        is what the dearest model the request may reach could cost."""
        prompt = estimate_tokens(call.prompt_chars)
        estimate = max(
            model.prices.cost(
                Tokens(prompt, model.max_output_tokens if output_budget is None else output_budget)
            )
            for model in plan.models
        )
        call.admission = await self._limiter.admit(
            call.identity, call.request_id, estimate, headers
        )

    async def _attempts(
        self,
        call: Call,
        api: InboundApi,
        inbound: Inbound,
        plan: Plan,
        exchange: Exchange,
        send: Send,
        work: Work,
    ) -> None:
        """Try the plan's routes in turn until one serves the request (see the module's
        docstring); when none does, the last failure is recorded, uncharged, and raised."""
        failure: AttemptFailed | None = None
        waits: list[float] = []
        for position, route in enumerate(plan.routes):
            if position:
                if time.perf_counter() - call.started >= self._deadline:
                    break
                try:
                    exchange = await api.exchange(inbound, route)
                except ModelportError:
                    continue  # this route cannot take the request (its context, say)
                call.retarget(route.model, route.deployment, exchange.prompt_chars)
            outbound = self._outbound(route, exchange.wire, exchange.payload, inbound.forwarded)
            call.attempting = True
            try:
                await work(call, route, exchange, outbound, send)
                return
            except AttemptFailed as failed:
                call.attempting = False
                failure = failed
                count_failure(call.request_id, route.model.id, route.deployment.id, failed.kind)
                if failed.retry_after is not None:
                    waits.append(failed.retry_after)
                if self._benches(route, failed):
                    await self._health.failed(route.deployment.id, failed.retry_after)
        assert failure is not None  # the first route is always tried
        await self._record(call, failure_status(failure.error), charge=False)
        if waits:  # the upstreams said when to come back: the soonest of them
            failure.error.retry_after = max(1, math.ceil(min(waits)))
        raise failure.error from None

    @staticmethod
    def _benches(route: Route, failed: AttemptFailed) -> bool:
        """Whether a failed attempt counts against its deployment's health. Not when the hub
        itself had no connection to spare (busy), and not for a deployment the team cannot
        fail over from (benching it would only turn its errors into refusals), unless its
        upstream asked to be left alone (Retry-After)."""
        if failed.kind == "busy":
            return False
        if failed.retry_after is not None:
            return True
        return len(route.model.serving(route.identity.team_name)) > 1

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
                # Between failed attempts no upstream is working on it: nothing to charge.
                call.usage_row = call.row("client_disconnect", charge=call.attempting)
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
        deployment = "" if call.deployment is None else call.deployment.id
        count_failure(call.request_id, call.model.id, deployment, kind)
        if call.usage_row is None:
            await self._record(call, status, charge=charge)

    async def _plain(
        self,
        call: Call,
        route: Route,
        exchange: Exchange,
        outbound: Outbound,
        send: Send,
    ) -> None:
        try:
            async with self._upstream.post(outbound.target, outbound.path, outbound.body) as got:
                status, data = got.status, await got.read()
                wait = retry_after_seconds(got)
        except UpstreamError as exc:
            raise AttemptFailed(exc, failure_kind(exc, started=False)) from None
        if not 200 <= status < 300:
            await self._refused(call, route, outbound, status, data, wait)
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

    async def _refused(
        self,
        call: Call,
        route: Route,
        outbound: Outbound,
        status: int,
        data: bytes,
        wait: float | None,
    ) -> None:
        """An upstream's error answer: AttemptFailed when another deployment may do better
        (429, 5xx), else the request's error, recorded."""
        error = upstream_failure(status, data, call.model.id, route.dialect, outbound.scrubber)
        if retryable(status):
            raise AttemptFailed(error, f"http_{status}", retry_after=wait)
        await self._failed(call, f"http_{status}", "upstream_error")
        raise error

    async def _stream(
        self,
        call: Call,
        route: Route,
        exchange: Exchange,
        outbound: Outbound,
        send: Send,
    ) -> None:
        stream = exchange.stream()
        call.meter = route.dialect.meter(exchange.wire)
        try:
            async with self._upstream.post(outbound.target, outbound.path, outbound.body) as got:
                if not got.ok:
                    data = await got.read()
                    await self._refused(
                        call, route, outbound, got.status, data, retry_after_seconds(got)
                    )
                await start_stream(send)
                call.stream = stream
                await self._relay(call, stream, got.events(), outbound.scrubber, send)
        except (UpstreamError, StorageUnavailable) as exc:
            if call.stream is None:
                if isinstance(exc, UpstreamError) and call.usage_row is None:
                    raise AttemptFailed(exc, failure_kind(exc, started=False)) from None
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
                call.sent()
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
        call.streamed()
