"""A hub behind a forward proxy (HTTPS_PROXY with a proxy credential) reaches an https
upstream through a CONNECT tunnel: chat works plain and streamed, and the proxy relays
nothing it could read the upstream credential in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractAsyncContextManager

import pytest

from tests.support.catalog import CREDENTIAL_ENV, write_test_catalog
from tests.support.databases import sqlite_url
from tests.support.dataplane import MESSAGES, create_key, sdk
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.proxy import Proxy, proxy
from tests.support.tls import Authority
from tests.support.upstream import COMPLETION_TOKENS, CREDENTIAL, FakeUpstream


@pytest.fixture(scope="module")
def forward_proxy(loop: BackgroundLoop) -> Iterator[Proxy]:
    running: AbstractAsyncContextManager[Proxy] = proxy(("hub", "proxy-password"))
    seen = loop.run(running.__aenter__())
    yield seen
    loop.run(running.__aexit__(None, None, None))


@pytest.fixture(scope="module")
def proxied_hub(
    loop: BackgroundLoop, forward_proxy: Proxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Hub, FakeUpstream]]:
    folder = tmp_path_factory.mktemp("proxied")
    authority = Authority.create()
    https = FakeUpstream(loop, authority.issue("localhost").server_context(folder / "tls"))
    https.start()
    env = {
        "MODELPORT_CATALOG": str(write_test_catalog(folder / "catalog.toml", https.url)),
        CREDENTIAL_ENV: CREDENTIAL,
        "MODELPORT_UPSTREAM_CA_FILE": str(authority.write(folder / "ca.pem")),
        "HTTPS_PROXY": forward_proxy.url,
        "NO_PROXY": "",
    }
    server = Hub(sqlite_url(folder), folder / "hub", loop, env)
    server.start()
    yield server, https
    server.stop()
    https.stop()
    assert "proxy-password" not in server.logs() + server.stderr()
    assert CREDENTIAL not in server.logs() + server.stderr()


def test_chat_reaches_an_https_upstream_through_the_proxy_tunnel(
    proxied_hub: tuple[Hub, FakeUpstream], forward_proxy: Proxy
) -> None:
    hub, https = proxied_hub
    with hub.client(hub.new_team().token) as api:
        secret = create_key(api)["secret_key"]
    with sdk(hub, secret) as client:
        completion = client.chat.completions.create(model="test-chat", messages=MESSAGES)
        assert completion.choices[0].message.content == "tok " * COMPLETION_TOKENS
        stream = client.chat.completions.create(model="test-chat", messages=MESSAGES, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        assert text == "tok " * COMPLETION_TOKENS
    assert forward_proxy.tunnels == [f"localhost:{https.port}"], "one tunnel, kept alive"
    assert forward_proxy.refused == 0, "the proxy credential was presented"
    assert https.seen.authorizations[-2:] == [f"Bearer {CREDENTIAL}"] * 2
    assert CREDENTIAL.encode() not in forward_proxy.relayed
    assert b"chat/completions" not in forward_proxy.relayed, "TLS all the way to the upstream"
