"""`POST /v1/messages/count_tokens` (Claude Code calls it before it sends a prompt).

On an Anthropic upstream the count is the upstream's own; elsewhere it is our estimate
(about four characters a token). `x-modelport-token-count: upstream|estimate` says which.
A count costs nothing upstream, so it is neither admitted against limits nor recorded.
"""

from __future__ import annotations

import orjson
from starlette.types import Receive, Scope, Send

from modelport.gateway.access import Access
from modelport.gateway.apis.messages import parse_messages
from modelport.gateway.pipeline import Pipeline
from modelport.gateway.requests import Headers, estimate_tokens, header_map, request_id
from modelport.gateway.respond import send_json
from modelport.providers.dialects.base import count

SOURCE = b"x-modelport-token-count"


class CountTokens:
    def __init__(self, access: Access, pipeline: Pipeline) -> None:
        self._access = access
        self._pipeline = pipeline

    async def handle(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._access.authorize(scope, x_api_key=True)
        body = await self._access.body(receive)
        inbound = parse_messages(body, header_map(scope), counting=True)
        route = self._pipeline.route(request_id(scope), identity, inbound.model)
        if route.speaks("count_tokens"):
            answer = await self._pipeline.ask(route, "count_tokens", inbound)
            tokens = answer.get("input_tokens") if isinstance(answer, dict) else None
            if count(tokens):
                await send_json(
                    send, 200, orjson.dumps({"input_tokens": tokens}), [(SOURCE, b"upstream")]
                )
                return
        tools = inbound.payload.get("tools")
        chars = inbound.prompt_chars + (len(orjson.dumps(tools)) if tools else 0)
        answer_body = orjson.dumps({"input_tokens": estimate_tokens(chars)})
        await send_json(send, 200, answer_body, [(SOURCE, b"estimate")])
