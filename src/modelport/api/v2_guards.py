"""Per-credential request limits and a body size cap for /v2, as plain ASGI middleware.

Every /v2 response carries `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset`,
as DigitalOcean's API does. The bucket is the presented token's digest (so it needs no
database), or the client address when there is no bearer token.
"""

from __future__ import annotations

import time

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelport.api.context import bearer_token, request_id_of
from modelport.api.v2_errors import ERROR_IDS, MIDDLEWARE_HEADERS, ErrorBody
from modelport.core.digest import Digester
from modelport.core.secrets import API_TOKEN_PREFIX, is_well_formed
from modelport.infra.ratelimit import RateLimiter

PREFIX = "/v2/"


async def send_v2_error(
    scope: Scope, send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]]
) -> None:
    error = ErrorBody(id=ERROR_IDS[status], message=message, request_id=request_id_of(scope))
    body = orjson.dumps(error.model_dump())
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ApiRateLimitMiddleware:
    def __init__(
        self, app: ASGIApp, limiter: RateLimiter, digester: Digester, per_minute: int
    ) -> None:
        self.app = app
        self._limiter = limiter
        self._digester = digester
        self._per_minute = per_minute

    def _bucket(self, scope: Scope) -> str:
        """A well-formed token's own bucket; anything else shares its address's bucket."""
        token = bearer_token(scope)
        if token is not None and is_well_formed(API_TOKEN_PREFIX, token):
            return "v2:" + self._digester.digest(token).hex()[:32]
        return _address_bucket(scope)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        allowance = await self._limiter.hit(self._bucket(scope), self._per_minute, 60)
        # Failed authentications also count against the address, so that a client making up
        # a new well-formed token for every request is limited all the same.
        failures = await self._limiter.hit(_address_bucket(scope), self._per_minute, 60, cost=0)
        if failures.remaining <= 0 and allowance.remaining > failures.remaining:
            allowance = failures
        headers = [
            (b"ratelimit-limit", str(allowance.limit).encode()),
            (b"ratelimit-remaining", str(max(0, allowance.remaining)).encode()),
            (b"ratelimit-reset", str(allowance.reset_at).encode()),
        ]
        scope.setdefault("state", {})[MIDDLEWARE_HEADERS] = headers
        if not allowance.allowed:
            retry = str(allowance.retry_after(time.time())).encode()
            await send_v2_error(
                scope, send, 429, "API rate limit exceeded.", [*headers, (b"retry-after", retry)]
            )
            return

        refused = False

        async def send_with_limits(message: Message) -> None:
            nonlocal refused
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
                refused = message["status"] == 401
            await send(message)

        await self.app(scope, receive, send_with_limits)
        if refused and self._bucket(scope) != _address_bucket(scope):
            await self._limiter.hit(_address_bucket(scope), self._per_minute, 60)


def _address_bucket(scope: Scope) -> str:
    client = scope.get("client")
    return "v2ip:" + (client[0] if client else "unknown")


class BodyLimitMiddleware:
    """Refuses /v2 bodies over `max_bytes` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self._max = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > self._max:
                await send_v2_error(scope, send, 413, self._message(), [])
                return
        seen = 0
        too_large = False

        async def counting_receive() -> Message:
            # Past the cap, the app gets an empty end of body; its answer is replaced below.
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.request", "body": b"", "more_body": False}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self._max:
                    too_large = True
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def replacing_send(message: Message) -> None:
            if not too_large:
                await send(message)
            elif message["type"] == "http.response.start":
                await send_v2_error(scope, send, 413, self._message(), [])

        await self.app(scope, counting_receive, replacing_send)

    def _message(self) -> str:
        return f"request body is larger than {self._max} bytes"
