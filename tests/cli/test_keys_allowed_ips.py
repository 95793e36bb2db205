"""`modelport keys create/update --allowed-ips`, as a user runs them."""

from __future__ import annotations

import pytest

from tests.cli.test_keys_limits import Cli
from tests.support.hub import Hub, Team

# What the CLI sends does not depend on the database; the API tests cover both.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True, scope="session")


@pytest.fixture
def cli(hub: Hub, team: Team) -> Cli:
    return Cli(hub, team.token)


def test_allowed_ips_are_set_shown_changed_and_cleared(cli: Cli) -> None:
    created = cli.info("keys", "create", "fenced", "--allowed-ips", "10.0.0.0/8, 2001:db8::/32")
    assert created["allowed_ips"] == ["10.0.0.0/8", "2001:db8::/32"]

    table = cli.ok("keys", "update", created["uuid"], "--allowed-ips", "127.0.0.1,::1")
    assert "from 127.0.0.1/32 ::1/128" in table  # the LIMITS column
    cleared = cli.info("keys", "update", created["uuid"], "--allowed-ips", "none")
    assert cleared["allowed_ips"] is None


def test_a_malformed_range_is_refused_naming_the_field(cli: Cli) -> None:
    error = cli.fails("keys", "create", "fenced", "--allowed-ips", "10.0.0.0/8,10.0.0.300/24")
    assert "allowed_ips" in error
    assert "10.0.0.300/24" in error
