"""`GET /v1/models` and `GET /v1/models/{id}`: the models a key may use, as OpenAI lists them.

A model is listed when it has a deployment the key's team may reach; a router when one of
its models is.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from modelport.catalog.model import CatalogModel
from modelport.catalog.router import CatalogRouter
from modelport.catalog.service import Catalog
from modelport.errors import NotFound
from modelport.gateway.access import Access
from modelport.gateway.requests import Headers
from modelport.gateway.respond import send_json
from modelport.keys.verifier import KeyIdentity


def described(model_id: str, owner: str) -> dict[str, Any]:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": owner}


class ModelsApi:
    def __init__(self, access: Access, catalog: Catalog) -> None:
        self._access = access
        self._catalog = catalog

    async def list(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        identity = await self._access.authorize(scope, x_api_key=True)
        ids = [model.id for model in self._catalog.all()]
        ids += [router.id for router in self._catalog.routers()]
        listed = [self._described(identity, model_id) for model_id in ids]
        data = [model for model in listed if model is not None]
        await send_json(send, 200, orjson.dumps({"object": "list", "data": data}))

    async def get(self, scope: Scope, receive: Receive, send: Send, _: Headers) -> None:
        """One model, as `GET /v1/models/{id}` (the SDK's `models.retrieve`) gives it."""
        identity = await self._access.authorize(scope, x_api_key=True)
        model_id = scope["path_params"]["model"]
        model = self._described(identity, model_id)
        if model is None:
            raise NotFound(
                f"The model {model_id!r} does not exist or this key may not use it.",
                code="model_not_found",
            )
        await send_json(send, 200, orjson.dumps(model))

    def _described(self, identity: KeyIdentity, model_id: str) -> dict[str, Any] | None:
        """The model or router as listed, if the key may use it now; else None."""
        if identity.models is not None and model_id not in identity.models:
            return None
        model = self._catalog.find(model_id)
        if model is not None:
            return described(model_id, model.entry.provider) if _serves(model, identity) else None
        router = self._catalog.router(model_id)
        if router is None or not self._routes(router, identity):
            return None
        return described(model_id, "modelport")

    def _routes(self, router: CatalogRouter, identity: KeyIdentity) -> bool:
        models = (self._catalog.find(model_id) for model_id in router.models)
        return any(model is not None and _serves(model, identity) for model in models)


def _serves(model: CatalogModel, identity: KeyIdentity) -> bool:
    return bool(model.serving(identity.team_name))
