"""The upstream client over TLS, against scripted servers with a throwaway CA's certificates.

Trust comes from `ca_file` (MODELPORT_UPSTREAM_CA_FILE) or SSL_CERT_FILE; without either, a
private CA is refused. A refused certificate stops the request before its first byte, so the
credential never reaches a server that could not prove who it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import struct
from pathlib import Path

import pytest

from modelport.config import Settings
from modelport.errors import UpstreamError, UpstreamTimeout
from modelport.providers.upstream import Target, UpstreamClient
from tests.support.scripted import Scripted, chunked, client, response, server
from tests.support.tls import Authority

CREDENTIAL = "sk-tls-test-credential-0123456789"
SIZED = response(b'{"ok":true}', "Content-Length: 11")


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create()


@pytest.fixture(scope="module")
def ca_file(authority: Authority, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return authority.write(tmp_path_factory.mktemp("ca") / "ca.pem")


async def _post(upstream: UpstreamClient, scripted: Scripted) -> bytes:
    async with upstream.post(
        Target.bearer(scripted.url, CREDENTIAL), "/chat/completions", b"{}"
    ) as r:
        assert r.status == 200
        return await r.read()


async def _refused(upstream: UpstreamClient, scripted: Scripted) -> UpstreamError:
    """The error a request to `scripted` ends in; nothing of the request reached it."""
    with pytest.raises(UpstreamError) as caught:
        await _post(upstream, scripted)
    assert scripted.requests == [], "no request byte reached the server"
    assert CREDENTIAL not in str(caught.value)
    return caught.value


async def test_requests_share_one_tls_connection_that_names_its_host(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    tls = authority.issue("localhost", "127.0.0.1").server_context(tmp_path)
    async with server(SIZED, tls=tls, host="localhost") as scripted, client(ca_file=ca_file) as c:
        assert [await _post(c, scripted) for _ in range(3)] == [b'{"ok":true}'] * 3
    assert (scripted.connections, len(scripted.requests)) == (1, 3), "one handshake, reused"
    assert scripted.server_names == ["localhost"], "SNI"
    assert scripted.protocols == ["http/1.1"], "ALPN: HTTP/1.1 even where h2 is preferred"
    assert f"\r\nAuthorization: Bearer {CREDENTIAL}\r\n".encode() in scripted.requests[0]
    assert b"\r\nHost: localhost:" in scripted.requests[0]


async def test_an_ip_address_is_checked_against_the_certificate_without_sni(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    tls = authority.issue("localhost", "127.0.0.1").server_context(tmp_path)
    async with server(SIZED, tls=tls) as scripted, client(ca_file=ca_file) as c:
        assert await _post(c, scripted) == b'{"ok":true}'
    assert scripted.server_names == [None], "no SNI for an IP address (RFC 6066)"


async def test_a_chunked_event_stream_arrives_over_tls(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    events = [b"data: {}\n\n", b"data: {}\n\n", b"data: [DONE]\n\n"]
    answer = response(chunked(*events), "Transfer-Encoding: chunked")
    tls = authority.issue("localhost").server_context(tmp_path)
    async with (
        server(answer, tls=tls, host="localhost") as scripted,
        client(ca_file=ca_file) as c,
        c.post(Target.bearer(scripted.url, CREDENTIAL), "/chat/completions", b"{}") as reply,
    ):
        got = [event async for batch in reply.events() for event in batch]
    assert [e.data for e in got] == [b"{}", b"{}", b"[DONE]"]


async def test_a_large_answer_over_tls_pauses_and_resumes_reading(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    """Past 256 KiB waiting, the client stops reading the TLS transport and starts again."""
    body = os.urandom(3 * 1024 * 1024)
    answer = response(body, f"Content-Length: {len(body)}")
    tls = authority.issue("localhost").server_context(tmp_path)
    async with server(answer, tls=tls, host="localhost") as scripted, client(ca_file=ca_file) as c:
        for _ in range(2):
            async with c.post(Target.bearer(scripted.url, None), "/x", b"{}") as reply:
                await asyncio.sleep(0.05)  # let the answer pile up
                assert await reply.read() == body
    assert scripted.connections == 1


async def test_an_answer_that_ends_with_its_tls_connection_is_whole(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    answer = response(b"the whole body", "Connection: close")
    tls = authority.issue("localhost").server_context(tmp_path)
    async with (
        server(answer, close=True, tls=tls, host="localhost") as s,
        client(ca_file=ca_file) as c,
    ):
        assert await _post(c, s) == b"the whole body"


async def test_a_broken_tls_record_is_not_the_end_of_an_answer(
    authority: Authority, ca_file: Path, tmp_path: Path
) -> None:
    """An answer framed by the connection's end, cut by a TLS error, is an error, not a body."""

    async def corrupt(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response(b"part of it", "Connection: close"))
        await writer.drain()
        await asyncio.sleep(0.1)
        # A record the TLS layer cannot authenticate, written under it, on the raw socket.
        os.write(writer.get_extra_info("socket").fileno(), b"\x17\x03\x03\x00\x10" + b"x" * 16)
        with contextlib.suppress(ConnectionError):
            await reader.read()  # until the client hangs up
        writer.close()

    tls = authority.issue("localhost").server_context(tmp_path)
    listening = await asyncio.start_server(corrupt, "127.0.0.1", 0, ssl=tls)
    url = f"https://localhost:{listening.sockets[0].getsockname()[1]}/v1"
    async with (
        listening,
        client(ca_file=ca_file) as c,
        c.post(Target.bearer(url, CREDENTIAL), "/chat/completions", b"{}") as reply,
    ):
        with pytest.raises(UpstreamError, match="ended early"):
            await reply.read()


async def test_a_reset_is_not_the_end_of_an_answer() -> None:
    """The same over plain TCP: a reset after part of a to-close body is an error."""

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(response(b"part of it", "Connection: close"))
        await writer.drain()
        await asyncio.sleep(0.1)
        linger = struct.pack("ii", 1, 0)  # close with a reset, not a FIN
        writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        writer.transport.abort()

    listening = await asyncio.start_server(reset, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{listening.sockets[0].getsockname()[1]}/v1"
    async with (
        listening,
        client() as c,
        c.post(Target.bearer(url, CREDENTIAL), "/chat/completions", b"{}") as reply,
    ):
        with pytest.raises(UpstreamError, match="ended early"):
            await reply.read()


async def test_ssl_cert_file_is_honoured(
    authority: Authority, ca_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The standard variable works too (it replaces the system's trust store)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    tls = authority.issue("localhost").server_context(tmp_path)
    async with server(SIZED, tls=tls, host="localhost") as scripted, client() as c:
        assert await _post(c, scripted) == b'{"ok":true}'


async def test_a_private_ca_is_not_trusted_by_default(authority: Authority, tmp_path: Path) -> None:
    tls = authority.issue("localhost").server_context(tmp_path)
    async with server(SIZED, tls=tls, host="localhost") as scripted, client() as c:
        refused = await _refused(c, scripted)
    assert str(refused) == (
        "The upstream provider's TLS certificate was refused: "
        "self-signed certificate in certificate chain."
    )


async def test_a_certificate_from_another_ca_is_refused(ca_file: Path, tmp_path: Path) -> None:
    tls = Authority.create("someone else").issue("localhost").server_context(tmp_path)
    async with server(SIZED, tls=tls, host="localhost") as scripted, client(ca_file=ca_file) as c:
        refused = await _refused(c, scripted)
    assert "TLS certificate was refused" in str(refused)


@pytest.mark.parametrize(
    ("names", "host", "reason"),
    [
        (("upstream.example",), "localhost", "Hostname mismatch"),
        (("localhost",), "127.0.0.1", "IP address mismatch"),
    ],
)
async def test_a_certificate_for_another_name_is_refused(
    authority: Authority,
    ca_file: Path,
    tmp_path: Path,
    names: tuple[str, ...],
    host: str,
    reason: str,
) -> None:
    tls = authority.issue(*names).server_context(tmp_path)
    async with server(SIZED, tls=tls, host=host) as scripted, client(ca_file=ca_file) as c:
        refused = await _refused(c, scripted)
    assert str(refused) == f"The upstream provider's TLS certificate was refused: {reason}."
    assert host not in str(refused)


async def test_a_plain_http_server_behind_an_https_url_fails_the_handshake(
    ca_file: Path,
) -> None:
    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(plain, "127.0.0.1", 0)
    url = f"https://localhost:{listening.sockets[0].getsockname()[1]}/v1"
    async with listening, client(ca_file=ca_file) as c:
        with pytest.raises(UpstreamError, match="the TLS handshake failed"):
            async with c.post(Target.bearer(url, CREDENTIAL), "/chat/completions", b"{}"):
                pass


async def test_a_handshake_that_stalls_is_an_upstream_timeout(ca_file: Path) -> None:
    """A server that takes the connection but never answers the hello: the connect timeout."""
    async with server(b"") as silent, client(connect_timeout=0.3, ca_file=ca_file) as c:
        https = Target.bearer(
            silent.url.replace("http://127.0.0.1", "https://localhost"), CREDENTIAL
        )
        with pytest.raises(UpstreamTimeout):
            async with c.post(https, "/chat/completions", b"{}"):
                pass
    assert silent.requests == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read the CA file"),
        (b"not a certificate\n", "holds no usable CA certificate"),
    ],
)
def test_a_ca_file_that_cannot_be_loaded_stops_the_client(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "ca.pem"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        UpstreamClient(connect_timeout=1, read_timeout=1, max_connections=1, ca_file=path)


@pytest.mark.parametrize(("value", "expected"), [("", None), ("/etc/ca.pem", Path("/etc/ca.pem"))])
def test_the_ca_file_setting(
    monkeypatch: pytest.MonkeyPatch, value: str, expected: Path | None
) -> None:
    """MODELPORT_UPSTREAM_CA_FILE; empty is unset (the system's CAs only)."""
    monkeypatch.setenv("MODELPORT_UPSTREAM_CA_FILE", value)
    assert Settings().upstream_ca_file == expected
