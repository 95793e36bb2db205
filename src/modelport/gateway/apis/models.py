"""`GET /v1/models` and `GET /v1/models/{id}`: the models a key may use, as OpenAI lists them."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from modelport.catalog.model import CatalogModel
from modelport.catalog.service import Catalog
from modelport.errors import NotFound
from modelport.gateway.access import Access
from modelport.gateway.requests import Headers
from modelport.gateway.respond import send_json


def described(model: CatalogModel) -> dict[str, Any]:
    return {"id": model.id, "object": "model", "created": 0, "owned_by": model.entry.provider}


class ModelsApi:
    def __init__(self, access: Access, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog

    async def list(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._access.authorize(scope, x_api_key=True)
        allowed = [
            described(model)
            for model in self._catalog.all()
            if model.available and (identity.models is None or model.id in identity.models)
        ]
        await send_json(send, 200, orjson.dumps({"object": "list", "data": allowed}))

    async def get(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        """One model, as `GET /v1/models/{id}` (the SDK's `models.retrieve`) gives it."""
        identity = await self._access.authorize(scope, x_api_key=True)
        model_id = scope["path_params"]["model"]
        model = self._catalog.find(model_id)
        if (
            model is None
            or not model.available
            or (identity.models is not None and model_id not in identity.models)
        ):
            raise NotFound(
                f"The model {model_id!r} does not exist or this key may not use it.",
                code="model_not_found",
            )
        await send_json(send, 200, orjson.dumps(described(model)))
