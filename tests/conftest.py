"""Shared fixtures: real hubs on real SQLite and PostgreSQL, reached over real HTTP."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest

from tests.support.anthropic_upstream import CREDENTIAL as ANTHROPIC_CREDENTIAL
from tests.support.anthropic_upstream import FakeAnthropic
from tests.support.catalog import ANTHROPIC_CREDENTIAL_ENV, CREDENTIAL_ENV, write_test_catalog
from tests.support.databases import create_pg_database, drop_pg_database, sqlite_url
from tests.support.hub import HUBS, TEST_SECRET, Hub, Team
from tests.support.loop import BackgroundLoop
from tests.support.scanning import scanning_keys_file
from tests.support.specs import require_references
from tests.support.upstream import CREDENTIAL, FakeUpstream
from tests.support.verify import Verifier

BACKENDS = ["sqlite", "postgresql"]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked `reference(name)` skips, or fails in CI, before its fixtures start a hub
    when that spec is not beside the clone (tests/support/specs.py)."""
    require_references(item)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """The first cleanup registered runs last: after pytest's own last collection (which
    reports exceptions raised in finalizers), freeze the garbage collector, sparing the exit
    the collections over every object of the run (~2 s of CPU after collecting the suite
    alone), as `modelport` itself does."""
    config.add_cleanup(gc.freeze)


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log() -> Iterator[None]:
    """At the very end: no hub of the run, whoever started it, logged any secret a test saw
    (on any hub), anything shaped like one, the server secret or an upstream credential."""
    yield
    seen = {TEST_SECRET, CREDENTIAL, ANTHROPIC_CREDENTIAL}.union(*(hub.issued for hub in HUBS))
    leaks = {str(hub.data_dir): hub.leaked_secrets(also=seen) for hub in HUBS}
    leaks = {where: found for where, found in leaks.items() if found}
    assert not leaks, f"secrets in the logs of {len(leaks)} hubs (data dirs): {sorted(leaks)}"


@pytest.fixture(scope="session")
def loop() -> Iterator[BackgroundLoop]:
    background = BackgroundLoop()
    yield background
    for hub in HUBS:  # a hub a test left running still has the tests' connections open
        hub.close_database()
    background.close()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh database for the whole run, per backend."""
    if backend == "sqlite":
        yield sqlite_url(tmp_path_factory.mktemp("sqlite"))
        return
    url = loop.run(create_pg_database())
    yield url
    loop.run(drop_pg_database(url))


@pytest.fixture(scope="session")
def upstream(loop: BackgroundLoop) -> Iterator[FakeUpstream]:
    """The fake model provider every test catalog model points at."""
    fake = FakeUpstream(loop)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def anthropic_upstream(loop: BackgroundLoop) -> Iterator[FakeAnthropic]:
    """The fake Anthropic the `test-claude-*` models point at."""
    fake = FakeAnthropic(loop)
    fake.start()
    yield fake
    fake.stop()


@pytest.fixture(scope="session")
def upstream_env(
    upstream: FakeUpstream,
    anthropic_upstream: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, str]:
    """Environment that points a hub's catalog at the fake upstreams, with their credentials."""
    catalog = write_test_catalog(
        tmp_path_factory.mktemp("catalog") / "catalog.toml",
        upstream.url,
        anthropic_url=anthropic_upstream.url,
    )
    return {
        "MODELPORT_CATALOG": str(catalog),
        "MODELPORT_SECRET_SCANNING_KEYS_FILE": str(scanning_keys_file(tmp_path_factory)),
        # The tests' webhook receiver listens on 127.0.0.1 (tests/leaks/test_webhook_targets.py
        # shows a hub that does not allow it refusing to call it).
        "MODELPORT_WEBHOOKS_ALLOW_PRIVATE": "true",
        CREDENTIAL_ENV: CREDENTIAL,
        ANTHROPIC_CREDENTIAL_ENV: ANTHROPIC_CREDENTIAL,
    }


@pytest.fixture(scope="session")
def hub(
    database_url: str,
    loop: BackgroundLoop,
    upstream_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    """One running `modelport serve` per backend; at the end, its logs hold no secret."""
    server = Hub(database_url, tmp_path_factory.mktemp("hub"), loop, upstream_env)
    server.start()
    yield server
    server.stop()
    leaked = server.leaked_secrets()
    assert not leaked, f"{len(leaked)} secrets appear in the server logs"
    logged = server.logs() + server.stderr()
    assert CREDENTIAL not in logged, "the upstream credential leaked"
    assert ANTHROPIC_CREDENTIAL not in logged, "the Anthropic credential leaked"


@pytest.fixture
def team(hub: Hub) -> Team:
    return hub.new_team()


@pytest.fixture
def api(hub: Hub, team: Team) -> Iterator[httpx.Client]:
    """A client with the team's read-write token."""
    with hub.client(team.token) as client:
        yield client


@pytest.fixture(scope="session")
def verifier(hub: Hub, loop: BackgroundLoop) -> Iterator[Verifier]:
    """The key verifier, in this process, against the hub's database."""
    checker = Verifier(hub.database_url, loop)
    yield checker
    checker.close()
