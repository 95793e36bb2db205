"""`modelport usage` and `modelport models list` print the hub's figures, run as a user would.

The commands run as subprocesses against the hub, all at once: each pays Python's start-up,
so running them side by side keeps the suite fast.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.catalog import (
    CACHE_WRITE_PRICE,
    CACHED_INPUT_PRICE,
    CHAT_INPUT_PRICE,
    CHAT_OUTPUT_PRICE,
)
from tests.support.dataplane import KEYS
from tests.support.hub import Hub, Team
from tests.support.usage import COUNTS, Detailed, summed
from tests.usage.conftest import Used, use_key


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Runs:
    used: Used
    api_totals: dict[str, Any]
    detailed: Detailed
    runs: dict[str, Run]


def _table(text: str) -> list[dict[str, str]]:
    """An aligned table (columns two or more spaces apart) as rows keyed by header."""
    header, *lines = text.strip().splitlines()
    names = re.split(r"\s{2,}", header.strip())
    return [dict(zip(names, re.split(r"\s{2,}", line.strip()), strict=True)) for line in lines]


@pytest.fixture(scope="module")
def cli(hub: Hub, detailed: Detailed, detailed_team: Team) -> Runs:
    """A used key, then every command of this module run side by side against the hub."""
    team = hub.new_team()
    with hub.client(team.token) as api:
        used = use_key(hub, api)
        api_totals = api.get(f"{KEYS}/{used.key_id}/usage").json()["totals"]
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    connect = ["--url", hub.url, "--token", team.read_only_token]
    period = ["--since", detailed.period["start"], "--until", detailed.period["end"]]
    commands = {
        "key": ["usage", "--key", used.key_id, *connect],
        "team by model": [
            *("usage", "--since", yesterday, "--group-by", "model", "-o", "json"),
            *connect,
        ],
        "models": ["models", "list", *connect],
        "details by key": [
            *("usage", *period, "--group-by", "key"),
            *("--url", hub.url, "--token", detailed_team.read_only_token),
        ],
    }
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    started = {
        name: subprocess.Popen(
            [sys.executable, "-m", "modelport", *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, command in commands.items()
    }
    runs = {}
    for name, process in started.items():
        out, err = process.communicate(timeout=60)
        runs[name] = Run(process.returncode, out, err)
    return Runs(used, api_totals, detailed, runs)


def test_usage_of_a_key_as_a_table(cli: Runs) -> None:
    run = cli.runs["key"]
    assert run.code == 0, run.err
    rows = _table(run.out)
    assert [row["DATE"] for row in rows] == [datetime.now(UTC).date().isoformat(), "TOTAL"]
    total = rows[-1]
    assert total["REQUESTS"] == str(cli.used.requests) == str(cli.api_totals["requests"])
    assert total["PROMPT_TOKENS"] == str(cli.api_totals["prompt_tokens"])
    assert total["COMPLETION_TOKENS"] == str(cli.api_totals["completion_tokens"])
    assert total["TOTAL_TOKENS"] == str(cli.api_totals["total_tokens"])
    assert total["COST"] == cli.api_totals["cost"]
    assert Decimal(total["COST"]) == cli.used.cost


def test_usage_shows_cached_cache_write_and_reasoning_tokens(cli: Runs) -> None:
    run = cli.runs["details by key"]
    assert run.code == 0, run.err
    rows = {row["API_KEY_UUID"]: row for row in _table(run.out)}
    usages = cli.detailed.usages
    expected = {**summed(usages, lambda u: u.key_id), **summed(usages, lambda _: "TOTAL")}
    assert rows.keys() == expected.keys()
    for label, figures in expected.items():
        shown = rows[label]
        assert {name: int(shown[name.upper()]) for name in COUNTS} == {
            name: figures[name] for name in COUNTS
        }
        assert Decimal(shown["COST"]) == figures["cost"]


def test_team_usage_by_model_since_a_date_as_json(cli: Runs) -> None:
    run = cli.runs["team by model"]
    assert run.code == 0, run.err
    report = json.loads(run.out)
    assert report["group_by"] == "model"
    figures = {
        b["model"]: (b["requests"], b["prompt_tokens"], b["completion_tokens"], Decimal(b["cost"]))
        for b in report["usage"]
    }
    assert figures == cli.used.by_model
    assert report["totals"] == cli.api_totals


def test_models_list(cli: Runs) -> None:
    run = cli.runs["models"]
    assert run.code == 0, run.err
    rows = {row["ID"]: row for row in _table(run.out)}
    chat = rows["test-chat"]
    assert (chat["PROVIDER"], chat["TYPE"], chat["CONTEXT"]) == ("fake", "chat", "4096")
    assert Decimal(chat["INPUT_$/M"]) == CHAT_INPUT_PRICE
    assert Decimal(chat["OUTPUT_$/M"]) == CHAT_OUTPUT_PRICE
    assert (chat["CACHED_$/M"], chat["CACHE_WRITE_$/M"]) == ("-", "-")
    cached = rows["test-cached"]
    assert Decimal(cached["CACHED_$/M"]) == CACHED_INPUT_PRICE
    assert Decimal(cached["CACHE_WRITE_$/M"]) == CACHE_WRITE_PRICE
    assert chat["AVAILABLE"] == "yes"
    assert rows["test-embed"]["TYPE"] == "embedding"
    assert rows["test-small"]["CONTEXT"] == "100"
    unconfigured = rows["test-unconfigured"]["AVAILABLE"]
    assert unconfigured.startswith("no: ")
    assert "MODELPORT_TEST_MISSING_CREDENTIAL" in unconfigured
