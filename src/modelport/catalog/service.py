"""The catalog as the rest of the hub sees it: immutable, loaded once at start."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from modelport.catalog.model import CatalogModel
from modelport.catalog.router import CatalogRouter
from modelport.errors import ModelUnavailable, NotFound


class Catalog:
    """The models this hub knows, in catalog order, and the routers over them."""

    def __init__(
        self, models: dict[str, CatalogModel], routers: dict[str, CatalogRouter] | None = None
    ) -> None:
        self._models = models
        self._routers = routers or {}

    def all(self) -> list[CatalogModel]:
        return list(self._models.values())

    def ids(self) -> frozenset[str]:
        return frozenset(self._models)

    def find(self, model_id: str) -> CatalogModel | None:
        return self._models.get(model_id)

    def routers(self) -> list[CatalogRouter]:
        return list(self._routers.values())

    def router(self, router_id: str) -> CatalogRouter | None:
        return self._routers.get(router_id)

    def servable(self, model_id: str) -> CatalogModel:
        """The model, ready to call; NotFound if unknown, ModelUnavailable if not configured."""
        model = self._models.get(model_id)
        if model is None:
            raise NotFound(f"The model {model_id!r} does not exist.", code="model_not_found")
        if model.unavailable_reason is not None:
            raise ModelUnavailable(
                f"The model {model_id!r} is unavailable: {model.unavailable_reason}."
            )
        return model

    def with_usecases(self, usecases: Sequence[str]) -> list[CatalogModel]:
        """Models serving any of `usecases`; every model when it is empty."""
        if not usecases:
            return self.all()
        wanted = set(usecases)
        return [m for m in self._models.values() if wanted.intersection(m.usecases)]

    def unknown(self, model_ids: Iterable[str]) -> list[str]:
        """The ids among `model_ids` that are neither a model nor a router of the catalog."""
        return sorted(set(model_ids) - set(self._models) - set(self._routers))
