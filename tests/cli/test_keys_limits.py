"""`modelport keys create/update/get/list` show and edit a key's limits, as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from tests.support.hub import Hub, Team


class Cli:
    """The `modelport` command, in a process of its own, pointed at the hub with a token."""

    def __init__(self, hub: Hub, token: str) -> None:
        self._hub = hub
        self._env = {**os.environ, "MODELPORT_URL": hub.url, "MODELPORT_TOKEN": token}

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [sys.executable, "-m", "modelport", *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self._hub.remember(done.stdout + done.stderr)
        return done

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def info(self, *args: str) -> dict[str, Any]:
        """A command's key info, from its JSON output."""
        info: dict[str, Any] = json.loads(self.ok(*args, "--output", "json"))["api_key_info"]
        return info

    def fails(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode != 0, done.stdout
        return done.stderr


@pytest.fixture
def cli(hub: Hub, team: Team) -> Cli:
    return Cli(hub, team.token)


def _in_a_month() -> datetime:
    return (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)


def test_create_sets_every_limit_and_get_shows_them(cli: Cli) -> None:
    expiry = _in_a_month()
    created = cli.info(
        "keys", "create", "limited", "--expires-at", expiry.isoformat(),
        "--monthly-spend-limit", "12.50", "--rpm-limit", "60", "--tpm-limit", "9000",
    )  # fmt: skip
    assert datetime.fromisoformat(created["expires_at"]) == expiry
    assert (created["monthly_spend_limit"], created["rpm_limit"], created["tpm_limit"]) == (
        "12.5",
        60,
        9000,
    )
    table = cli.ok("keys", "get", created["uuid"])
    assert "LIMITS" in table.splitlines()[0]
    assert "$12.5/month, 60 rpm, 9000 tpm" in table
    assert "expires " + created["expires_at"] in table
    listed = cli.ok("keys", "list", "--per-page", "200")
    assert "$12.5/month, 60 rpm, 9000 tpm" in listed


def test_a_key_without_limits_shows_none(cli: Cli) -> None:
    created = cli.info("keys", "create", "plain")
    assert [created[f] for f in ("expires_at", "monthly_spend_limit", "rpm_limit")] == [None] * 3
    row = next(line for line in cli.ok("keys", "list").splitlines() if created["uuid"] in line)
    assert row.rstrip().endswith("-")


def test_update_changes_only_what_is_given_and_none_clears(cli: Cli) -> None:
    created = cli.info(
        "keys", "create", "app", "--expires-at", _in_a_month().isoformat(),
        "--monthly-spend-limit", "25", "--rpm-limit", "60",
    )  # fmt: skip
    key = created["uuid"]

    faster = cli.info("keys", "update", key, "--rpm-limit", "120", "--tpm-limit", "5000")
    assert (faster["rpm_limit"], faster["tpm_limit"]) == (120, 5000)
    assert Decimal(faster["monthly_spend_limit"]) == 25
    assert faster["expires_at"] == created["expires_at"]
    assert faster["name"] == "app"

    cleared = cli.info(
        "keys", "update", key, "--monthly-spend-limit", "none", "--expires-at", "None",
        "--name", "app (EU)",
    )  # fmt: skip
    assert (cleared["monthly_spend_limit"], cleared["expires_at"]) == (None, None)
    assert (cleared["rpm_limit"], cleared["tpm_limit"], cleared["name"]) == (120, 5000, "app (EU)")

    table = cli.ok("keys", "update", key, "--rpm-limit", "none")
    assert "5000 tpm" in table
    assert "rpm" not in table.replace("5000 tpm", "")
    assert cli.info("keys", "get", key)["rpm_limit"] is None


def test_an_expiry_without_a_zone_is_utc(cli: Cli) -> None:
    naive = _in_a_month().replace(tzinfo=None)
    created = cli.info("keys", "create", "utc", "--expires-at", naive.isoformat())
    assert datetime.fromisoformat(created["expires_at"]) == naive.replace(tzinfo=UTC)


BAD_UPDATES = [
    ((), "nothing to change"),
    (("--rpm-limit", "fast"), "--rpm-limit: 'fast' is not a whole number"),
    (("--tpm-limit", "0"), "--tpm-limit must be at least 1"),
    (("--expires-at", "next week"), "is not an ISO 8601 date-time"),
    (("--monthly-spend-limit", "-5"), "monthly_spend_limit"),
    (("--expires-at", "2001-01-01T00:00:00Z"), "expires_at must be in the future"),
]


def test_update_refuses_bad_input_with_a_message_and_changes_nothing(cli: Cli) -> None:
    key = cli.info("keys", "create", "steady", "--rpm-limit", "60")["uuid"]
    for args, message in BAD_UPDATES:
        assert message in cli.fails("keys", "update", key, *args), args
    assert cli.info("keys", "get", key)["rpm_limit"] == 60
