"""OpenAI's Embeddings API (`POST /v1/embeddings`), on OpenAI-compatible upstreams only."""

from __future__ import annotations

from modelport.catalog.model import CatalogModel, ModelType
from modelport.errors import InvalidInput
from modelport.gateway.apis.openai_errors import OpenAIErrors
from modelport.gateway.exchange import Exchange, Inbound, Passthrough, Route
from modelport.gateway.requests import model_of, parse_object
from modelport.providers.dialects import Api


class EmbeddingsApi:
    api: Api = "embeddings"
    errors = OpenAIErrors()
    model_type: ModelType = "embedding"
    x_api_key = False

    def parse(self, body: bytes, headers: dict[str, str]) -> Inbound:
        payload = parse_object(body)
        model = model_of(payload)
        given = payload.get("input")
        if isinstance(given, str):
            chars = len(given)
        elif isinstance(given, list) and given:
            chars = sum(
                len(item) if isinstance(item, str) else len(item) * 4
                for item in given
                if isinstance(item, (str, list))
            )
        else:
            raise InvalidInput("'input' must be a string or a non-empty array.", field="input")
        return Inbound(payload, model, False, chars, output_budget=0)

    def check(self, inbound: Inbound, model: CatalogModel) -> None:
        """Nothing to check beyond the model's type."""

    async def exchange(self, inbound: Inbound, route: Route) -> Exchange:
        return Passthrough("embeddings", inbound.payload, inbound.prompt_chars, route.model.id)
