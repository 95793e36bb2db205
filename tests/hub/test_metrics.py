"""`GET /metrics`: Prometheus text that moves with traffic, and never names a secret or a key."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from modelport.core.digest import Digester
from tests.support.databases import sqlite_url
from tests.support.hub import TEST_SECRET, Hub
from tests.support.loop import BackgroundLoop
from tests.support.upstream import CREDENTIAL, PROMPT_TOKENS
from tests.support.usage import whole_window

KEYS = "/v2/gen-ai/models/api_keys"
CHAT = "/v1/chat/completions"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
LONG_HEX = re.compile(r"[0-9a-f]{32,}")
ALLOWED_LABELS = {"family", "route", "method", "status", "model", "kind", "reason", "source"} | {
    "le",
    "deployment",
    "backend",
    "version",
    "origin",
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(hub: Hub, token: str | None = None) -> tuple[str, Samples]:
    """The exposition text and its samples, parsed by prometheus_client's own parser."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.get(hub.url + "/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples: Samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[_series(sample)] = sample.value
    return response.text, samples


def _series(sample: Sample) -> tuple[str, frozenset[tuple[str, str]]]:
    return sample.name, frozenset(sample.labels.items())


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def _chat(hub: Hub, secret: str | None, model: str = "test-chat") -> httpx.Response:
    headers = {"Authorization": f"Bearer {secret}"} if secret else {}
    body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
    return httpx.post(hub.url + CHAT, json=body, headers=headers, timeout=30)


def _key(api: httpx.Client, **limits: object) -> dict[str, str]:
    created = api.post(KEYS, json={"name": "metered", **limits})
    assert created.status_code == 200, created.text
    info: dict[str, str] = created.json()["api_key_info"]
    return info


def _traffic(hub: Hub, api: httpx.Client) -> list[dict[str, str]]:
    """One request of every kind the metrics count; the keys it made."""
    plain = _key(api)
    assert _chat(hub, plain["secret_key"]).status_code == 200
    assert _chat(hub, plain["secret_key"], "test-500").status_code == 502
    assert _chat(hub, None).status_code == 401
    assert _chat(hub, "mp_" + "x" * 38).status_code == 401
    slow = _key(api, rpm_limit=1)
    whole_window()
    assert _chat(hub, slow["secret_key"]).status_code == 200
    assert _chat(hub, slow["secret_key"]).status_code == 429
    broke = _key(api, monthly_spend_limit="0")
    assert _chat(hub, broke["secret_key"]).status_code == 429
    soon = datetime.now(UTC) + timedelta(seconds=1.5)
    expiring = _key(api, expires_at=soon.isoformat())
    gone = _key(api)
    assert api.delete(f"{KEYS}/{gone['uuid']}").status_code == 200
    assert _chat(hub, gone["secret_key"]).status_code == 401
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.1)
    assert _chat(hub, expiring["secret_key"]).status_code == 401
    assert api.get(f"{KEYS}/{plain['uuid']}").status_code == 200
    return [plain, slow, broke, expiring, gone]


def test_counters_move_with_traffic(hub: Hub, api: httpx.Client) -> None:
    _, before = scrape(hub)
    _traffic(hub, api)
    _, after = scrape(hub)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ok = {"family": "v1", "route": CHAT, "method": "POST", "status": "200"}
    assert grew("modelport_http_requests_total", **ok) >= 2
    assert grew("modelport_http_requests_total", **{**ok, "status": "429"}) >= 2
    one_key = {"family": "v2", "route": KEYS + "/{api_key_uuid}", "status": "200"}
    assert grew("modelport_http_requests_total", **one_key, method="DELETE") >= 1
    assert grew("modelport_http_requests_total", **one_key, method="GET") >= 1
    v1 = {"family": "v1", "route": CHAT, "method": "POST"}
    assert grew("modelport_http_request_duration_seconds_count", **v1) >= 9
    assert grew("modelport_http_request_duration_seconds_bucket", **v1, le="+Inf") >= 9
    failed = {"model": "test-500", "deployment": "test-500#1", "kind": "http_500"}
    assert grew("modelport_upstream_errors_total", **failed) >= 1
    assert grew("modelport_tokens_total", model="test-chat", kind="prompt") >= 2 * PROMPT_TOKENS
    assert grew("modelport_tokens_total", model="test-chat", kind="completion") > 0
    assert grew("modelport_cost_usd_total", model="test-chat") > 0
    assert grew("modelport_usage_rows_written_total", status="ok") >= 2
    assert grew("modelport_usage_rows_written_total", status="upstream_error") >= 1
    assert grew("modelport_model_request_duration_seconds_count", model="test-chat", status="ok")
    assert grew("modelport_key_verifications_total", source="database") >= 1
    for reason in ("missing", "invalid", "revoked_or_unknown", "expired"):
        assert grew("modelport_key_refusals_total", reason=reason) >= 1, reason
    for reason in ("rate_limited", "spend_limited"):
        assert grew("modelport_key_refusals_total", reason=reason) >= 1, reason
    assert value(after, "modelport_usage_write_failures_total") == 0
    assert value(after, "modelport_revocation_ledger_shared", backend="memory") == 0
    assert value(after, "process_resident_memory_bytes") > 0


def test_no_secret_digest_or_key_id_in_the_metrics(hub: Hub, api: httpx.Client) -> None:
    keys = _traffic(hub, api)
    text, samples = scrape(hub)
    digester = Digester(TEST_SECRET.encode())
    for key in keys:
        secret = key["secret_key"]
        for forbidden in (secret, secret[3:], key["hint"].lstrip("…"), key["uuid"]):
            assert forbidden not in text
        assert key["uuid"].replace("-", "") not in text
        assert digester.digest(secret).hex() not in text
    assert CREDENTIAL not in text
    assert TEST_SECRET not in text
    assert not UUID.search(text)
    assert not LONG_HEX.search(text)
    label_names = {name for _, labels in samples for name, _ in labels}
    assert label_names <= ALLOWED_LABELS


@pytest.fixture(scope="module")
def guarded(loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A hub of its own whose /metrics needs a bearer token."""
    folder: Path = tmp_path_factory.mktemp("metrics")
    server = Hub(
        sqlite_url(folder),
        folder / "hub",
        loop,
        extra_env={"MODELPORT_METRICS_TOKEN": "metrics-scraper-token"},
    )
    server.start()
    yield server
    server.stop()


def test_a_metrics_token_guards_the_endpoint(guarded: Hub) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}):
        refused = httpx.get(guarded.url + "/metrics", headers=headers, timeout=10)
        assert refused.status_code == 401
        assert refused.json()["id"] == "unauthorized"
    text, _ = scrape(guarded, "metrics-scraper-token")
    assert "modelport_http_requests_total" in text
    assert "metrics-scraper-token" not in guarded.logs()
