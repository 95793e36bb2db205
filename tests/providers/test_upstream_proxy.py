"""Upstream calls through a forward proxy (HTTPS_PROXY, HTTP_PROXY, NO_PROXY), against a real
local proxy (tests/support/proxy.py) that records what it saw.

An https upstream is reached through a CONNECT tunnel with TLS to the upstream inside it: the
proxy sees its host and port, never the credential. A plain http upstream's requests go to
the proxy in absolute form. The proxy's own credential goes to the proxy only.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from modelport.config import Settings
from modelport.errors import UpstreamError
from modelport.providers.proxy import ProxyRules
from modelport.providers.upstream import Target, UpstreamClient
from tests.support.proxy import proxy
from tests.support.scripted import Scripted, client, response, server
from tests.support.tls import Authority

CREDENTIAL = "sk-proxied-upstream-credential-0123456789"
SIZED = response(b'{"ok":true}', "Content-Length: 11")
PROXY_USER = ("proxy user", "p@ss:word")
PROXY_AUTHORIZATION = "Basic " + base64.b64encode(b"proxy user:p@ss:word").decode()


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create()


@pytest.fixture(scope="module")
def ca_file(authority: Authority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return authority.write(tmp_path_factory.mktemp("ca") / "ca.pem")


async def _post(upstream: UpstreamClient, scripted: Scripted) -> bytes:
    target = Target.bearer(scripted.url, CREDENTIAL)
    async with upstream.post(target, "/chat/completions", b"{}") as reply:
        assert reply.status == 200
        return await reply.read()


def _port(scripted: Scripted) -> int:
    return int(scripted.url.rsplit(":", 1)[1].split("/")[0])


async def test_a_plain_http_upstream_is_reached_through_the_proxy_in_absolute_form() -> None:
    async with proxy() as seen, server(SIZED) as scripted:
        rules = ProxyRules.of(http=seen.url)
        async with client(proxies=rules) as c:
            assert [await _post(c, scripted) for _ in range(2)] == [b'{"ok":true}'] * 2
    absolute = f"POST http://127.0.0.1:{_port(scripted)}/v1/chat/completions HTTP/1.1\r\n"
    assert [head.startswith(absolute.encode()) for head in seen.forwarded] == [True, True]
    assert scripted.requests[0].startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
    assert scripted.connections == 1, "one kept-alive connection to the proxy"


async def test_an_https_upstream_is_reached_through_a_tunnel_the_proxy_cannot_read(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    tls = authority.issue("localhost").server_context(tmp_path)
    async with proxy(PROXY_USER) as seen, server(SIZED, tls=tls, host="localhost") as scripted:
        rules = ProxyRules.of(https=seen.url)
        async with client(ca_file=ca_file, proxies=rules) as c:
            assert [await _post(c, scripted) for _ in range(3)] == [b'{"ok":true}'] * 3
    assert seen.tunnels == [f"localhost:{_port(scripted)}"], "one tunnel, reused"
    assert seen.proxy_authorizations == [PROXY_AUTHORIZATION]
    assert seen.relayed, "the requests went through the tunnel"
    assert CREDENTIAL.encode() not in seen.relayed, "TLS inside: the proxy never sees it"
    assert b"Authorization" not in seen.relayed
    assert scripted.server_names == ["localhost"], "TLS to the upstream, by its name"
    assert f"\r\nAuthorization: Bearer {CREDENTIAL}\r\n".encode() in scripted.requests[0]
    assert all(b"Proxy-Authorization" not in request for request in scripted.requests)


async def test_the_proxy_credential_goes_to_the_proxy_with_each_plain_request() -> None:
    async with proxy(PROXY_USER) as seen, server(SIZED) as scripted:
        rules = ProxyRules.of(http=seen.url)
        async with client(proxies=rules) as c:
            assert await _post(c, scripted) == b'{"ok":true}'
    assert seen.proxy_authorizations == [PROXY_AUTHORIZATION]
    assert b"Proxy-Authorization" not in scripted.requests[0], "the proxy took it off"


async def test_a_tunnel_the_proxy_refuses_is_an_upstream_error(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    tls = authority.issue("localhost").server_context(tmp_path)
    async with proxy(PROXY_USER) as seen, server(SIZED, tls=tls, host="localhost") as scripted:
        without_credential = seen.url.replace("proxy%20user:p%40ss%3Aword@", "")
        async with client(ca_file=ca_file, proxies=ProxyRules.of(https=without_credential)) as c:
            with pytest.raises(UpstreamError) as caught:
                await _post(c, scripted)
    assert str(caught.value) == (
        "The proxy refused the tunnel to the upstream provider: "
        "HTTP 407 (proxy authentication required)."
    )
    assert seen.refused == 1
    assert scripted.connections == 0


async def test_no_proxy_sends_a_host_it_names_direct() -> None:
    async with proxy() as seen, server(SIZED) as scripted:
        rules = ProxyRules.of(http=seen.url, https=seen.url, no_proxy="example.com, 127.0.0.1")
        async with client(proxies=rules) as c:
            assert await _post(c, scripted) == b'{"ok":true}'
    assert (seen.forwarded, seen.tunnels) == ([], [])
    assert len(scripted.requests) == 1


async def test_a_proxy_nobody_listens_on_is_an_upstream_error() -> None:
    async with proxy() as gone:
        pass
    async with server(SIZED) as scripted, client(proxies=ProxyRules.of(http=gone.url)) as c:
        with pytest.raises(UpstreamError, match="The proxy cannot be reached"):
            await _post(c, scripted)
    assert scripted.connections == 0


@pytest.mark.parametrize(
    ("no_proxy", "host", "port", "direct"),
    [
        ("", "api.example.com", 443, False),
        ("*", "api.example.com", 443, True),
        ("example.com", "api.example.com", 443, True),
        (".example.com", "example.com", 443, True),
        ("example.com", "badexample.com", 443, False),
        ("API.Example.com", "api.example.COM", 443, True),
        ("example.com:8443", "api.example.com", 443, False),
        ("example.com:443", "api.example.com", 443, True),
        ("10.0.0.0/8", "10.1.2.3", 443, True),
        ("10.0.0.0/8", "11.1.2.3", 443, False),
        ("::1", "::1", 443, True),
        ("[::1]:443", "::1", 443, True),
        ("localhost, 127.0.0.1", "127.0.0.1", 443, True),
    ],
)
def test_no_proxy_entries(no_proxy: str, host: str, port: int, direct: bool) -> None:
    rules = ProxyRules.of(https="http://proxy.internal:3128", no_proxy=no_proxy)
    assert (rules.for_origin(host, port, tls=True) is None) == direct


def test_each_scheme_has_its_own_proxy() -> None:
    rules = ProxyRules.of(https="http://tls-proxy:3128")
    assert rules.for_origin("api.example.com", 80, tls=False) is None
    found = rules.for_origin("api.example.com", 443, tls=True)
    assert found is not None
    assert (found.host, found.port) == ("tls-proxy", 3128)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://proxy:3128", "must be http://"),
        ("socks5://proxy:1080", "must be http://"),
        ("http://proxy:notaport", "invalid port"),
    ],
)
def test_an_unusable_proxy_url_is_refused_without_its_credential(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=f"HTTPS_PROXY: .*{message}") as caught:
        ProxyRules.of(https=url.replace("://", "://user:hunter2@"))
    assert "hunter2" not in str(caught.value)


def test_the_proxy_credential_is_not_in_the_repr() -> None:
    rules = ProxyRules.of(https="http://user:hunter2@proxy:3128")
    assert "hunter2" not in repr(rules)


def test_the_standard_variables_are_read_in_either_case(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://upper:3128")
    monkeypatch.setenv("http_proxy", "http://lower:3128")
    monkeypatch.setenv("NO_PROXY", "")
    settings = Settings()
    assert (settings.https_proxy, settings.http_proxy, settings.no_proxy) == (
        "http://upper:3128",
        "http://lower:3128",
        None,
    )
