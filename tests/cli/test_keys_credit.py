"""`modelport keys credit` shows and tops up a key's prepaid credit, as a user runs it."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_keys_limits import Cli, cli

__all__ = ["cli"]  # the fixture, shared


# The CLI only talks to the API, which the key API's tests run on both backends.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")
def test_credit_is_shown_topped_up_and_refused_when_bad(cli: Cli) -> None:
    key = cli.info("keys", "create", "prepaid")["uuid"]
    shown = json.loads(cli.ok("keys", "credit", key, "--output", "json"))
    assert shown["credit"] == {"granted": "0.0", "spent": "0.0", "remaining": "0.0"}
    assert shown["api_key_info"]["credit"] is None

    topped = json.loads(cli.ok("keys", "credit", key, "--add", "10.50", "--output", "json"))
    assert topped["credit"]["granted"] == topped["api_key_info"]["credit"] == "10.5"
    table = cli.ok("keys", "credit", key, "--add", "2")
    assert "12.5" in table
    assert "REMAINING" in table
    assert "$12.5 credit" in cli.ok("keys", "get", key)

    for bad in ("-1", "1.0000001"):
        assert "amount_usd" in cli.fails("keys", "credit", key, "--add", bad), bad
