"""The usage API sums cached, cache-write and reasoning tokens per bucket, exactly, and its
totals are exactly the buckets' sum; the OpenAPI document describes them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.dataplane import KEYS
from tests.support.hub import Hub, Team
from tests.support.usage import COUNTS, Detailed, Usage, summed

TEAM = "/v2/gen-ai/usage"
EXACT = re.compile(r"^\d+\.\d+$")
LABELS: dict[str, tuple[str, Callable[[Usage], str]]] = {
    "day": ("date", lambda usage: usage.at.date().isoformat()),
    "model": ("model", lambda usage: usage.model),
    "key": ("api_key_uuid", lambda usage: usage.key_id),
}
"""group_by -> the bucket's label field, and a usage's label."""


def _figures(bucket: dict[str, Any]) -> dict[str, Any]:
    assert EXACT.match(bucket["cost"]), bucket["cost"]
    return {**{name: bucket[name] for name in COUNTS}, "cost": Decimal(bucket["cost"])}


def _check(report: dict[str, Any], usages: list[Usage], group_by: str) -> None:
    field, label = LABELS[group_by]
    assert {b[field]: _figures(b) for b in report["usage"]} == summed(usages, label)
    [totals] = summed(usages, lambda _: "all").values()
    assert _figures(report["totals"]) == totals
    for name in (*COUNTS, "cost"):
        assert _figures(report["totals"])[name] == sum(_figures(b)[name] for b in report["usage"])


@pytest.fixture(scope="module")
def reader(hub: Hub, detailed_team: Team) -> Iterator[httpx.Client]:
    with hub.client(detailed_team.read_only_token) as client:
        yield client


@pytest.mark.parametrize("group_by", ["day", "model", "key"])
def test_team_usage_sums_every_token_detail(
    reader: httpx.Client, detailed: Detailed, group_by: str
) -> None:
    response = reader.get(TEAM, params={"group_by": group_by, **detailed.period})
    assert response.status_code == 200, response.text
    _check(response.json(), detailed.usages, group_by)


@pytest.mark.parametrize("key", ["alpha", "beta"])
@pytest.mark.parametrize("group_by", ["day", "model"])
def test_key_usage_sums_every_token_detail(
    reader: httpx.Client, detailed: Detailed, key: str, group_by: str
) -> None:
    key_id = detailed.keys[key]
    response = reader.get(
        f"{KEYS}/{key_id}/usage", params={"group_by": group_by, **detailed.period}
    )
    assert response.status_code == 200, response.text
    _check(response.json(), [u for u in detailed.usages if u.key_id == key_id], group_by)


def test_the_document_describes_the_details(hub: Hub) -> None:
    document = httpx.get(hub.url + "/openapi.json").json()
    bucket = document["components"]["schemas"]["UsageBucket"]
    details = {"cached_prompt_tokens", "cache_write_tokens", "reasoning_tokens"}
    assert details <= set(bucket["required"])
    for name in details:
        assert bucket["properties"][name]["type"] == "integer"
        assert bucket["properties"][name]["description"].startswith("Of ")
