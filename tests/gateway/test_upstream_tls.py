"""A hub proxies to HTTPS upstreams: a private CA trusted through MODELPORT_UPSTREAM_CA_FILE
works for plain and streamed chat; a certificate from any other CA is a clean 502, and the
upstream credential never reaches the server that showed it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from tests.support.catalog import CREDENTIAL_ENV, write_test_catalog
from tests.support.databases import sqlite_url
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.tls import Authority
from tests.support.upstream import COMPLETION_TOKENS, CREDENTIAL, PROMPT_TOKENS, FakeUpstream


@dataclass(frozen=True)
class Upstreams:
    trusted: FakeUpstream
    """Its certificate comes from the CA the hub is told to trust."""
    stranger: FakeUpstream
    """Its certificate comes from a CA nobody trusts."""
    ca_file: Path


@pytest.fixture(scope="module")
def https(loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstreams]:
    folder = tmp_path_factory.mktemp("tls")
    authority = Authority.create()
    trusted_tls = authority.issue("localhost", "127.0.0.1").server_context(folder / "trusted")
    stranger_tls = Authority.create("a stranger").issue("localhost").server_context(folder / "s")
    trusted, stranger = FakeUpstream(loop, trusted_tls), FakeUpstream(loop, stranger_tls)
    trusted.start()
    stranger.start()
    yield Upstreams(trusted, stranger, authority.write(folder / "ca.pem"))
    trusted.stop()
    stranger.stop()


@pytest.fixture(scope="module")
def tls_hub(
    https: Upstreams, loop: BackgroundLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    """A hub of its own (SQLite) whose test models are served over HTTPS."""
    folder = tmp_path_factory.mktemp("tls-hub")
    catalog = write_test_catalog(
        folder / "catalog.toml", https.trusted.url, {"test-stranger": https.stranger.url}
    )
    env = {
        "MODELPORT_CATALOG": str(catalog),
        CREDENTIAL_ENV: CREDENTIAL,
        "MODELPORT_UPSTREAM_CA_FILE": str(https.ca_file),
    }
    server = Hub(sqlite_url(folder), folder / "hub", loop, env)
    server.start()
    yield server
    server.stop()
    assert not server.leaked_secrets()
    assert CREDENTIAL not in server.logs() + server.stderr()


@pytest.fixture(scope="module")
def client(tls_hub: Hub) -> Iterator[openai.OpenAI]:
    with tls_hub.client(tls_hub.new_team().token) as api:
        secret = create_key(api)["secret_key"]
    with sdk(tls_hub, secret) as client:
        yield client


def test_chat_through_an_https_upstream(client: openai.OpenAI, https: Upstreams) -> None:
    completion = client.chat.completions.create(model="test-chat", messages=MESSAGES)
    assert completion.choices[0].message.content == "tok " * COMPLETION_TOKENS
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
    )
    assert https.trusted.seen.authorizations[-1] == f"Bearer {CREDENTIAL}"


def test_a_stream_through_an_https_upstream(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="test-chat",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "tok " * COMPLETION_TOKENS
    usage = chunks[-1].usage
    assert usage is not None
    assert usage.completion_tokens == COMPLETION_TOKENS


@pytest.mark.parametrize("stream", [False, True])
def test_an_untrusted_certificate_is_a_502_and_no_credential_is_sent(
    client: openai.OpenAI, https: Upstreams, stream: bool
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        client.chat.completions.create(model="test-stranger", messages=MESSAGES, stream=stream)
    error = caught.value
    assert (error.status_code, error.code) == (502, "upstream_error")
    assert "TLS certificate was refused" in error.message
    assert CREDENTIAL not in error.response.text
    assert https.stranger.seen.authorizations == [], "nothing reached the untrusted server"


def test_a_ca_file_that_cannot_be_read_stops_the_hub_at_start(
    loop: BackgroundLoop, tmp_path: Path
) -> None:
    env = {"MODELPORT_UPSTREAM_CA_FILE": str(tmp_path / "missing.pem")}
    server = Hub(sqlite_url(tmp_path), tmp_path / "hub", loop, env)
    with pytest.raises(RuntimeError, match="cannot read the CA file"):
        server.start()
