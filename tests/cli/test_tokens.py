"""`modelport tokens create|list|revoke` and `users list`: on the database, as the hub sees it.

They read the same settings as `serve`, so a token made with the hub's environment works on
the running hub at once. A folder or database the hub never made is refused, and so is a
team nobody made (unless --new-team): a token made there would be one the hub rejects, or
belong to a team made by a typo.
"""

from __future__ import annotations

import json
import re
import stat
import uuid
from pathlib import Path

from modelport.auth.principal import Principal
from modelport.auth.service import TokenService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.errors import NotFound
from tests.support.cli import assert_clean_failure, clean_env, modelport, side_by_side
from tests.support.hub import TEST_SECRET, Hub, Team
from tests.support.loop import BackgroundLoop

TOKEN = re.compile(r"mpt_[0-9A-Za-z]{38}")
KEYS = "/v2/gen-ai/models/api_keys"


def create_token(hub: Hub, *args: str) -> str:
    ran = modelport(hub, "tokens", "create", *args, env=hub.env)
    assert ran.code == 0, ran.err
    assert len(ran.lines) == 1, ran.out
    assert TOKEN.fullmatch(ran.lines[0]), ran.out
    assert ran.err == ""
    return ran.lines[0]


def test_a_new_token_works_on_the_hub_and_its_new_team_is_created(hub: Hub) -> None:
    team = "cli-" + uuid.uuid4().hex[:8]
    token = create_token(hub, "ci", "--team", team, "--new-team")
    with hub.client(token) as client:
        created = client.post(KEYS, json={"name": "made by ci"})
        assert created.status_code == 200, created.text
        assert created.json()["api_key_info"]["created_by"] == "token:ci"
        assert client.get(KEYS).json()["meta"]["total"] == 1


def test_a_read_only_token_lists_the_team_but_may_not_write(hub: Hub) -> None:
    team = "cli-" + uuid.uuid4().hex[:8]
    writer = create_token(hub, "writer", "--team", team, "--new-team")
    reader = create_token(hub, "reader", "--team", team, "--read-only")
    with hub.client(writer) as client:
        key_id = client.post(KEYS, json={"name": "shared"}).json()["api_key_info"]["uuid"]
    with hub.client(reader) as client:
        assert [k["uuid"] for k in client.get(KEYS).json()["api_key_infos"]] == [key_id]
        for response in (
            client.post(KEYS, json={"name": "nope"}),
            client.put(f"{KEYS}/{key_id}", json={"name": "nope"}),
            client.put(f"{KEYS}/{key_id}/regenerate"),
            client.delete(f"{KEYS}/{key_id}"),
        ):
            assert response.status_code == 403, response.text
            assert response.json()["id"] == "forbidden"
        assert client.get(f"{KEYS}/{key_id}").json()["api_key_info"]["name"] == "shared"


def test_a_fresh_install_is_made_by_db_upgrade_not_by_tokens_create(
    loop: BackgroundLoop, tmp_path: Path
) -> None:
    """`tokens create` on a folder with no database refuses, naming it, and leaves nothing;
    after `db upgrade` the data dir holds the SQLite file and the server secret, and only
    this user may read them."""
    data = tmp_path / "data"
    refused = modelport(None, "tokens", "create", "local", "--data-dir", str(data), env=clean_env())
    assert_clean_failure(refused, f"there is no database at {data / 'modelport.db'}", "--data-dir")
    assert not data.exists()

    upgraded = modelport(None, "db", "upgrade", "--data-dir", str(data), env=clean_env())
    assert upgraded.code == 0, upgraded.err
    ran = modelport(None, "tokens", "create", "local", "--data-dir", str(data), env=clean_env())
    assert ran.code == 0, ran.err
    assert TOKEN.fullmatch(ran.out.strip()), ran.out
    assert (data / "modelport.db").is_file()
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for private in ("modelport.db", "server-secret"):
        assert stat.S_IMODE((data / private).stat().st_mode) == 0o600, private
    principal = loop.run(_authenticate(Settings(data_dir=data), ran.out.strip()))
    assert (principal.team_name, principal.actor) == ("default", "token:local")
    assert principal.can("keys:write")


def test_tokens_list_and_revoke_and_users_list(hub: Hub, team: Team, loop: BackgroundLoop) -> None:
    """The team's live tokens, without secrets; a revoked one stops working on the hub. A
    team nobody made is refused: a typo does not make a new one."""
    env = hub.env
    email = f"u-{uuid.uuid4().hex[:8]}@example.com"
    typo = "typo-" + uuid.uuid4().hex[:8]
    listed, made, no_team, no_users_team = side_by_side(
        lambda: modelport(hub, "tokens", "list", "--team", team.name, "-o", "json", env=env),
        lambda: modelport(
            hub,
            "users",
            "create",
            email,
            "--team",
            team.name,
            "--role",
            "viewer",
            "--password-stdin",
            env=env,
            stdin="a long password\n",
        ),
        lambda: modelport(hub, "tokens", "create", "ci", "--team", typo, env=env),
        lambda: modelport(hub, "users", "list", "--team", typo, env=env),
    )
    assert listed.code == 0, listed.err
    tokens = json.loads(listed.out)["tokens"]
    assert [(t["name"], t["access"]) for t in tokens] == [("ro", "read-only"), ("rw", "read-write")]
    assert "mpt_" not in listed.out
    assert made.code == 0, made.err
    assert_clean_failure(no_team, f"no team named {typo!r}", "--new-team")
    assert_clean_failure(no_users_team, f"no team named {typo!r}")
    assert not loop.run(_team_exists(hub, typo))

    reader = next(t["id"] for t in tokens if t["name"] == "ro")
    revoke = ("tokens", "revoke", reader, "--team", team.name)
    revoked = modelport(hub, *revoke, env=env)
    assert (revoked.code, revoked.out) == (0, ""), revoked.err
    with hub.client(team.read_only_token) as client:
        assert client.get(KEYS).status_code == 401
    with hub.client(team.token) as client:
        assert client.get(KEYS).status_code == 200
    names, again, people = side_by_side(
        lambda: modelport(hub, "tokens", "list", "--team", team.name, "--format", "Name", env=env),
        lambda: modelport(hub, *revoke, env=env),
        lambda: modelport(
            hub,
            "users",
            "list",
            "--team",
            team.name,
            "--format",
            "email,ROLE",
            "--no-header",
            env=env,
        ),
    )
    assert names.lines == ["NAME", "rw"]
    assert_clean_failure(again, "no such API token")
    assert people.lines == [f"{email}  viewer"]


async def _authenticate(settings: Settings, token: str) -> Principal:
    database = Database(settings.sqlalchemy_url)
    try:
        async with database.read() as unit:
            service = TokenService(unit, Digester(settings.server_secret()))
            return await service.authenticate(token)
    finally:
        await database.dispose()


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


def test_an_unreachable_database_is_one_line() -> None:
    env = clean_env(
        MODELPORT_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere",
        MODELPORT_SECRET=TEST_SECRET,
    )
    ran = modelport(None, "tokens", "create", "ci", env=env)
    assert_clean_failure(ran, "database is unavailable")


def test_a_shared_database_without_a_secret_is_refused() -> None:
    env = clean_env(MODELPORT_DATABASE_URL="postgresql://postgres@127.0.0.1:1/nowhere")
    ran = modelport(None, "tokens", "create", "ci", env=env)
    assert_clean_failure(ran, "MODELPORT_SECRET must be set")
