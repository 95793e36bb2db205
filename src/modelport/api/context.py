"""Request ids, the access log and request metrics, as plain ASGI middleware (cheap on /v1)."""

from __future__ import annotations

import logging
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport import metrics, tracing
from modelport.logs import bind_request_id

access_log = logging.getLogger("modelport.access")

CLIENT_CLOSED = 499
"""The status a request is logged and counted with when its client left before sending all
of it (nginx's "client closed request"): not a server error, and nothing was done."""
CLIENT_GONE = "client_gone"
ROUTE_TEMPLATE = "modelport.route"
"""Scope key where a surface outside the router (the /v1 data plane) names the route it served."""
OPS_PATHS = frozenset(("/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"))
TRACED = frozenset(("v1", "v2"))
"""The API families whose requests are traced (when tracing is on: `modelport.tracing`)."""
USER_AGENT_CHARS = 200


def bearer_token(scope: Scope) -> str | None:
    """The token in `Authorization: Bearer <token>`, or None."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            token = token.strip()
            return token if scheme.lower() == "bearer" and token else None
    return None


def family_of(path: str) -> str:
    """The API family a path belongs to: v1, v2, ops or panel."""
    if path.startswith("/v1/"):
        return "v1"
    if path.startswith("/v2/"):
        return "v2"
    return "ops" if path in OPS_PATHS else "panel"


def route_of(scope: Scope) -> str:
    """The route template of a served request, for metrics and traces (never a raw path)."""
    route: str = (
        scope.get(ROUTE_TEMPLATE) or getattr(scope.get("route"), "path", None) or "unmatched"
    )
    return route


def user_agent_of(scope: Scope) -> str | None:
    """The client's `User-Agent`, cut to a length a log line can hold."""
    value: bytes
    for name, value in scope["headers"]:
        if name == b"user-agent":
            return value[:USER_AGENT_CHARS].decode("latin-1")
    return None


def mark_client_gone(scope: Scope) -> None:
    """Say that the client disconnected before its request arrived whole."""
    scope.setdefault("state", {})[CLIENT_GONE] = True


def request_id_of(scope: Scope) -> str | None:
    state = scope.get("state")
    return None if state is None else state.get("request_id")


class RequestContextMiddleware:
    """Gives every request an id (`x-request-id`), logs one line and counts it when it ends.

    The line carries method, path, status, duration, the client's user agent and (on /v1)
    the model asked for. Never other headers, query strings or bodies, where credentials
    live; a secret a client pastes into the path is cut out by the log formatter
    (`modelport.core.redaction`). A request whose client left before sending its whole body
    is logged and counted with status 499. Every other line logged during the request
    carries the id too (`bind_request_id`), and its trace id when it is traced: /v1 and /v2
    requests get a server span while tracing is on (`modelport.tracing`; while it is off,
    that costs one check).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = str(uuid.uuid4())
        scope.setdefault("state", {})["request_id"] = request_id
        bind_request_id(request_id)
        started = time.perf_counter()
        status = 500
        header = (b"x-request-id", request_id.encode())
        family = family_of(scope["path"])
        in_flight = metrics.IN_FLIGHT_OF[family]
        in_flight.inc()
        span = tracing.server_span(scope) if family in TRACED else None

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        body_done = False

        async def receive_watching_body() -> Message:
            # A disconnect before the body's end means there was no request, whatever the
            # app answers (FastAPI turns the cut body into a 400 nobody receives).
            nonlocal body_done
            message = await receive()
            if message["type"] == "http.request":
                body_done = body_done or not message.get("more_body", False)
            elif not body_done:
                mark_client_gone(scope)
            return message

        try:
            await self.app(scope, receive_watching_body, send_with_id)
        finally:
            if scope["state"].get(CLIENT_GONE):
                status = CLIENT_CLOSED
            seconds = time.perf_counter() - started
            in_flight.dec()
            route = route_of(scope)
            method = scope["method"] if scope["method"] in metrics.METHODS else "other"
            metrics.count_request(family, route, method, status, seconds)
            client = scope.get("client")
            access_log.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 3),
                    "client": client[0] if client else None,
                    "user_agent": user_agent_of(scope),
                },
            )
            if span is not None:
                span.end(route, status, request_id)
