"""Where a request may go, in the order to try: the routes of one request.

The model a client names may be a model or a router over models (`catalog/router.py`); each
model has deployments (`catalog/deployment.py`). A request's plan lists the deployments it
may try, at most `max_attempts` of them:
- a router's models in its order (fallback) or drawn by weight (weighted), each model's
  deployments in turn;
- within a model, the team's dedicated deployments first (only those, when one is
  exclusive), then the shared ones; within each, priority 1 before 2, and deployments of
  the same priority drawn by weight;
- deployments cooling down after failures, or told by their upstream to wait
  (`Retry-After`), are left out; when that leaves none, the request is refused at once with
  the time the first one is back.
The pipeline tries them in order until one answers (`pipeline.py`).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from modelport import tracing
from modelport.catalog.deployment import Deployment
from modelport.catalog.model import CatalogModel, ModelType
from modelport.catalog.service import Catalog
from modelport.errors import Forbidden, InvalidInput, ModelportError, ModelUnavailable, NotFound
from modelport.gateway.exchange import Route
from modelport.infra.cooldown import DeploymentHealth
from modelport.keys.verifier import KeyIdentity
from modelport.logs import bind_model
from modelport.providers.dialects import DIALECTS, AzureDialect, Dialect

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Plan:
    """The routes one request may take, in order; the first is tried first."""

    routes: list[Route]

    @property
    def models(self) -> list[CatalogModel]:
        """The models it may be served by, each once, in order."""
        return list({route.model.id: route.model for route in self.routes}.values())


class Routing:
    def __init__(
        self,
        catalog: Catalog,
        health: DeploymentHealth,
        *,
        max_attempts: int,
        draw: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._catalog = catalog
        self._health = health
        self._max_attempts = max_attempts
        self._draw = draw
        self._clock = clock
        # Built at start, so that a deployment the dialect refuses stops the server.
        self._dialects = {
            deployment.id: dialect_for(deployment)
            for model in catalog.all()
            for deployment in model.deployments
        }

    def plan(
        self,
        request_id: str,
        identity: KeyIdentity,
        requested: str,
        model_type: ModelType,
        fits: Callable[[CatalogModel], None] = lambda _model: None,
    ) -> Plan:
        """The routes for `requested`, if the key may use it and it is of `model_type`.

        `fits` raises InvalidInput when the request cannot go to a model (too long for it);
        a router leaves out the models it does not fit. Raises NotFound, Forbidden,
        InvalidInput or ModelUnavailable (with the time to retry, when every deployment
        is cooling down).
        """
        bind_model(requested)  # the request's log lines and span name it from here on
        tracing.requested_model(requested)
        models = self._models(identity, requested, model_type)
        now = self._clock()
        routes: list[Route] = []
        cooling: list[str] = []
        refusal: ModelportError | None = None
        for model in models:
            try:
                fits(model)
            except InvalidInput as exc:
                refusal = refusal or exc
                continue
            for deployment in self._ordered(model.serving(identity.team_name)):
                if self._health.cooling(deployment.id, now):
                    cooling.append(deployment.id)
                    continue
                dialect = self._dialects[deployment.id]
                routes.append(Route(request_id, identity, model, deployment, dialect))
                if len(routes) == self._max_attempts:
                    return Plan(routes)
        if routes:
            return Plan(routes)
        if refusal is not None:
            raise refusal
        if cooling:
            raise self._cooling(requested, cooling, now)
        if any(model.reaches(identity.team_name) for model in models):
            raise ModelUnavailable(
                f"The model {requested!r} is unavailable: no configured deployment serves "
                "this key's team."
            )
        # Every deployment is another team's: to this key, as if the model were not there.
        raise NotFound(
            f"The model {requested!r} does not exist or this key may not use it.",
            code="model_not_found",
        )

    def _models(
        self, identity: KeyIdentity, requested: str, model_type: ModelType
    ) -> list[CatalogModel]:
        """The models `requested` names, when the key may use it; the first one servable."""
        router = self._catalog.router(requested)
        if identity.models is not None and requested not in identity.models:
            if router is None and self._catalog.find(requested) is None:
                raise NotFound(f"The model {requested!r} does not exist.", code="model_not_found")
            raise Forbidden(f"This model access key may not use the model {requested!r}.")
        if router is None:
            models = [self._catalog.servable(requested)]
        else:
            order = router.models
            if router.entry.strategy == "weighted":
                order = self._drawn(order, router.weights)
            found = [self._catalog.find(model_id) for model_id in order]
            models = [model for model in found if model is not None and model.available]
            if not models:
                raise ModelUnavailable(f"No model of the router {requested!r} is configured.")
        kind = models[0].entry.type
        if kind != model_type:
            use = "/v1/embeddings" if kind == "embedding" else "a chat API"
            raise InvalidInput(f"{requested} is a {kind} model; use {use}.", field="model")
        return models

    def _ordered(self, deployments: list[Deployment]) -> list[Deployment]:
        """Dedicated before shared (as `serving` gives them), then by priority, then drawn
        by weight within a priority."""
        if len(deployments) < 2:
            return deployments
        ordered: list[Deployment] = []
        group: list[Deployment] = []
        for deployment in sorted(deployments, key=_rank):
            if group and _rank(group[0]) != _rank(deployment):
                ordered += self._drawn(group, [d.weight for d in group])
                group = []
            group.append(deployment)
        return ordered + self._drawn(group, [d.weight for d in group])

    def _drawn(self, items: Sequence[T], weights: Sequence[int]) -> list[T]:
        """`items` in a random order where each comes first in proportion to its weight."""
        if len(items) < 2:
            return list(items)
        # Efraimidis-Spirakis: sort by u^(1/w), largest first.
        keys = [self._draw() ** (1 / weight) for weight in weights]
        return [item for _, item in sorted(zip(keys, items, strict=True), key=_first, reverse=True)]

    def _cooling(self, requested: str, cooling: list[str], now: float) -> ModelUnavailable:
        back = [self._health.until(deployment) for deployment in cooling]
        wait = min((at - now for at in back if at is not None), default=1.0)
        exc = ModelUnavailable(
            f"Every deployment of the model {requested!r} is cooling down after failures; "
            "retry shortly."
        )
        exc.retry_after = max(1, math.ceil(wait))
        return exc


def dialect_for(deployment: Deployment) -> Dialect:
    """How to talk to the deployment's upstream; ValueError (naming the deployment) when its
    dialect cannot accept it."""
    if deployment.dialect == "azure":
        assert deployment.api_version is not None  # the catalog requires it
        try:
            return AzureDialect(deployment.upstream_model, deployment.api_version)
        except ValueError as exc:
            raise ValueError(f"deployment {deployment.id}: {exc}") from None
    return DIALECTS[deployment.dialect]


def _rank(deployment: Deployment) -> tuple[bool, int]:
    return (not deployment.dedicated, deployment.priority)


def _first(pair: tuple[float, object]) -> float:
    return pair[0]
