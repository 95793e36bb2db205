"""Address allow-lists: a key's `allowed_ips`, set and cleared through the key API, and
enforced on /v1 for the client's address (the peer, or who a trusted proxy names)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest
from pydantic import ValidationError

from modelport.config import Settings, describe
from tests.hub.test_metrics import scrape, value
from tests.support.databases import sqlite_url
from tests.support.dataplane import MESSAGES, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.usage import UsageRows, wait_until

KEYS = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"
REFUSALS = "modelport_key_refusals_total"


def _key(api: httpx.Client, **fields: object) -> dict[str, Any]:
    created = api.post(KEYS, json={"name": "fenced", **fields})
    assert created.status_code == 200, created.text
    info: dict[str, Any] = created.json()["api_key_info"]
    return info


def _chat(client: openai.OpenAI) -> str | None:
    answer = client.chat.completions.create(model="test-chat", messages=MESSAGES)
    return answer.choices[0].message.content


def test_allowed_ips_are_set_changed_and_cleared(api: httpx.Client) -> None:
    key = _key(api, allowed_ips=["10.0.0.0/8", "192.168.1.7", "2001:DB8::/32", "10.0.0.0/8"])
    assert key["allowed_ips"] == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32"]
    assert api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]["allowed_ips"] == [
        "10.0.0.0/8",
        "192.168.1.7/32",
        "2001:db8::/32",
    ]

    changed = api.put(f"{KEYS}/{key['uuid']}", json={"allowed_ips": ["::1"], "rpm_limit": 9})
    assert changed.status_code == 200, changed.text
    info = changed.json()["api_key_info"]
    assert (info["allowed_ips"], info["rpm_limit"], info["name"]) == (["::1/128"], 9, "fenced")

    renamed = api.put(f"{KEYS}/{key['uuid']}", json={"name": "renamed"}).json()["api_key_info"]
    assert renamed["allowed_ips"] == ["::1/128"]

    cleared = api.put(f"{KEYS}/{key['uuid']}", json={"allowed_ips": None})
    assert cleared.json()["api_key_info"]["allowed_ips"] is None
    assert _key(api)["allowed_ips"] is None


@pytest.mark.parametrize(
    ("allowed_ips", "says"),
    [
        (["10.0.0.0/33"], "'10.0.0.0/33' is not an IP address or CIDR range"),
        (["10.0.0.1/8"], "did you mean 10.0.0.0/8"),
        (["2001:db8::/129"], "is not an IP address"),
        (["example.com"], "is not an IP address"),
        ([" 10.0.0.0/8"], "is not an IP address"),
        (["fe80::1%eth0"], "is not an IP address"),
        ([], "non-empty list"),
        ("10.0.0.0/8", "allowed_ips"),
        ([10], "allowed_ips"),
        ([f"10.0.{i // 256}.{i % 256}" for i in range(101)], "at most 100"),
    ],
)
def test_bad_allowed_ips_are_400_naming_the_field(
    api: httpx.Client, allowed_ips: object, says: str
) -> None:
    key = _key(api)
    for response in (
        api.post(KEYS, json={"name": "bad", "allowed_ips": allowed_ips}),
        api.put(f"{KEYS}/{key['uuid']}", json={"allowed_ips": allowed_ips}),
    ):
        assert response.status_code == 400, response.text
        body = response.json()
        assert body["id"] == "bad_request"
        assert "allowed_ips" in body["message"]
        assert says in body["message"]
    assert api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]["allowed_ips"] is None


@pytest.mark.parametrize("allowed", [["127.0.0.1/32"], ["::1", "127.0.0.0/8"]])
def test_a_listed_address_is_served(hub: Hub, api: httpx.Client, allowed: list[str]) -> None:
    key = _key(api, allowed_ips=allowed)
    with sdk(hub, key["secret_key"]) as client:
        assert _chat(client)


def test_an_unlisted_address_is_403_counted_audited_and_not_charged(
    hub: Hub, api: httpx.Client, usage_rows: UsageRows
) -> None:
    key = _key(api, allowed_ips=["10.0.0.0/8"])
    _, before = scrape(hub)
    with sdk(hub, key["secret_key"]) as client:
        for _ in range(3):
            with pytest.raises(openai.PermissionDeniedError) as refused:
                _chat(client)
            assert refused.value.code == "address_not_allowed"
            assert "127.0.0.1" in refused.value.message
        with pytest.raises(openai.PermissionDeniedError):
            client.models.list()
    claude = anthropic.Anthropic(base_url=hub.url, api_key=key["secret_key"], max_retries=0)
    with claude, pytest.raises(anthropic.PermissionDeniedError):
        claude.messages.create(
            model="test-claude-chat", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
        )
    _, after = scrape(hub)
    refusals = value(after, REFUSALS, reason="address_not_allowed") - value(
        before, REFUSALS, reason="address_not_allowed"
    )
    assert refusals == 5
    assert usage_rows.of_key(key["uuid"]) == []
    listed = api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]
    assert listed["last_used_at"] is None

    def audited() -> list[dict[str, Any]]:
        events = api.get(AUDIT).json()["audit_events"]
        return [e for e in events if e["action"] == "key.address_not_allowed"]

    wait_until(lambda: bool(audited()), "the refusal's audit event")
    (event,) = audited()  # five refusals from one address within a minute: one event
    assert event["target_uuid"] == key["uuid"]
    assert (event["actor"], event["target_name"]) == ("key:fenced", "fenced")
    assert event["client_addr"] == "127.0.0.1"

    # Listing the address lets the key in at once: a change makes every process re-read it.
    api.put(f"{KEYS}/{key['uuid']}", json={"allowed_ips": ["10.0.0.0/8", "127.0.0.1"]})
    with sdk(hub, key["secret_key"]) as client:
        assert _chat(client)
    assert len(usage_rows.wait_for(key["uuid"], 1)) == 1


def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(hub: Hub, api: httpx.Client) -> None:
    allowed = _key(api, allowed_ips=["127.0.0.1"])
    fenced = _key(api, allowed_ips=["203.0.113.0/24"])
    spoofed = {"X-Forwarded-For": "203.0.113.9"}
    with sdk(hub, allowed["secret_key"], default_headers=spoofed) as client:
        assert _chat(client)
    with (
        sdk(hub, fenced["secret_key"], default_headers=spoofed) as client,
        pytest.raises(openai.PermissionDeniedError),
    ):
        _chat(client)


@pytest.fixture(scope="module")
def proxied(
    loop: BackgroundLoop, upstream_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    """A hub behind a proxy on 127.0.0.1: from there, X-Forwarded-For names the client."""
    folder = tmp_path_factory.mktemp("proxied")
    env = {
        **upstream_env,
        "MODELPORT_TRUSTED_PROXIES": "127.0.0.1, 192.0.2.0/24",
        "MODELPORT_SHUTDOWN_GRACE_SECONDS": "0",
    }
    server = Hub(sqlite_url(folder), folder / "hub", loop, extra_env=env)
    server.start()
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("forwarded_for", "served"),
    [
        (None, False),  # the proxy itself, 127.0.0.1, is not listed
        ("203.0.113.9", True),
        ("198.51.100.1, 203.0.113.9", True),  # the right-most address our proxy added
        ("203.0.113.9, 198.51.100.1", False),
        ("203.0.113.9, 192.0.2.1", True),  # 192.0.2.1 is a trusted proxy: look past it
        ("not-an-address", False),
    ],
)
def test_x_forwarded_for_decides_behind_a_trusted_proxy(
    proxied: Hub, forwarded_for: str | None, served: bool
) -> None:
    team = proxied.new_team()
    with proxied.client(team.token) as api:
        key = _key(api, allowed_ips=["203.0.113.0/24"])
    headers = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
    with sdk(proxied, key["secret_key"], default_headers=headers) as client:
        if served:
            assert _chat(client)
        else:
            with pytest.raises(openai.PermissionDeniedError):
                _chat(client)


def test_the_audit_log_names_the_client_behind_the_proxy(proxied: Hub) -> None:
    team = proxied.new_team()
    with proxied.client(team.token) as api:
        key = _key(api, allowed_ips=["10.0.0.0/8"])
        headers = {"X-Forwarded-For": "198.51.100.23"}
        with (
            sdk(proxied, key["secret_key"], default_headers=headers) as client,
            pytest.raises(openai.PermissionDeniedError) as refused,
        ):
            _chat(client)
        assert "198.51.100.23" in refused.value.message

        def addresses() -> list[str]:
            events = api.get(AUDIT).json()["audit_events"]
            return [e["client_addr"] for e in events if e["action"] == "key.address_not_allowed"]

        wait_until(lambda: bool(addresses()), "the refusal's audit event")
        assert addresses() == ["198.51.100.23"]
        # The control plane sees the same client: the key's creation was audited from 127.0.0.1.
        created = [e for e in api.get(AUDIT).json()["audit_events"] if e["action"] == "key.create"]
        assert created[0]["client_addr"] == "127.0.0.1"


def test_a_malformed_trusted_proxy_stops_the_hub_at_start() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(trusted_proxies="127.0.0.1, 10.0.0.1/8")
    assert describe(refused.value) == (
        "MODELPORT_TRUSTED_PROXIES: trusted proxies: '10.0.0.1/8' has host bits set; "
        "did you mean 10.0.0.0/8?"
    )
