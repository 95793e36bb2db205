"""Who is calling /v1, and with what: the model access key, the model it may use, the body.

Every /v1 endpoint starts here, metered or not (the pipeline, the model list, stored
responses, token counts).
"""

from __future__ import annotations

from starlette.types import Receive, Scope

from modelport import metrics, tracing
from modelport.api.context import bearer_token
from modelport.catalog.model import CatalogModel, ModelType
from modelport.catalog.service import Catalog
from modelport.errors import Forbidden, InvalidInput, NotFound, Unauthenticated
from modelport.gateway.requests import header, read_body
from modelport.keys.verifier import KeyIdentity, KeyVerifier
from modelport.logs import bind_model
from modelport.usage.recorder import UsageRecorder

NO_KEY = "You didn't provide an API key. Send 'Authorization: Bearer <model access key>'."
NO_KEY_ANTHROPIC = (
    "You didn't provide an API key. Send 'x-api-key: <model access key>' "
    "or 'Authorization: Bearer <model access key>'."
)


class Access:
    def __init__(
        self, verifier: KeyVerifier, catalog: Catalog, recorder: UsageRecorder, *, max_body: int
    ) -> None:
        self._verifier = verifier
        self._catalog = catalog
        self._recorder = recorder
        self._max_body = max_body

    async def authorize(self, scope: Scope, *, x_api_key: bool = False) -> KeyIdentity:
        """The key's identity; Unauthenticated (or KeyExpired) if it does not verify."""
        token = bearer_token(scope)
        if token is None and x_api_key:
            token = header(scope, b"x-api-key")
        if token is None:
            metrics.KEY_REFUSALS.labels("missing").inc()
            raise Unauthenticated(NO_KEY_ANTHROPIC if x_api_key else NO_KEY)
        identity = await self._verifier.verify(token)
        self._recorder.touch(identity.key_id)
        return identity

    def scope(self, identity: KeyIdentity, model_id: str, model_type: ModelType) -> CatalogModel:
        """The model, if the key may use it and it is of `model_type`; NotFound, Forbidden,
        ModelUnavailable or InvalidInput if not. The request's log lines and span name it."""
        bind_model(model_id)
        tracing.requested_model(model_id)
        if identity.models is not None and model_id not in identity.models:
            if self._catalog.find(model_id) is None:
                raise NotFound(f"The model {model_id!r} does not exist.", code="model_not_found")
            raise Forbidden(f"This model access key may not use the model {model_id!r}.")
        model = self._catalog.servable(model_id)
        if model.entry.type != model_type:
            use = "/v1/embeddings" if model.entry.type == "embedding" else "a chat API"
            kind = model.entry.type
            raise InvalidInput(f"{model.id} is a {kind} model; use {use}.", field="model")
        return model

    async def body(self, receive: Receive) -> bytes:
        """The request's body, up to the size /v1 accepts (see `read_body`)."""
        return await read_body(receive, self._max_body)
