"""GitHub's secret scanning keys: read from the operator's file (again when it changes) and
fetched from a real HTTP server when a report names a key not known yet, at most once a
minute; a signature checks only under the key it names."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from modelport.core.scanning_signature import is_signed, parse_public_keys
from modelport.infra.scanning_keys import ScanningKeys
from tests.support.scanning import FakeGitHub


class KeysServer:
    """Serves one public-keys document at /keys, counting the requests."""

    def __init__(self, document: str) -> None:
        self.document = document
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests += 1
                body = server.document.encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                return None

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/keys"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()


def github(identifier: str) -> FakeGitHub:
    return FakeGitHub(ec.generate_private_key(ec.SECP256R1()), identifier)


@pytest.fixture
def current() -> FakeGitHub:
    return github("current")


@pytest.fixture
def served(current: FakeGitHub) -> Iterator[KeysServer]:
    server = KeysServer(current.public_keys_document())
    yield server
    server.close()


async def test_a_key_is_fetched_from_the_url_and_an_unknown_one_not_refetched_at_once(
    served: KeysServer, current: FakeGitHub
) -> None:
    keys = ScanningKeys(None, served.url)
    key = await keys.key("current")
    assert key is not None
    assert is_signed(key, current.sign(b"[]"), b"[]")
    assert not is_signed(key, current.sign(b"[]"), b"[ ]")
    assert served.requests == 1

    assert await keys.key("rotated-in") is None
    assert await keys.key("rotated-in") is None
    assert served.requests == 1, "an unknown identifier may not make every report a fetch"


async def test_the_file_is_read_again_when_it_changes(tmp_path: Path, current: FakeGitHub) -> None:
    path = tmp_path / "keys.json"
    path.write_text(current.public_keys_document())
    keys = ScanningKeys(path, None)
    assert await keys.key("current") is not None
    assert await keys.key("next") is None

    path.write_text(github("next").public_keys_document() + "\n")
    assert await keys.key("next") is not None
    assert await keys.key("current") is None

    path.write_text("not json")
    assert await keys.key("next") is None


def test_a_key_that_is_not_p256_is_not_trusted() -> None:
    other_curve = ec.generate_private_key(ec.SECP384R1()).public_key()
    pem = other_curve.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    document = json.dumps({"public_keys": [{"key_identifier": "p384", "key": pem}]})
    assert parse_public_keys(document) == {}
    with pytest.raises(ValueError, match="public_keys"):
        parse_public_keys(b'{"keys": []}')
