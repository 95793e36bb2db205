"""Names that would display as something else are refused on the command line, and nothing
is written: keys (over the API), tokens and teams (on the database), users' emails.

`abc<U+202E>gnp.exe` would show as `abcexe.png`.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from modelport.auth.service import TokenService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.errors import NotFound
from tests.support.cli import assert_clean_failure, clean_env, modelport
from tests.support.hub import TEST_SECRET, Hub, Team
from tests.support.loop import BackgroundLoop

KEYS = "/v2/gen-ai/models/api_keys"
OVERRIDE = "U+202E RIGHT-TO-LEFT OVERRIDE (a bidirectional control)"


def test_keys_create_and_rename_refuse_a_disguised_name(
    hub: Hub, team: Team, api: httpx.Client
) -> None:
    key_id = api.post(KEYS, json={"name": "plain"}).json()["api_key_info"]["uuid"]
    before = api.get(KEYS).json()
    env = clean_env(MODELPORT_URL=hub.url, MODELPORT_TOKEN=team.token)
    created = modelport(hub, "keys", "create", "abc\u202egnp.exe", env=env)
    assert_clean_failure(created, f"name must not contain {OVERRIDE} at 3", "400")
    renamed = modelport(hub, "keys", "rename", key_id, "zero\u200bwidth", env=env)
    assert_clean_failure(renamed, "U+200B ZERO WIDTH SPACE (a zero-width character) at 4")
    assert api.get(KEYS).json() == before


@pytest.mark.parametrize(
    ("token_name", "team_name", "says"),
    [
        ("ci\u2067", "fine", "token name must not contain U+2067 RIGHT-TO-LEFT ISOLATE"),
        ("ci", "team\u202e", f"team name must not contain {OVERRIDE} at 4"),
    ],
)
def test_tokens_create_refuses_a_disguised_token_or_team_name_and_makes_no_team(
    hub: Hub, loop: BackgroundLoop, token_name: str, team_name: str, says: str
) -> None:
    team = f"{team_name}-{uuid.uuid4().hex[:8]}"
    ran = modelport(hub, "tokens", "create", token_name, "--team", team, "--new-team", env=hub.env)
    assert_clean_failure(ran, says)
    assert not loop.run(_team_exists(hub, team))


def test_users_create_refuses_a_disguised_email(hub: Hub) -> None:
    email = f"admin\u202e-{uuid.uuid4().hex[:8]}@example.com"
    ran = modelport(
        hub, "users", "create", email, "--password-stdin", env=hub.env, stdin="a long password\n"
    )
    assert_clean_failure(ran, f"email must not contain {OVERRIDE} at 5")


async def _team_exists(hub: Hub, name: str) -> bool:
    settings = Settings(database_url=hub.database_url, secret=TEST_SECRET)
    database = Database(settings.sqlalchemy_url)
    try:
        async with database.read() as unit:
            await TokenService(unit, Digester(settings.server_secret())).team(name)
        return True
    except NotFound:
        return False
    finally:
        await database.dispose()
