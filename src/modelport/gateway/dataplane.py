"""The /v1 router: each path to its endpoint, and each endpoint's errors in its API's shape.

Plain ASGI on the hot path (no FastAPI dependency injection, no pydantic bodies). Metered
endpoints go through the one `Pipeline`; the others (models, stored responses) are small
handlers of their API's module.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.types import Message, Receive, Scope, Send

from modelport.api.context import ROUTE_TEMPLATE, request_id_of
from modelport.drain import Drain
from modelport.errors import ModelportError, ShuttingDown
from modelport.gateway.apis.openai_errors import OpenAIErrors, envelope
from modelport.gateway.exchange import InboundApi
from modelport.gateway.pipeline import STOPPING, Pipeline
from modelport.gateway.requests import ClientGone, Headers
from modelport.gateway.respond import ErrorModel, send_error, send_json

Handler = Callable[[Scope, Receive, Send, Headers], Awaitable[None]]
OPENAI = OpenAIErrors()

log = logging.getLogger("modelport.gateway")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One path: its handler per method, and the error model of its API."""

    template: str
    methods: dict[str, Handler]
    errors: ErrorModel

    @property
    def route(self) -> str:
        """The template as metrics and logs name the route: `/v1/models/{model}`."""
        return self.template.replace(":path}", "}")


def metered(pipeline: Pipeline, api: InboundApi, template: str) -> Endpoint:
    """The POST endpoint of an API that reaches an upstream."""

    async def handle(scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        await pipeline.serve(api, scope, receive, send, headers)

    return Endpoint(template, {"POST": handle}, api.errors)


class DataPlane:
    """Serves `/v1/...`: `endpoints` by exact path, `templated` ones (see `pattern`) in the
    order given; the parts go to the handler in `scope["path_params"]`."""

    def __init__(self, drain: Drain, endpoints: list[Endpoint], templated: list[Endpoint]) -> None:
        self._drain = drain
        self._exact = {endpoint.template: endpoint for endpoint in endpoints}
        self._templated = [(pattern(endpoint.template), endpoint) for endpoint in templated]

    @property
    def endpoints(self) -> list[Endpoint]:
        """Every endpoint served (the OpenAPI document must describe each)."""
        return [*self._exact.values(), *(endpoint for _, endpoint in self._templated)]

    def _endpoint(self, scope: Scope) -> Endpoint | None:
        path = scope["path"].rstrip("/")
        endpoint = self._exact.get(path)
        if endpoint is not None:
            return endpoint
        for regex, candidate in self._templated:
            match = regex.fullmatch(path)
            if match:
                scope["path_params"] = match.groupdict()
                return candidate
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._endpoint(scope)
        if endpoint is None:
            error = envelope("Unknown endpoint.", "invalid_request_error", "not_found")
            await send_json(send, 404, error)
            return
        scope[ROUTE_TEMPLATE] = endpoint.route
        handler = endpoint.methods.get(scope["method"])
        if handler is None:
            allowed = ", ".join(endpoint.methods)
            error = envelope(f"Use {allowed}.", "invalid_request_error", "method_not_allowed")
            await send_json(send, 405, error, [(b"allow", allowed.encode())])
            return
        await self._handle(endpoint, handler, scope, receive, send)

    async def _handle(
        self, endpoint: Endpoint, handler: Handler, scope: Scope, receive: Receive, send: Send
    ) -> None:
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
            if self._drain.draining:
                raise ShuttingDown(STOPPING)
            await handler(scope, receive, send_with_headers, headers)
        except ClientGone:
            return  # nobody to answer: the request context logs and counts a 499
        except ModelportError as exc:
            if not started:
                await send_error(send_with_headers, endpoint.errors, exc)
        except Exception:
            log.exception("unhandled error", extra={"request_id": request_id_of(scope)})
            if not started:
                error = envelope("Unexpected server-side error.", "server_error", "internal_error")
                await send_json(send_with_headers, 500, error)


def pattern(template: str) -> re.Pattern[str]:
    """`/v1/responses/{id}` as a regular expression with a named group per part: one path
    segment, or the rest of the path for `{name:path}` (model ids may hold slashes)."""
    regex = re.sub(r"\{(\w+):path\}", r"(?P<\1>.+)", template)
    return re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", regex))
