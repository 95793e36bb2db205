"""/metrics on a hub of its own (its own SQLite, a private Redis): types and labels as
Prometheus' parser reads them, stream timings, the exact cost, requests in flight, and the
Redis fallback gauge when Redis goes away."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.support.databases import sqlite_url
from tests.support.dataplane import create_key
from tests.support.fake_server import PACE_SECONDS
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.servers import PrivateRedis
from tests.support.upstream import FakeUpstream
from tests.support.usage import UsageRows, wait_until

CHAT = "/v1/chat/completions"
STREAM_TOKENS = 6


@pytest.fixture(scope="module")
def redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@pytest.fixture(scope="module")
def own(
    loop: BackgroundLoop,
    upstream_env: dict[str, str],
    redis: PrivateRedis,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    """A hub whose every /v1 request comes from this module, so its totals are ours."""
    folder: Path = tmp_path_factory.mktemp("metrics-hub")
    server = Hub(
        sqlite_url(folder),
        folder / "hub",
        loop,
        {**upstream_env, "MODELPORT_REDIS_URL": redis.url},
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api(own: Hub) -> Iterator[httpx.Client]:
    with own.client(own.new_team().token) as client:
        yield client


def families(hub: Hub) -> dict[str, tuple[str, list[tuple[str, dict[str, str], float]]]]:
    """Each metric family's type and samples, as prometheus_client's parser reads /metrics."""
    text = httpx.get(hub.url + "/metrics", timeout=10).text
    return {
        family.name: (family.type, [(s.name, s.labels, s.value) for s in family.samples])
        for family in text_string_to_metric_families(text)
    }


def sample(hub: Hub, name: str, **labels: str) -> float:
    for _, samples in families(hub).values():
        for sample_name, sample_labels, value in samples:
            if sample_name == name and sample_labels == labels:
                return value
    return 0.0


def chat(hub: Hub, secret: str, model: str, **extra: object) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}], **extra}
    headers = {"Authorization": f"Bearer {secret}", "User-Agent": "metrics-test/1.0"}
    return httpx.post(hub.url + CHAT, json=body, headers=headers, timeout=30)


def test_types_and_labels_read_by_prometheus_parser(own: Hub, api: httpx.Client) -> None:
    key = create_key(api)
    assert chat(own, key["secret_key"], "test-chat").status_code == 200
    found = families(own)
    assert found["process_cpu_seconds"][0] == "counter"
    assert found["modelport_cost_usd"][0] == "counter"
    assert found["modelport_http_requests"][0] == "counter"
    assert found["modelport_time_to_first_token_seconds"][0] == "histogram"
    assert found["modelport_time_per_output_token_seconds"][0] == "histogram"
    for name in (
        "modelport_http_requests_in_flight",
        "modelport_upstream_connections_in_use",
        "modelport_upstream_connections_idle",
        "modelport_redis_fallback",
        "modelport_revocation_ledger_shared",
    ):
        assert found[name][0] == "gauge", name
    gauges_named_total = [
        name
        for name, (kind, samples) in found.items()
        if kind == "gauge" and any(s[0].endswith("_total") for s in samples)
    ]
    assert gauges_named_total == []
    answered = found["modelport_http_requests"][1]
    labels = {"family": "v1", "route": CHAT, "method": "POST", "status": "200"}
    assert any(s[0] == "modelport_http_requests_total" and s[1] == labels for s in answered)
    assert not any(name.endswith("_created") for _, (_, ss) in found.items() for name, *_ in ss)


def test_a_paced_stream_observes_time_to_first_token_and_per_output_token(
    own: Hub, api: httpx.Client, upstream: FakeUpstream
) -> None:
    """While it streams, it is in flight and holds an upstream connection; then neither."""
    in_use = {"origin": upstream.root}  # the gauge is per origin: scheme://host:port
    key = create_key(api)
    model = {"model": "test-paced"}
    ttft_before = sample(own, "modelport_time_to_first_token_seconds_count", **model)
    tpot_before = sample(own, "modelport_time_per_output_token_seconds_count", **model)
    body = {
        "model": "test-paced",
        "messages": [{"role": "user", "content": "hi"}],
        "stream": True,
        "max_tokens": STREAM_TOKENS,
        "stream_options": {"include_usage": True},
    }
    headers = {"Authorization": f"Bearer {key['secret_key']}"}
    with (
        httpx.Client(timeout=30) as client,
        client.stream("POST", own.url + CHAT, json=body, headers=headers) as response,
    ):
        lines = response.iter_lines()
        assert next(lines).startswith("data: ")
        assert sample(own, "modelport_http_requests_in_flight", family="v1") == 1
        assert sample(own, "modelport_upstream_connections_in_use", **in_use) == 1
        assert [line for line in lines if line][-1] == "data: [DONE]"
    wait_until(
        lambda: sample(own, "modelport_http_requests_in_flight", family="v1") == 0, "v1 done"
    )
    assert sample(own, "modelport_upstream_connections_in_use", **in_use) == 0
    count = "modelport_time_to_first_token_seconds_count"
    assert sample(own, count, **model) == ttft_before + 1
    per_token = "modelport_time_per_output_token_seconds"
    assert sample(own, per_token + "_count", **model) == tpot_before + 1
    # One piece every PACE_SECONDS: what follows the first comes about that far apart.
    mean = sample(own, per_token + "_sum", **model) / sample(own, per_token + "_count", **model)
    assert PACE_SECONDS * 0.8 <= mean <= PACE_SECONDS * 4


def test_the_cost_counter_equals_the_usage_rows_exactly(
    own: Hub, api: httpx.Client, loop: BackgroundLoop
) -> None:
    """test-cached is asked for only here: its counter sums exactly this key's rows."""
    key = create_key(api)
    for tokens in (1, 3, 7, 11, 2):
        response = chat(own, key["secret_key"], "test-cached", max_tokens=tokens)
        assert response.status_code == 200, response.text
    rows = UsageRows(own.database_url, loop)
    try:
        recorded = rows.wait_for(key["uuid"], 5)
    finally:
        rows.close()
    total = sum(row.cost_picousd for row in recorded)
    assert total > 0
    text = httpx.get(own.url + "/metrics", timeout=10).text
    series = 'modelport_cost_usd_total{model="test-cached"} '
    shown = next(line for line in text.splitlines() if line.startswith(series))[len(series) :]
    assert Decimal(shown) == Decimal(total).scaleb(-12)  # the exact sum, not a float's


def test_the_redis_fallback_gauge_flips_while_redis_is_away(
    own: Hub, api: httpx.Client, redis: PrivateRedis
) -> None:
    """Last in the module: it stops the hub's Redis (and starts it again)."""
    assert api.get("/v2/gen-ai/models").status_code == 200
    assert sample(own, "modelport_redis_fallback") == 0
    redis.kill()
    try:
        assert api.get("/v2/gen-ai/models").status_code == 200  # served on the fallback
        assert sample(own, "modelport_redis_fallback") == 1
    finally:
        redis.start()
    time.sleep(1.1)  # the pause after a failure, before Redis is asked again

    def back() -> bool:
        api.get("/v2/gen-ai/models")
        return sample(own, "modelport_redis_fallback") == 0

    wait_until(back, "the fallback gauge back at 0")
