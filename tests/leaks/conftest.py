"""A hub that trusts a test's own GitHub secret scanning key, and a GitHub to sign reports."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.leaks.webhook_server import WebhookReceiver
from tests.support.databases import sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.scanning import scanning_keys_file

GITHUB = "/v2/gen-ai/secret-scanning/github"
KEY_ID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"


@dataclass(frozen=True)
class FakeGitHub:
    """Signs reports as GitHub does: ECDSA P-256, SHA-256, over the raw body, base64 DER."""

    private_key: ec.EllipticCurvePrivateKey
    identifier: str = KEY_ID

    def public_keys_document(self) -> str:
        pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        entry = {"key_identifier": self.identifier, "key": pem.decode(), "is_current": True}
        return json.dumps({"public_keys": [entry]})

    def sign(self, body: bytes) -> str:
        der = self.private_key.sign(body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(der).decode()

    def report(
        self,
        hub: Hub,
        items: list[dict[str, Any]],
        *,
        signed_body: bytes | None = None,
        identifier: str | None = None,
    ) -> httpx.Response:
        """POST `items`; `signed_body` signs something else (a tampered report)."""
        body = json.dumps(items).encode()
        headers = {
            "content-type": "application/json",
            "Github-Public-Key-Identifier": identifier or self.identifier,
            "Github-Public-Key-Signature": self.sign(signed_body or body),
        }
        with hub.client(None) as client:
            return client.post(GITHUB, content=body, headers=headers)


def item(token: str, url: str) -> dict[str, Any]:
    return {"token": token, "type": "modelport_api_key", "url": url, "source": "content"}


@pytest.fixture(scope="session")
def github(tmp_path_factory: pytest.TempPathFactory) -> FakeGitHub:
    """GitHub with a key of its own, which every test hub trusts (tests/conftest.py)."""
    fake = FakeGitHub(ec.generate_private_key(ec.SECP256R1()))
    scanning_keys_file(tmp_path_factory).write_text(fake.public_keys_document())
    return fake


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
