"""`modelport tokens create`: a token on stdout and nothing else, made on the database.

It reads the same settings as `serve`, so a token made with the hub's environment works on
the running hub at once.
"""

from __future__ import annotations

import re
import stat
import uuid
from pathlib import Path

from modelport.auth.principal import Principal
from modelport.auth.service import TokenService
from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from tests.support.cli import assert_clean_failure, clean_env, modelport
from tests.support.hub import TEST_SECRET, Hub
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


def test_a_new_token_works_on_the_hub_and_its_team_is_created(hub: Hub) -> None:
    team = "cli-" + uuid.uuid4().hex[:8]
    token = create_token(hub, "ci", "--team", team)
    with hub.client(token) as client:
        created = client.post(KEYS, json={"name": "made by ci"})
        assert created.status_code == 200, created.text
        assert created.json()["api_key_info"]["created_by"] == "token:ci"
        assert client.get(KEYS).json()["meta"]["total"] == 1


def test_a_read_only_token_lists_the_team_but_may_not_write(hub: Hub) -> None:
    team = "cli-" + uuid.uuid4().hex[:8]
    writer = create_token(hub, "writer", "--team", team)
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


def test_data_dir_holds_a_fresh_install(loop: BackgroundLoop, tmp_path: Path) -> None:
    """With no database settings, the data dir gets the SQLite file and the server secret,
    and only this user may read them."""
    data = tmp_path / "data"
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


async def _authenticate(settings: Settings, token: str) -> Principal:
    database = Database(settings.sqlalchemy_url)
    try:
        async with database.read() as unit:
            service = TokenService(unit, Digester(settings.server_secret()))
            return await service.authenticate(token)
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
