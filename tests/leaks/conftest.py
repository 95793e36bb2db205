"""Fixtures for leaked keys: a GitHub every test hub trusts, a webhook receiver, and a hub
that only reports what GitHub finds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.leaks.webhook_server import WebhookReceiver
from tests.support.databases import sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.scanning import FakeGitHub


@pytest.fixture(scope="session")
def github(tmp_path_factory: pytest.TempPathFactory) -> FakeGitHub:
    """GitHub with a key of its own, which every test hub trusts (tests/conftest.py)."""
    return FakeGitHub(ec.generate_private_key(ec.SECP256R1())).trusted_by_hubs(tmp_path_factory)


@pytest.fixture(scope="session")
def webhooks() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="session")
def reporting_hub(
    github: FakeGitHub,
    loop: BackgroundLoop,
    upstream_env: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    """A hub set to only report the keys GitHub finds. On SQLite only: it stores nothing the
    revoking hub (both backends) does not."""
    folder = tmp_path_factory.mktemp("reporting")
    server = Hub(
        sqlite_url(folder),
        folder / "hub",
        loop,
        {**upstream_env, "MODELPORT_LEAKED_KEYS": "report"},
    )
    server.start()
    yield server
    server.stop()
    assert not server.leaked_secrets(), "a secret reached the reporting hub's logs"
