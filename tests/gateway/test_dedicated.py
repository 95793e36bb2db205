"""Dedicated deployments: a team's keys use the deployments reserved for it (first, or only);
no other team's key ever reaches them; the catalog shows a team its own, never another's.

`test-dedicated` has a shared deployment and one reserved for DEDICATED_TEAM;
`test-exclusive` has only a deployment reserved for it (tests/support/catalog.py).
"""

from __future__ import annotations

from typing import Any

import openai
import pytest

from tests.keys.test_pydo import pydo_client
from tests.support.catalog import DEDICATED_TEAM
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub, Team
from tests.support.usage import UsageRows

REQUESTS = 6


@pytest.fixture
def dedicated(hub: Hub) -> Team:
    return hub.new_team(DEDICATED_TEAM)


def served_by(hub: Hub, team: Team, usage_rows: UsageRows, model: str) -> list[str | None]:
    """The deployments that served REQUESTS requests of a new key of `team` to `model`."""
    with hub.client(team.token) as api:
        key = create_key(api)
    client = sdk(hub, key["secret_key"])
    for _ in range(REQUESTS):
        answer = client.chat.completions.create(model=model, messages=MESSAGES)
        assert answer.model == model
    return [row.deployment for row in usage_rows.wait_for(key["uuid"], REQUESTS)]


def test_a_teams_keys_use_its_dedicated_deployment_and_no_other_team_reaches_it(
    hub: Hub, dedicated: Team, team: Team, usage_rows: UsageRows
) -> None:
    assert (
        served_by(hub, dedicated, usage_rows, "test-dedicated")
        == ["test-dedicated#reserved"] * REQUESTS
    )
    assert (
        served_by(hub, team, usage_rows, "test-dedicated") == ["test-dedicated#shared"] * REQUESTS
    )
    assert (
        served_by(hub, dedicated, usage_rows, "test-exclusive")
        == ["test-exclusive#vault"] * REQUESTS
    )


def test_a_model_only_another_team_is_served_looks_absent(hub: Hub, team: Team) -> None:
    with hub.client(team.token) as api:
        key = create_key(api)
    client = sdk(hub, key["secret_key"])
    with pytest.raises(openai.NotFoundError) as absent:
        client.chat.completions.create(model="test-exclusive", messages=MESSAGES)
    assert absent.value.code == "model_not_found"
    listed = {model.id for model in client.models.list()}
    assert "test-dedicated" in listed
    assert "test-exclusive" not in listed
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("test-exclusive")


def catalog_of(hub: Hub, team: Team) -> dict[str, dict[str, Any]]:
    listed = pydo_client(hub, team.token).genai.list_models(per_page=200)
    return {model["id"]: model for model in listed["models"]}


def test_the_catalog_shows_a_team_its_dedicated_deployments_only(
    hub: Hub, dedicated: Team, team: Team
) -> None:
    mine = catalog_of(hub, dedicated)
    assert mine["test-dedicated"]["dedicated_deployments"] == [
        {"name": "reserved", "region": None, "exclusive": False, "available": True}
    ]
    assert mine["test-exclusive"]["available"] is True
    assert mine["test-chat"]["dedicated_deployments"] == []

    theirs = catalog_of(hub, team)
    assert theirs["test-dedicated"]["dedicated_deployments"] == []
    assert theirs["test-dedicated"]["available"] is True
    assert theirs["test-exclusive"]["dedicated_deployments"] == []
    assert theirs["test-exclusive"]["available"] is False
    assert (
        theirs["test-exclusive"]["unavailable_reason"]
        == "no configured deployment serves this team"
    )
    assert "vault" not in str(theirs)
    assert "reserved" not in str(theirs)
