"""create_app(settings): the one place the hub is wired together."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from modelport import __version__, tracing
from modelport.api import docs
from modelport.api.context import RequestContextMiddleware
from modelport.api.drain import DrainMiddleware
from modelport.api.forwarded import TrustedProxyMiddleware
from modelport.api.openapi import openapi_builder
from modelport.api.v2_errors import install_error_handlers
from modelport.api.v2_guards import ApiRateLimitMiddleware, BodyLimitMiddleware
from modelport.audit import routes as audit_routes
from modelport.audit.refusals import RefusalAudit
from modelport.auth.passwords import Passwords
from modelport.catalog import routes as catalog_routes
from modelport.components import Components, build_components
from modelport.config import Settings
from modelport.db.migrate import upgrade_to_head
from modelport.gateway.access import Access
from modelport.gateway.apis.key import KeyApi
from modelport.gateway.apis.responses_store import ResponseStore
from modelport.gateway.dataplane import DataPlane
from modelport.gateway.openapi import describe_v1
from modelport.gateway.pipeline import Pipeline
from modelport.gateway.routes import data_plane
from modelport.gateway.routing import Routing
from modelport.hub import health
from modelport.hub import metrics as metrics_route
from modelport.hub.services import Services
from modelport.keys import routes as key_routes
from modelport.leaks import routes as leak_routes
from modelport.usage import routes as usage_routes
from modelport.web import install as web_panel
from modelport.web.setup import announce_setup

DESCRIPTION = """
modelport's control plane. It follows DigitalOcean's GenAI API shape: errors are
`{"id", "message", "request_id"}`, lists are paged with `links` and `meta`, and every response
carries `ratelimit-*` headers. Authenticate with `Authorization: Bearer <API token>`.

`/v1` is the data plane: OpenAI's Chat Completions, Responses, Embeddings and Models APIs and
Anthropic's Messages API, authenticated with a model access key, each with its API's own
errors.
"""

YOUNG_COLLECTION = 10_000
"""Net allocations between collections of the youngest generation (Python's default: 700)."""


def settle_heap() -> None:
    """Move what startup built (modules, classes, the catalog, pools) out of the garbage
    collector's sight, having first collected startup's garbage, and collect the youngest
    generation after 10,000 net allocations rather than 700.

    A request's objects often live through two young collections while it waits on its
    upstream, so they are promoted to the oldest generation, and about every 40,000 such
    promotions Python collects it whole: with the startup heap in it (about 160,000
    objects) that was 75-230 ms every 0.4 s at concurrency 64, a fifth of the hub's CPU.
    At 700, the objects of 64 requests in flight alone started a young collection every
    ten requests (about 20 us per request); a request leaves no cyclic garbage
    (docs/benchmarks.md, "Gateway"), so 10,000 costs no memory to speak of. Frozen
    objects are still freed when unreferenced; only a reference cycle among them is never
    collected, and startup builds them once.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])


class HubApp(FastAPI):
    """FastAPI, except that `/v1` HTTP requests go straight to the data plane's own chain of
    the middleware every request gets (trusted proxy, request context, drain).

    The data plane is plain ASGI and answers every error itself, in its API's shape;
    FastAPI's layers (server errors, telemetry, body limit, exceptions) did nothing for it
    but cost CPU on every request (docs/benchmarks.md, "Gateway").
    """

    data_plane: DataPlane
    """What serves /v1 (its endpoints: the OpenAPI document describes each)."""
    _v1: ASGIApp

    def serve_v1(self, data_plane: DataPlane, chain: ASGIApp) -> None:
        """Send `/v1` requests to `chain`, which ends in `data_plane`."""
        self.data_plane, self._v1 = data_plane, chain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.startswith("/v1") and (len(path) == 3 or path[3] == "/"):
                await self._v1(scope, receive, send)
                return
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings,
    components: Components | None = None,
    *,
    migrate: bool = True,
    announce: bool = True,
) -> HubApp:
    """The ASGI app. Its lifespan migrates the database (unless not `migrate`: then
    `modelport db upgrade` does), prints the setup link while no account exists (unless not
    `announce`: a worker's parent prints it once) and closes every resource.

    Raises ValueError when the settings are unusable (tracing's among them).
    """
    hub = components or build_components(settings)
    traces = tracing.install(
        tracing.Environment(
            endpoint=settings.otel_exporter_otlp_endpoint,
            exporter=settings.otel_traces_exporter,
            protocol=settings.otel_exporter_otlp_protocol,
            disabled=settings.otel_sdk_disabled,
        )
    )
    services = Services(hub, Passwords())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate:
            await upgrade_to_head(hub.database)
        await hub.start()
        if announce:
            await announce_setup(services)
        peers = await metrics_route.serve_peers(hub) if hub.worker is not None else None
        settle_heap()
        try:
            yield
        finally:
            if peers is not None:
                peers.close()
            await refusals.close()
            await hub.close()
            if traces is not None:
                tracing.shutdown(traces)

    app = HubApp(
        title="modelport",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Requests are traced by our own middleware (`modelport.tracing`), never twice.
        telemetry={"tracing": False, "metrics": False, "logs": False, "auto_configure": False},
    )
    app.openapi = openapi_builder(app, describe_v1)  # type: ignore[method-assign]
    app.state.components = hub
    app.state.services = services
    install_error_handlers(app)
    docs.install(app)
    app.include_router(health.router)
    app.include_router(metrics_route.router)
    app.include_router(leak_routes.router)  # before the keys' /{uuid} paths
    app.include_router(key_routes.router)
    app.include_router(audit_routes.router)
    web_panel.install(app, hub, services)
    app.include_router(catalog_routes.router)
    app.include_router(usage_routes.router)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes)
    app.add_middleware(
        ApiRateLimitMiddleware,
        limiter=hub.rate_limiter,
        digester=hub.digester,
        per_minute=settings.api_rate_limit_per_minute,
    )
    refusals = RefusalAudit(hub.database)
    access = Access(
        hub.verifier, hub.recorder, refusals, max_body=settings.max_inference_request_bytes
    )
    routing = Routing(hub.catalog, hub.health, max_attempts=settings.max_attempts)
    pipeline = Pipeline(
        access,
        routing,
        hub.upstream,
        hub.recorder,
        hub.key_limiter,
        hub.drain,
        hub.health,
        deadline=settings.request_deadline_seconds,
    )
    store = ResponseStore(hub.database, timedelta(days=settings.responses_retention_days))
    key = KeyApi(access, hub.database, hub.key_limiter)
    app.add_middleware(DrainMiddleware, drain=hub.drain)
    app.add_middleware(RequestContextMiddleware)
    # Outermost: every layer sees the client and scheme behind a trusted proxy.
    app.add_middleware(TrustedProxyMiddleware, trusted=settings.trusted_proxy_networks)
    plane = data_plane(access, pipeline, hub.catalog, hub.drain, store, key)
    chain = RequestContextMiddleware(DrainMiddleware(plane, drain=hub.drain))
    app.serve_v1(plane, TrustedProxyMiddleware(chain, trusted=settings.trusted_proxy_networks))
    return app
