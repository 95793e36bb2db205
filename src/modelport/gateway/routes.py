"""Every /v1 endpoint, in one table."""

from __future__ import annotations

from modelport.catalog.service import Catalog
from modelport.drain import Drain
from modelport.gateway.apis.chat import ChatApi
from modelport.gateway.apis.embeddings import EmbeddingsApi
from modelport.gateway.apis.models import ModelsApi
from modelport.gateway.dataplane import OPENAI, DataPlane, Endpoint, metered
from modelport.gateway.pipeline import Pipeline


def data_plane(pipeline: Pipeline, catalog: Catalog, drain: Drain) -> DataPlane:
    models = ModelsApi(pipeline, catalog)
    return DataPlane(
        drain,
        [
            Endpoint("/v1/models", {"GET": models.list}, OPENAI),
            metered(pipeline, ChatApi(), "/v1/chat/completions"),
            metered(pipeline, EmbeddingsApi(), "/v1/embeddings"),
        ],
        [Endpoint("/v1/models/{model}", {"GET": models.get}, OPENAI)],
    )
