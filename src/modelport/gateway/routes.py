"""Every /v1 endpoint, in one table."""

from __future__ import annotations

from modelport.catalog.service import Catalog
from modelport.drain import Drain
from modelport.gateway.access import Access
from modelport.gateway.apis.anthropic_errors import AnthropicErrors
from modelport.gateway.apis.chat import ChatApi
from modelport.gateway.apis.count_tokens import CountTokens
from modelport.gateway.apis.embeddings import EmbeddingsApi
from modelport.gateway.apis.key import KeyApi
from modelport.gateway.apis.messages import MessagesApi
from modelport.gateway.apis.models import ModelsApi
from modelport.gateway.apis.responses import ResponsesApi
from modelport.gateway.apis.responses_store import ResponseStore
from modelport.gateway.apis.responses_stored import StoredResponses
from modelport.gateway.dataplane import OPENAI, DataPlane, Endpoint, metered
from modelport.gateway.pipeline import Pipeline


def data_plane(
    access: Access,
    pipeline: Pipeline,
    catalog: Catalog,
    drain: Drain,
    store: ResponseStore,
    key: KeyApi,
) -> DataPlane:
    models = ModelsApi(access, catalog)
    stored = StoredResponses(access, store)
    count = CountTokens(access, pipeline)
    return DataPlane(
        drain,
        [
            Endpoint("/v1/models", {"GET": models.list}, OPENAI),
            Endpoint("/v1/key", {"GET": key.get}, OPENAI),
            metered(pipeline, ChatApi(), "/v1/chat/completions"),
            metered(pipeline, EmbeddingsApi(), "/v1/embeddings"),
            metered(pipeline, ResponsesApi(store), "/v1/responses"),
            metered(pipeline, MessagesApi(), "/v1/messages"),
            Endpoint("/v1/messages/count_tokens", {"POST": count.handle}, AnthropicErrors()),
        ],
        [
            Endpoint("/v1/models/{model:path}", {"GET": models.get}, OPENAI),
            Endpoint(
                "/v1/responses/{response_id}/input_items", {"GET": stored.input_items}, OPENAI
            ),
            Endpoint(
                "/v1/responses/{response_id}",
                {"GET": stored.get, "DELETE": stored.delete},
                OPENAI,
            ),
        ],
    )
