"""OpenTelemetry traces: a hub served in this process, tracing into the SDK's in-memory
exporter (`tracing.configure`), reached over real HTTP; the fake upstream records the
`traceparent` it was sent."""

from __future__ import annotations

import io
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from modelport import tracing
from modelport.app import create_app
from modelport.config import Settings
from modelport.logs import JsonFormatter
from tests.support.databases import sqlite_url
from tests.support.dataplane import create_key, sdk
from tests.support.hub import TEST_SECRET, Hub
from tests.support.loop import BackgroundLoop
from tests.support.upstream import COMPLETION_TOKENS, PROMPT_TOKENS, FakeUpstream

CLIENT_TRACE = "0af7651916cd43dd8440a0ae5ec5e2b1"
CLIENT_PARENT = "b7ad6b7169203331"


@pytest.fixture(scope="module")
def provider() -> Iterator[TracerProvider]:
    """The SDK's provider, exporting to memory: what the hub in this process traces with."""
    sdk_provider = TracerProvider()
    tracing.configure(sdk_provider)
    yield sdk_provider
    tracing.configure(None)
    sdk_provider.shutdown()


@pytest.fixture(scope="module")
def spans(provider: TracerProvider) -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.fixture(scope="module")
def access_lines() -> Iterator[io.StringIO]:
    """The access log as the JSON formatter writes it, from the hub in this process."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("modelport.access")
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture(scope="module")
def traced(
    spans: InMemorySpanExporter,
    loop: BackgroundLoop,
    upstream_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    """`create_app` served by uvicorn on a thread of this process. The `Hub` keeps its
    address, teams and the end-of-run log check; its own process is never started."""
    folder: Path = tmp_path_factory.mktemp("traced")
    hub = Hub(sqlite_url(folder), folder / "hub", loop)
    settings = Settings(
        database_url=hub.database_url,
        secret=TEST_SECRET,
        data_dir=hub.data_dir,
        catalog=Path(upstream_env["MODELPORT_CATALOG"]),
        api_rate_limit_per_minute=100_000,
    )
    with pytest.MonkeyPatch.context() as env:  # the catalog names its credentials' variables
        for name, value in upstream_env.items():
            env.setenv(name, value)
        app = create_app(settings)
    config = uvicorn.Config(app, port=hub.port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "the hub stopped"
        assert time.monotonic() < deadline, "the hub did not start"
        time.sleep(0.05)
    yield hub
    server.should_exit = True
    thread.join(15)


def _finished(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]


def _server_span(exporter: InMemorySpanExporter, request_id: str) -> ReadableSpan:
    deadline = time.monotonic() + 5
    while True:
        for span in exporter.get_finished_spans():
            if span.attributes and span.attributes.get("modelport.request_id") == request_id:
                return span
        assert time.monotonic() < deadline, f"no span for request {request_id}"
        time.sleep(0.02)


def _sent_upstream(upstream: FakeUpstream, marker: str) -> dict[str, str]:
    """The headers of the upstream request whose prompt carried `marker`."""
    for body, headers in zip(upstream.seen.bodies, upstream.seen.headers, strict=True):
        if marker in orjson.dumps(body).decode():
            return headers
    raise AssertionError(f"the upstream never received {marker}")


def _access_line(stream: io.StringIO, request_id: str) -> dict[str, Any]:
    for line in stream.getvalue().splitlines():
        entry: dict[str, Any] = orjson.loads(line)
        if entry.get("request_id") == request_id and entry["message"] == "request":
            return entry
    raise AssertionError(f"no access line for {request_id}")


def test_a_chat_request_is_traced_to_the_upstream_with_genai_attributes(
    traced: Hub, spans: InMemorySpanExporter, upstream: FakeUpstream, access_lines: io.StringIO
) -> None:
    with traced.client(traced.new_team().token) as api:
        key = create_key(api)
    marker = f"trace-me-{uuid.uuid4().hex}"
    raw = sdk(traced, key["secret_key"]).chat.completions.with_raw_response.create(
        model="test-chat", messages=[{"role": "user", "content": marker}], max_tokens=5
    )
    request_id = raw.headers["x-request-id"]
    server = _server_span(spans, request_id)
    assert server.kind == SpanKind.SERVER
    assert server.name == "POST /v1/chat/completions"
    attributes = dict(server.attributes or {})
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "test-chat"
    assert attributes["gen_ai.response.model"] == "fake-chat"
    assert attributes["gen_ai.provider.name"] == attributes["gen_ai.system"] == "openai"
    assert attributes["gen_ai.usage.input_tokens"] == PROMPT_TOKENS
    assert attributes["gen_ai.usage.output_tokens"] == 5
    assert attributes["http.response.status_code"] == 200
    assert attributes["http.route"] == "/v1/chat/completions"
    assert "url.path" not in attributes, "a path may hold a key's id or a pasted secret"
    (client,) = [s for s in _finished(spans, server.context.trace_id) if s.kind == SpanKind.CLIENT]
    assert client.parent is not None
    assert client.parent.span_id == server.context.span_id
    assert (client.attributes or {})["http.response.status_code"] == 200
    sent = _sent_upstream(upstream, marker)["traceparent"]
    version, trace_id, parent_id, _ = sent.split("-")
    assert version == "00"
    assert trace_id == format(server.context.trace_id, "032x")
    assert parent_id == format(client.context.span_id, "016x")
    line = _access_line(access_lines, request_id)
    assert line["trace_id"] == trace_id
    assert line["model"] == "test-chat"
    assert line["user_agent"].startswith("OpenAI/Python")
    assert key["secret_key"] not in access_lines.getvalue()


def test_a_client_trace_is_continued_and_v2_is_traced_but_not_ops(
    traced: Hub, spans: InMemorySpanExporter
) -> None:
    team = traced.new_team()
    parent = {"traceparent": f"00-{CLIENT_TRACE}-{CLIENT_PARENT}-01"}
    with traced.client(team.token) as api:
        listed = api.get("/v2/gen-ai/models/api_keys", headers=parent)
        assert listed.status_code == 200
        server = _server_span(spans, listed.headers["x-request-id"])
    assert format(server.context.trace_id, "032x") == CLIENT_TRACE
    assert server.parent is not None
    assert format(server.parent.span_id, "016x") == CLIENT_PARENT
    assert server.name == "GET /v2/gen-ai/models/api_keys"
    assert "gen_ai.operation.name" not in (server.attributes or {})
    health = httpx.get(traced.url + "/healthz", timeout=10)
    time.sleep(0.1)
    ids = {(s.attributes or {}).get("modelport.request_id") for s in spans.get_finished_spans()}
    assert health.headers["x-request-id"] not in ids


def test_tracing_turns_on_only_when_an_exporter_or_endpoint_is_set(
    provider: TracerProvider,
) -> None:
    try:
        _installs()
    finally:
        tracing.configure(provider)  # back to the in-memory one, for the other tests


def _installs() -> None:
    off = tracing.Environment(endpoint=None, exporter=None, protocol=None)
    assert tracing.install(off) is None
    none = tracing.Environment(endpoint="http://127.0.0.1:4318", exporter="none", protocol=None)
    assert tracing.install(none) is None
    disabled = tracing.Environment("http://127.0.0.1:4318", None, None, disabled=True)
    assert tracing.install(disabled) is None
    with pytest.raises(ValueError, match="zipkin"):
        tracing.install(tracing.Environment(None, "zipkin", None))
    with pytest.raises(ValueError, match="json"):
        tracing.install(tracing.Environment("http://127.0.0.1:4318", None, "http/json"))
    for environment in (
        tracing.Environment("http://127.0.0.1:4318", None, None),
        tracing.Environment("http://127.0.0.1:4317", None, "grpc"),
        tracing.Environment(None, "console", None),
    ):
        provider = tracing.install(environment)
        assert provider is not None
        assert tracing.upstream_span("example.com", 443, "/v1/x") is not None
        tracing.shutdown(provider)
        assert tracing.upstream_span("example.com", 443, "/v1/x") is None


def test_a_stream_and_a_failed_upstream_call_are_traced(
    traced: Hub, spans: InMemorySpanExporter
) -> None:
    with traced.client(traced.new_team().token) as api:
        key = create_key(api)
    client = sdk(traced, key["secret_key"])
    stream = client.chat.completions.with_raw_response.create(
        model="test-chat", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    assert len(list(stream.parse())) > 1
    streamed = _server_span(spans, stream.headers["x-request-id"])
    assert (streamed.attributes or {})["gen_ai.usage.output_tokens"] == COMPLETION_TOKENS
    (upstream_call,) = [
        s for s in _finished(spans, streamed.context.trace_id) if s.kind == SpanKind.CLIENT
    ]
    assert upstream_call.end_time is not None
    assert streamed.end_time is not None
    assert upstream_call.end_time <= streamed.end_time

    failed = httpx.post(
        traced.url + "/v1/chat/completions",
        json={"model": "test-500", "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {key['secret_key']}"},
        timeout=30,
    )
    assert failed.status_code == 502
    server = _server_span(spans, failed.headers["x-request-id"])
    assert server.status.status_code == StatusCode.ERROR
    (refused,) = [s for s in _finished(spans, server.context.trace_id) if s.kind == SpanKind.CLIENT]
    assert refused.status.status_code == StatusCode.ERROR
    assert (refused.attributes or {})["http.response.status_code"] == 500
