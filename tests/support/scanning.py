"""GitHub's secret scanning, played by the tests: a P-256 key that signs reports as GitHub
does, trusted by every test hub through the keys file they all read."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.hub import Hub

GITHUB = "/v2/gen-ai/secret-scanning/github"
KEY_ID = "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a"


def scanning_keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where every hub of a run looks for GitHub's keys (`MODELPORT_SECRET_SCANNING_KEYS_FILE`,
    set in tests/conftest.py); hubs read it again when it changes."""
    return tmp_path_factory.getbasetemp() / "github-secret-scanning-keys.json"


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

    def trusted_by_hubs(self, tmp_path_factory: pytest.TempPathFactory) -> FakeGitHub:
        """Add this key to the keys file every test hub reads, keeping those already there."""
        path = scanning_keys_file(tmp_path_factory)
        entries = json.loads(path.read_text())["public_keys"] if path.exists() else []
        entries = [e for e in entries if e["key_identifier"] != self.identifier]
        entries += json.loads(self.public_keys_document())["public_keys"]
        path.write_text(json.dumps({"public_keys": entries}))
        return self


def item(token: str, url: str) -> dict[str, Any]:
    return {"token": token, "type": "modelport_api_key", "url": url, "source": "content"}
