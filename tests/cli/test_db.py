"""`modelport db upgrade|current|history` and `serve --no-migrate`, on SQLite and PostgreSQL.

For deployments that migrate as a step of their own: `serve --no-migrate` starts only on a
database at the newest migration, and the admin commands refuse one that is behind.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine

from modelport.db import migrate
from tests.support.cli import Ran, assert_clean_failure, clean_env, modelport, side_by_side
from tests.support.databases import create_pg_database, drop_pg_database, sqlite_url
from tests.support.hub import TEST_SECRET
from tests.support.loop import BackgroundLoop
from tests.support.ports import free_port

HEAD = migrate.head()
UPGRADE = "modelport db upgrade"


@pytest.fixture(params=["sqlite", "postgresql"])
def empty(request: pytest.FixtureRequest, loop: BackgroundLoop, tmp_path: Path) -> Iterator[str]:
    """The URL of a database with nothing in it: a SQLite file not made yet, or an empty
    PostgreSQL database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "data")
        return
    url = loop.run(create_pg_database())
    yield url
    loop.run(drop_pg_database(url))


def env_for(url: str, tmp_path: Path) -> dict[str, str]:
    return clean_env(
        MODELPORT_DATABASE_URL=url,
        MODELPORT_SECRET=TEST_SECRET,
        MODELPORT_DATA_DIR=str(tmp_path / "data"),
        MODELPORT_LOG_FILE=str(tmp_path / "log"),
    )


def test_db_upgrade_then_serve_without_migrating(empty: str, tmp_path: Path) -> None:
    env = env_for(empty, tmp_path)
    sqlite = empty.startswith("sqlite")

    def db(*args: str) -> Ran:
        return modelport(None, "db", *args, env=env)

    refused, token, current = side_by_side(
        lambda: modelport(None, "serve", "--no-migrate", env=env),
        lambda: modelport(None, "tokens", "create", "ci", env=env),
        lambda: db("current"),
    )
    if sqlite:
        missing = f"there is no database at {empty.removeprefix('sqlite:///')}"
        for ran in (refused, token, current):
            assert_clean_failure(ran, missing, "db upgrade")
        assert not Path(empty.removeprefix("sqlite:///")).exists()
    else:
        for ran in (refused, token):
            assert_clean_failure(ran, f"the database {empty} holds no modelport tables", UPGRADE)
        assert (current.code, current.out) == (1, f"none (the newest is {HEAD}: run `{UPGRADE}`)\n")

    upgraded = db("upgrade")
    assert upgraded.code == 0, upgraded.err
    assert upgraded.out.endswith(f": upgraded from an empty database to {HEAD}\n")
    current = db("current")
    assert (current.code, current.out) == (0, f"{HEAD} (head)\n")
    if sqlite:
        history = db("history").lines
        assert history[0].startswith(f"{int(HEAD) - 1:04d} -> {HEAD}  ")
        assert history[-1].startswith("<base> -> 0001  Teams, control-plane tokens")
    else:
        assert db("upgrade").out.endswith(f"is at {HEAD} (the newest): nothing to do\n")
        _serve_starts(env)


def _serve_starts(env: dict[str, str]) -> None:
    """`serve --no-migrate` on a database at the newest migration: healthy, then stopped."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "modelport", "serve", "--no-migrate", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read() if server.stderr else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("serve --no-migrate did not become ready")
    finally:
        server.terminate()
        server.wait(30)


def test_a_database_behind_is_refused_until_upgraded(tmp_path: Path) -> None:
    """A SQLite database left at the migration before the newest, as an older version made it."""
    url = sqlite_url(tmp_path / "data")
    (tmp_path / "data").mkdir(mode=0o700)
    previous = f"{int(HEAD) - 1:04d}"
    engine = create_engine(url)
    with engine.begin() as connection:
        config = migrate.alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, previous)
    engine.dispose()
    env = env_for(url, tmp_path)

    behind = f"is at migration {previous}, this modelport needs {HEAD}: run `modelport db upgrade`"
    token, refused, refused_workers, current = side_by_side(
        lambda: modelport(None, "tokens", "create", "ci", env=env),
        lambda: modelport(None, "serve", "--no-migrate", env=env),
        lambda: modelport(None, "serve", "--no-migrate", "--workers", "2", env=env),
        lambda: modelport(None, "db", "current", env=env),
    )
    assert_clean_failure(token, behind)
    assert_clean_failure(refused, behind)
    assert_clean_failure(refused_workers, behind)
    assert (current.code, current.out) == (
        1,
        f"{previous} (the newest is {HEAD}: run `{UPGRADE}`)\n",
    )
    upgraded = modelport(None, "db", "upgrade", env=env)
    assert upgraded.out.endswith(f": upgraded from {previous} to {HEAD}\n"), upgraded.err
    created = modelport(None, "tokens", "create", "ci", env=env)
    assert created.code == 0, created.err
