"""The usage API reports exactly what was recorded: per key and team-wide, in exact money."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.dataplane import KEYS, MESSAGES, create_key, sdk
from tests.support.hub import Hub, Team
from tests.support.usage import wait_until
from tests.usage.conftest import Used, use_key

TEAM = "/v2/gen-ai/usage"
EXACT = re.compile(r"^\d+\.\d+$")
SUMMED = ("requests", "prompt_tokens", "completion_tokens", "total_tokens")


def _key_usage(api: httpx.Client, key_id: str, **params: str) -> dict[str, Any]:
    response = api.get(f"{KEYS}/{key_id}/usage", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _assert_totals_add_up(report: dict[str, Any]) -> None:
    """`totals` is the sum of the buckets, and every figure is internally consistent."""
    for entry in [*report["usage"], report["totals"]]:
        assert entry["total_tokens"] == entry["prompt_tokens"] + entry["completion_tokens"]
        assert EXACT.match(entry["cost"]), entry["cost"]
    for name in SUMMED:
        assert report["totals"][name] == sum(b[name] for b in report["usage"])
    buckets_cost = sum((Decimal(b["cost"]) for b in report["usage"]), Decimal(0))
    assert Decimal(report["totals"]["cost"]) == buckets_cost


def _figures(entry: dict[str, Any]) -> tuple[int, int, int, Decimal]:
    cost = Decimal(entry["cost"])
    return entry["requests"], entry["prompt_tokens"], entry["completion_tokens"], cost


def test_key_usage_by_model(reader: httpx.Client, shared_used: Used) -> None:
    report = _key_usage(reader, shared_used.key_id, group_by="model")
    assert report["group_by"] == "model"
    assert {b["model"]: _figures(b) for b in report["usage"]} == shared_used.by_model
    assert [b["model"] for b in report["usage"]] == sorted(shared_used.by_model)
    _assert_totals_add_up(report)
    assert report["totals"]["requests"] == shared_used.requests
    assert Decimal(report["totals"]["cost"]) == shared_used.cost


def test_key_usage_by_day_is_the_default(reader: httpx.Client, shared_used: Used) -> None:
    report = _key_usage(reader, shared_used.key_id)
    assert report["group_by"] == "day"
    [bucket] = report["usage"]
    assert bucket["date"] == datetime.now(UTC).date().isoformat()
    assert "model" not in bucket
    assert "api_key_uuid" not in bucket
    assert _figures(bucket) == _figures(report["totals"])
    assert (bucket["requests"], Decimal(bucket["cost"])) == (shared_used.requests, shared_used.cost)
    _assert_totals_add_up(report)


def test_team_usage_by_key_model_and_day(hub: Hub, api: httpx.Client, used: Used) -> None:
    other = use_key(hub, api)
    by_key = api.get(TEAM, params={"group_by": "key"}).json()
    assert {b["api_key_uuid"] for b in by_key["usage"]} == {used.key_id, other.key_id}
    for bucket in by_key["usage"]:
        assert _figures(bucket) == _figures(_key_usage(api, bucket["api_key_uuid"])["totals"])
    _assert_totals_add_up(by_key)
    assert by_key["totals"]["requests"] == used.requests + other.requests
    assert Decimal(by_key["totals"]["cost"]) == used.cost + other.cost
    by_model = api.get(TEAM, params={"group_by": "model"}).json()
    by_day = api.get(TEAM).json()
    for report in (by_model, by_day):
        _assert_totals_add_up(report)
        assert report["totals"] == by_key["totals"]
    chat = next(b for b in by_model["usage"] if b["model"] == "test-chat")
    assert chat["requests"] == 4


def test_another_team_sees_none_of_it(hub: Hub, shared_used: Used) -> None:
    with hub.client(hub.new_team().token) as stranger:
        assert stranger.get(f"{KEYS}/{shared_used.key_id}/usage").status_code == 404
        empty = stranger.get(TEAM, params={"group_by": "key"}).json()
    assert empty["usage"] == []
    assert empty["totals"]["requests"] == 0
    assert Decimal(empty["totals"]["cost"]) == 0


def test_unknown_and_malformed_key_ids(reader: httpx.Client) -> None:
    assert reader.get(f"{KEYS}/00000000-0000-4000-8000-000000000000/usage").status_code == 404
    assert reader.get(f"{KEYS}/not-a-uuid/usage").status_code == 400


def test_period_by_date_and_date_time(reader: httpx.Client, shared_used: Used) -> None:
    """A date covers its whole UTC day; a date-time is exact, whatever its offset."""
    today = datetime.now(UTC).date()
    day = timedelta(days=1)

    def requests(**params: str) -> int:
        report = _key_usage(reader, shared_used.key_id, **params)
        _assert_totals_add_up(report)
        total: int = report["totals"]["requests"]
        return total

    assert requests(start=today.isoformat(), end=today.isoformat()) == shared_used.requests
    assert requests(start=(today - day).isoformat()) == shared_used.requests
    assert requests(start=(today - day).isoformat(), end=(today - day).isoformat()) == 0
    before = shared_used.before.replace(microsecond=0)
    assert requests(start=before.isoformat()) == shared_used.requests
    assert requests(start=before.strftime("%Y-%m-%dT%H:%M:%SZ")) == shared_used.requests
    east = before.astimezone(timezone(timedelta(hours=2)))
    assert requests(start=east.isoformat()) == shared_used.requests
    assert requests(start=(before - day).isoformat(), end=before.isoformat()) == 0
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert requests(start=before.isoformat(), end=later.isoformat()) == shared_used.requests
    assert requests(start=(later - timedelta(seconds=1)).isoformat(), end=later.isoformat()) == 0


@pytest.mark.parametrize(
    "params",
    [
        {"start": "yesterday"},
        {"start": "2026-13-01"},
        {"end": "2026-02-30"},
        {"start": "2026-01-01T25:00:00Z"},
        {"start": "2026-01-02", "end": "2026-01-01"},
        {"start": "2026-01-01T10:00:00Z", "end": "2026-01-01T10:00:00Z"},
        {"start": "2999-01-01"},
        {"end": "9999-12-31"},
        {"start": "0001-01-01T00:00:00+05:00"},
        {"group_by": "week"},
        {"group_by": "key"},
    ],
)
def test_bad_periods_and_groupings_are_400(
    reader: httpx.Client, shared_used: Used, params: dict[str, str]
) -> None:
    response = reader.get(f"{KEYS}/{shared_used.key_id}/usage", params=params)
    assert response.status_code == 400, response.text
    assert set(response.json()) == {"id", "message", "request_id"}


def test_a_deleted_keys_usage_is_still_readable(api: httpx.Client, used: Used) -> None:
    assert api.delete(f"{KEYS}/{used.key_id}").status_code == 200
    report = _key_usage(api, used.key_id, group_by="model")
    assert {b["model"]: _figures(b) for b in report["usage"]} == used.by_model
    team = api.get(TEAM, params={"group_by": "key"}).json()
    assert [b["api_key_uuid"] for b in team["usage"]] == [used.key_id]


def test_a_read_only_token_can_read_usage(hub: Hub, reading_team: Team, shared_used: Used) -> None:
    with hub.client(reading_team.read_only_token) as read_only:
        by_key = read_only.get(f"{KEYS}/{shared_used.key_id}/usage")
        by_team = read_only.get(TEAM)
    assert by_key.status_code == 200, by_key.text
    assert by_team.status_code == 200, by_team.text
    assert by_key.json()["totals"]["requests"] == shared_used.requests
    assert by_team.json()["totals"] == by_key.json()["totals"]


def test_last_used_at_follows_use(hub: Hub, api: httpx.Client) -> None:
    """Written in the background, at most a minute stale: a first use shows within seconds."""
    key = create_key(api)
    assert key["last_used_at"] is None
    before = datetime.now(UTC) - timedelta(seconds=1)
    with sdk(hub, key["secret_key"]) as client:
        client.chat.completions.create(model="test-chat", messages=MESSAGES)

    def last_used() -> str | None:
        info = api.get(f"{KEYS}/{key['uuid']}").json()["api_key_info"]
        value: str | None = info["last_used_at"]
        return value

    wait_until(lambda: last_used() is not None, "last_used_at to be set", timeout=2)
    stamp = datetime.fromisoformat(str(last_used()).replace("Z", "+00:00"))
    assert before <= stamp <= datetime.now(UTC) + timedelta(seconds=1)
