"""OpenTelemetry tracing of /v1 and /v2 requests: optional, and free while it is off.

The only module that imports OpenTelemetry (an import-linter contract says so); it is an
optional extra (`pip install 'modelport[otel]'`). Tracing is on when OpenTelemetry can be
imported and `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_TRACES_EXPORTER` is set (and the latter
is not `none`): `install` reads those through the settings, the exporter and the resource
read the other standard `OTEL_*` variables themselves (`OTEL_SERVICE_NAME`, headers,
timeouts). Tests hand `configure` a provider of their own.

What a traced request gets:
- a server span (`api.context`'s middleware), continuing the client's `traceparent` if it
  sent one; /v1 spans carry the GenAI attributes (`gen_ai.operation.name`,
  `gen_ai.request.model`, `gen_ai.response.model`, `gen_ai.provider.name` and the older
  `gen_ai.system`, `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`);
- a client span per upstream call (`providers.upstream`), whose `traceparent` the upstream
  receives;
- its trace id on every log line written while it is served (`logs`).

While tracing is off every entry point returns at its first check of `_tracer`.
No span attribute holds a secret, a key id or a prompt.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Span, Tracer

try:
    from opentelemetry import context as otel_context
    from opentelemetry import propagate, trace
    from opentelemetry.trace import SpanKind, StatusCode
except ImportError:  # the `otel` extra is not installed: tracing stays off
    AVAILABLE = False
else:
    AVAILABLE = True

log = logging.getLogger("modelport.tracing")

Header = tuple[str, str]
GENAI_OPERATIONS = {
    "/v1/chat/completions": "chat",
    "/v1/responses": "chat",
    "/v1/messages": "chat",
    "/v1/embeddings": "embeddings",
}
"""The GenAI operation each metered /v1 path performs (semantic conventions' names)."""
EXPORTERS = ("otlp", "console")

_tracer: Tracer | None = None
"""The tracer while tracing is on; None while it is off (the one check on the hot path)."""


def configure(provider: TracerProvider | None) -> None:
    """Trace with `provider` (an SDK TracerProvider), or stop tracing (None).

    The provider is ours alone: it is not made OpenTelemetry's global one, so nothing else
    in the process (FastAPI's own telemetry, a library) starts tracing through it.
    """
    global _tracer
    _tracer = None if provider is None else provider.get_tracer("modelport")


@dataclass(frozen=True, slots=True)
class Environment:
    """The standard variables that decide whether and where to export (from the settings)."""

    endpoint: str | None
    exporter: str | None
    protocol: str | None
    disabled: bool = False


def install(environment: Environment) -> TracerProvider | None:
    """Start tracing as the standard variables say; the provider to shut down, or None.

    Tracing stays off (None) unless OpenTelemetry's SDK can be imported and an endpoint or
    an exporter is set. Raises ValueError for an exporter or protocol it does not know.
    """
    exporter_name = (environment.exporter or "otlp").strip().lower()
    wanted = environment.endpoint or environment.exporter
    if environment.disabled or not wanted or exporter_name == "none":
        return None
    if exporter_name not in EXPORTERS:
        raise ValueError(f"OTEL_TRACES_EXPORTER={exporter_name} is not one of {EXPORTERS}")
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
    except ImportError:
        log.warning("OTEL_* is set but OpenTelemetry is not installed: no tracing")
        return None
    try:
        exporter: SpanExporter = (
            ConsoleSpanExporter()
            if exporter_name == "console"
            else _otlp(environment.protocol, environment.endpoint)
        )
    except ImportError:
        raise ValueError(
            "OTEL_* asks for the OTLP exporter, which is not installed: "
            "pip install 'modelport[otel]'"
        ) from None
    resource = Resource.create()  # OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": "modelport"}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    configure(provider)
    return provider


def _otlp(protocol: str | None, endpoint: str | None) -> SpanExporter:
    """The OTLP exporter for `protocol` (http/protobuf unless grpc is asked for), sending to
    `endpoint` as the settings read it (a `.env` file included, which the exporter's own
    reading of the environment would miss). Over http, traces go to `<endpoint>/v1/traces`,
    as the specification says of OTEL_EXPORTER_OTLP_ENDPOINT."""
    wire = (protocol or "http/protobuf").strip().lower()
    if wire == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
            OTLPSpanExporter as GrpcExporter,
        )

        return GrpcExporter(endpoint=endpoint)
    if wire != "http/protobuf":
        raise ValueError(f"OTEL_EXPORTER_OTLP_PROTOCOL={wire} is not grpc or http/protobuf")
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter as HttpExporter,
    )

    traces = None if endpoint is None else endpoint.rstrip("/") + "/v1/traces"
    return HttpExporter(endpoint=traces)


def shutdown(provider: TracerProvider) -> None:
    """Stop tracing and send what is still buffered (`install`'s provider, at shutdown)."""
    configure(None)
    provider.shutdown()


class ServerSpan:
    """The span of one request being served, current in its context until `end`."""

    __slots__ = ("_method", "_span", "_token")

    def __init__(self, span: Span, token: Token[Context], method: str) -> None:
        self._span, self._token, self._method = span, token, method

    def end(self, route: str, status: int, request_id: str) -> None:
        span = self._span
        span.update_name(f"{self._method} {route}")
        span.set_attribute("http.route", route)
        span.set_attribute("http.response.status_code", status)
        span.set_attribute("modelport.request_id", request_id)
        if status >= 500:
            span.set_status(StatusCode.ERROR)
        span.end()
        otel_context.detach(self._token)


def server_span(scope: Any) -> ServerSpan | None:
    """Start the span of the request in `scope` (an ASGI scope) and make it current."""
    if _tracer is None:
        return None
    path: str = scope["path"]
    method: str = scope["method"]
    headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
    parent = propagate.extract(headers)  # the client's traceparent, if it sent one
    span = _tracer.start_span(method, context=parent, kind=SpanKind.SERVER)
    span.set_attribute("http.request.method", method)
    # No `url.path`: a path may carry a key's id, or a secret pasted into it; the span gets
    # the route template (`http.route`) when the request is routed.
    operation = GENAI_OPERATIONS.get(path.rstrip("/"))
    if operation is not None:
        span.set_attribute("gen_ai.operation.name", operation)
    token = otel_context.attach(trace.set_span_in_context(span))
    return ServerSpan(span, token, method)


def requested_model(model: str) -> None:
    """The model a /v1 request asks for, on its span."""
    if _tracer is None:
        return
    trace.get_current_span().set_attribute("gen_ai.request.model", model)


def generation(provider: str, upstream_model: str, input_tokens: int, output_tokens: int) -> None:
    """What the upstream generated for the request being served, on its span."""
    if _tracer is None:
        return
    span = trace.get_current_span()
    span.set_attribute("gen_ai.provider.name", provider)
    span.set_attribute("gen_ai.system", provider)
    span.set_attribute("gen_ai.response.model", upstream_model)
    span.set_attribute("gen_ai.usage.input_tokens", input_tokens)
    span.set_attribute("gen_ai.usage.output_tokens", output_tokens)


class UpstreamSpan:
    """The client span of one upstream call; `headers` carry its `traceparent` there."""

    __slots__ = ("_span", "headers")

    def __init__(self, span: Span, headers: tuple[Header, ...]) -> None:
        self._span, self.headers = span, headers

    def answered(self, status: int) -> None:
        self._span.set_attribute("http.response.status_code", status)
        if status >= 400:
            self._span.set_status(StatusCode.ERROR)

    def end(self, error: BaseException | None) -> None:
        if error is not None:
            self._span.set_status(StatusCode.ERROR, type(error).__name__)
            self._span.set_attribute("error.type", type(error).__name__)
        self._span.end()


def upstream_span(host: str, port: int, path: str) -> UpstreamSpan | None:
    """Start the client span of an upstream POST (a child of the current span)."""
    if _tracer is None:
        return None
    span = _tracer.start_span("POST", kind=SpanKind.CLIENT)
    span.set_attribute("http.request.method", "POST")
    span.set_attribute("server.address", host)
    span.set_attribute("server.port", port)
    span.set_attribute("url.path", path.partition("?")[0])
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    return UpstreamSpan(span, tuple(carrier.items()))


def trace_id() -> str | None:
    """The current trace's id (32 hex digits) while a traced request is served, else None."""
    if _tracer is None:
        return None
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None
