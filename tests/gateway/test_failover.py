"""Failover between a model's deployments, and routers over models, through a running hub.

Each model here has a failing deployment tried first (priority 1) and a healthy one behind
it: refused connections, an upstream that does not answer in time, 429 with Retry-After, 500,
and one that breaks off mid-stream. Requests succeed through the healthy one, a stream that
has started is never retried, and each request is recorded exactly once: as the deployment
that served it, charged once; failed attempts are counted in /metrics and never billed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal

import httpx
import openai
import pytest

from tests.support.catalog import CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE, CREDENTIAL_ENV
from tests.support.databases import sqlite_url
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.ports import free_port
from tests.support.scripted_upstream import Script, ScriptedUpstream
from tests.support.upstream import CREDENTIAL, FakeUpstream
from tests.support.usage import UsageRows

CHEAP_INPUT, CHEAP_OUTPUT = Decimal("0.5"), Decimal("1")
SCRIPTS = {
    "limited": Script(
        [b'{"error": {"message": "slow down"}}'],
        status=429,
        content_type="application/json",
        headers={"Retry-After": "7"},
    ),
    "limited-soon": Script(
        [b'{"error": {"message": "slow down"}}'],
        status=429,
        content_type="application/json",
        headers={"Retry-After": "5"},
    ),
    "unavailable": Script(
        [b'{"error": {"message": "overloaded"}}'], status=503, content_type="application/json"
    ),
}


def model(
    model_id: str, deployments: list[str], prices: tuple[Decimal, Decimal] | None = None
) -> str:
    input_price, output_price = prices or (CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE)
    text = (
        f'[[models]]\nid = "{model_id}"\nname = "{model_id}"\nprovider = "fake"\ntype = "chat"\n'
        "context_window = 4096\nmax_output_tokens = 1024\n"
        f"input_price_per_million = {input_price}\noutput_price_per_million = {output_price}\n"
    )
    for priority, fields in enumerate(deployments, start=1):
        text += f"[[models.deployments]]\npriority = {priority}\n{fields}\n"
    return text


def catalog(fake: FakeUpstream, scripted: ScriptedUpstream) -> str:
    def on_fake(upstream_model: str, more: str = "") -> str:
        return (
            f'base_url = "{fake.url}"\napi_key_env = "{CREDENTIAL_ENV}"\n'
            f'upstream_model = "{upstream_model}"\n{more}'
        )

    def scripted_one(name: str) -> str:
        return f'base_url = "{scripted.url_of(name)}"\napi_key_env = "{CREDENTIAL_ENV}"\n'

    def on_azure(deployment: str) -> str:
        return (
            f'dialect = "azure"\nbase_url = "{fake.root}"\napi_key_env = "{CREDENTIAL_ENV}"\n'
            f'upstream_model = "{deployment}"\napi_version = "2024-10-21"\n'
        )

    healthy = 'name = "healthy"\n' + on_fake("fake-chat")
    closed = f"http://127.0.0.1:{free_port()}/v1"
    return (
        model("refused", [f'base_url = "{closed}"', healthy])
        + model("hangs", [on_fake("fake-slow", "timeout_seconds = 0.5"), healthy])
        + model("limited", [scripted_one("limited"), healthy])
        + model("broken", [on_fake("fake-500"), healthy])
        + model("drops", [on_fake("fake-drop"), healthy])
        + model("exhausted", [scripted_one("limited-soon"), scripted_one("unavailable")])
        + model("only-broken", [on_fake("fake-500")])
        + model("both-broken", [on_fake("fake-500"), on_fake("fake-500")])
        # A literal header value is no secret: "1" must not be scrubbed out of the answer.
        + model(
            "cheap",
            [on_fake("fake-chat", 'headers = { "X-Version" = "1" }\n')],
            (CHEAP_INPUT, CHEAP_OUTPUT),
        )
        + model("azure", [on_azure("fake-500"), 'name = "azure-ok"\n' + on_azure("fake-chat")])
        + '[[routers]]\nid = "router"\nname = "Router"\nmodels = ["only-broken", "cheap"]\n'
    )


@pytest.fixture(scope="module")
def scripted(loop: BackgroundLoop) -> Iterator[ScriptedUpstream]:
    upstream = ScriptedUpstream(loop, SCRIPTS)
    upstream.start()
    yield upstream
    upstream.stop()


@pytest.fixture(scope="module")
def failover_hub(
    database_url: str,
    loop: BackgroundLoop,
    upstream: FakeUpstream,
    scripted: ScriptedUpstream,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("failover")
    path = folder / "catalog.toml"
    path.write_text(catalog(upstream, scripted))
    env = {
        "MODELPORT_CATALOG": str(path),
        CREDENTIAL_ENV: CREDENTIAL,
        "MODELPORT_COOLDOWN_FAILURES": "2",
    }
    hub = Hub(database_url, folder / "hub", loop, env)
    hub.start()
    yield hub
    hub.stop()
    assert CREDENTIAL not in hub.logs() + hub.stderr()


@pytest.fixture
def key(failover_hub: Hub) -> dict[str, str]:
    with failover_hub.client(failover_hub.new_team().token) as api:
        return create_key(api)


@pytest.fixture
def client(failover_hub: Hub, key: dict[str, str]) -> openai.OpenAI:
    return sdk(failover_hub, key["secret_key"])


@pytest.fixture(scope="module")
def rows(failover_hub: Hub, loop: BackgroundLoop) -> Iterator[UsageRows]:
    reader = UsageRows(failover_hub.database_url, loop)
    yield reader
    reader.close()


def failed_attempts(hub: Hub, deployment: str) -> float:
    """modelport_upstream_errors_total summed over kinds, for one deployment."""
    text = httpx.get(hub.url + "/metrics", timeout=10).text
    pattern = re.compile(
        r'^modelport_upstream_errors_total\{[^}]*deployment="'
        + re.escape(deployment)
        + r'"[^}]*\} (\S+)$',
        re.M,
    )
    return sum(float(value) for value in pattern.findall(text))


def cost(prompt: int, completion: int, prices: tuple[Decimal, Decimal]) -> int:
    return int((prompt * prices[0] + completion * prices[1]) * 1_000_000)


@pytest.mark.parametrize("model_id", ["refused", "hangs", "limited", "broken"])
def test_a_failing_deployment_is_skipped_for_the_healthy_one_and_billed_once(
    model_id: str,
    failover_hub: Hub,
    client: openai.OpenAI,
    key: dict[str, str],
    rows: UsageRows,
) -> None:
    before = failed_attempts(failover_hub, f"{model_id}#1")
    answer = client.chat.completions.create(model=model_id, messages=MESSAGES)
    assert answer.model == model_id
    assert answer.choices[0].message.content
    [row] = rows.wait_for(key["uuid"], 1)
    assert (row.model, row.deployment, row.status) == (model_id, f"{model_id}#healthy", "ok")
    assert answer.usage is not None
    assert (row.prompt_tokens, row.completion_tokens) == (
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
    )
    prices = (CHAT_INPUT_PRICE, CHAT_OUTPUT_PRICE)
    assert row.cost_picousd == cost(row.prompt_tokens, row.completion_tokens, prices)
    assert failed_attempts(failover_hub, f"{model_id}#1") == before + 1


def test_a_stream_fails_over_before_its_first_byte(
    failover_hub: Hub, client: openai.OpenAI, key: dict[str, str], rows: UsageRows
) -> None:
    stream = client.chat.completions.create(
        model="broken", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert text
    [row] = rows.wait_for(key["uuid"], 1)
    assert (row.deployment, row.status, row.estimated) == ("broken#healthy", "ok", False)


def test_a_stream_that_started_is_not_retried_and_is_charged_once(
    failover_hub: Hub,
    client: openai.OpenAI,
    key: dict[str, str],
    rows: UsageRows,
    upstream: FakeUpstream,
) -> None:
    healthy_before = sum(1 for body in upstream.seen.bodies if body.get("model") == "fake-chat")
    stream = client.chat.completions.create(model="drops", messages=MESSAGES, stream=True)
    pieces: list[str] = []

    def read_all() -> None:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)

    with pytest.raises(openai.APIError):
        read_all()
    received = len(pieces)
    assert received > 0
    [row] = rows.wait_for(key["uuid"], 1)
    assert (row.deployment, row.status) == ("drops#1", "upstream_error")
    assert row.completion_tokens == received
    assert row.cost_picousd > 0
    healthy_after = sum(1 for body in upstream.seen.bodies if body.get("model") == "fake-chat")
    assert healthy_after == healthy_before, "the healthy deployment was never asked"


def test_retry_after_benches_a_deployment_and_is_passed_on_when_all_fail(
    failover_hub: Hub,
    client: openai.OpenAI,
    key: dict[str, str],
    rows: UsageRows,
    scripted: ScriptedUpstream,
) -> None:
    asked = len([name for name, _ in scripted.requests if name == "limited"])
    client.chat.completions.create(model="limited", messages=MESSAGES)
    client.chat.completions.create(model="limited", messages=MESSAGES)
    after = len([name for name, _ in scripted.requests if name == "limited"])
    assert after - asked <= 1, "the deployment that asked to wait was skipped until then"

    with pytest.raises(openai.APIStatusError) as failure:
        client.chat.completions.create(model="exhausted", messages=MESSAGES)
    assert failure.value.status_code == 502
    assert failure.value.response.headers["retry-after"] == "5"
    exhausted = [row for row in rows.wait_for(key["uuid"], 3) if row.model == "exhausted"]
    assert [(r.deployment, r.status, r.cost_picousd) for r in exhausted] == [
        ("exhausted#2", "upstream_error", 0)
    ]


def test_deployments_that_keep_failing_cool_down(
    failover_hub: Hub, client: openai.OpenAI, key: dict[str, str], rows: UsageRows
) -> None:
    for _ in range(2):  # each request fails on both: two failures each, the threshold
        with pytest.raises(openai.InternalServerError):
            client.chat.completions.create(model="both-broken", messages=MESSAGES)
    before = [failed_attempts(failover_hub, f"both-broken#{n}") for n in (1, 2)]
    with pytest.raises(openai.APIStatusError) as refusal:
        client.chat.completions.create(model="both-broken", messages=MESSAGES)
    assert refusal.value.status_code == 503
    assert "cooling down" in refusal.value.message
    assert 1 <= int(refusal.value.response.headers["retry-after"]) <= 30
    after = [failed_attempts(failover_hub, f"both-broken#{n}") for n in (1, 2)]
    assert after == before, "neither was tried"
    recorded = rows.wait_for(key["uuid"], 2)
    assert [(r.status, r.cost_picousd) for r in recorded] == [("upstream_error", 0)] * 2


def test_a_models_only_deployment_is_not_benched_for_failures(client: openai.OpenAI) -> None:
    for _ in range(4):
        with pytest.raises(openai.InternalServerError) as failure:
            client.chat.completions.create(model="only-broken", messages=MESSAGES)
        assert failure.value.status_code == 502


def test_a_router_serves_and_bills_as_the_model_that_answered(
    failover_hub: Hub, client: openai.OpenAI, key: dict[str, str], rows: UsageRows
) -> None:
    answer = client.chat.completions.create(model="router", messages=MESSAGES)
    assert answer.model == "cheap"
    [row] = rows.wait_for(key["uuid"], 1)
    assert (row.model, row.deployment, row.status) == ("cheap", "cheap#1", "ok")
    assert row.cost_picousd == cost(
        row.prompt_tokens, row.completion_tokens, (CHEAP_INPUT, CHEAP_OUTPUT)
    )
    listed = {model.id for model in client.models.list()}
    assert {"router", "cheap", "broken"} <= listed


def test_azure_deployments_serve_and_fail_over_like_any_other(
    failover_hub: Hub,
    client: openai.OpenAI,
    key: dict[str, str],
    rows: UsageRows,
    upstream: FakeUpstream,
) -> None:
    asked = len(upstream.seen.deployments)
    answer = client.chat.completions.create(model="azure", messages=MESSAGES)
    stream = client.chat.completions.create(model="azure", messages=MESSAGES, stream=True)
    streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert answer.model == "azure"
    assert streamed == answer.choices[0].message.content
    assert upstream.seen.deployments[asked:] == ["fake-500", "fake-chat", "fake-500", "fake-chat"]
    sent = upstream.seen.headers[-1]
    assert sent["api-key"] == CREDENTIAL
    assert "authorization" not in sent
    recorded = rows.wait_for(key["uuid"], 2)
    assert [(r.deployment, r.status, r.estimated) for r in recorded] == [
        ("azure#azure-ok", "ok", False)
    ] * 2


@pytest.fixture(scope="module")
def late_hub(
    loop: BackgroundLoop, upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    """A hub whose requests may not start another attempt after 0.3 s."""
    folder = tmp_path_factory.mktemp("deadline")
    slow = (
        f'base_url = "{upstream.url}"\napi_key_env = "{CREDENTIAL_ENV}"\n'
        'upstream_model = "fake-slow"\ntimeout_seconds = 0.5\n'
    )
    healthy = f'base_url = "{upstream.url}"\napi_key_env = "{CREDENTIAL_ENV}"\n'
    (folder / "catalog.toml").write_text(model("late", [slow, healthy]))
    env = {
        "MODELPORT_CATALOG": str(folder / "catalog.toml"),
        CREDENTIAL_ENV: CREDENTIAL,
        "MODELPORT_REQUEST_DEADLINE_SECONDS": "0.3",
    }
    hub = Hub(sqlite_url(folder), folder / "hub", loop, env)
    hub.start()
    yield hub
    hub.stop()


def test_no_attempt_starts_after_the_requests_deadline(late_hub: Hub, loop: BackgroundLoop) -> None:
    with late_hub.client(late_hub.new_team().token) as api:
        key = create_key(api)
    with pytest.raises(openai.APIStatusError) as failure:
        sdk(late_hub, key["secret_key"]).chat.completions.create(model="late", messages=MESSAGES)
    assert failure.value.status_code == 504
    reader = UsageRows(late_hub.database_url, loop)
    try:
        [row] = reader.wait_for(key["uuid"], 1)
    finally:
        reader.close()
    assert (row.deployment, row.status, row.cost_picousd) == ("late#1", "upstream_timeout", 0)
