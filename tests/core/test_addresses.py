"""Allow-list parsing and the client address behind trusted proxies (pure functions)."""

from __future__ import annotations

import pytest

from modelport.core.addresses import (
    client_address,
    parse_address,
    parse_networks,
    texts,
    within,
)

TRUSTED = parse_networks(["127.0.0.1", "192.0.2.0/24", "2001:db8:ffff::/48"], what="proxies")


def test_networks_are_canonical_and_distinct() -> None:
    parsed = parse_networks(
        ["10.0.0.0/8", "10.0.0.0/8", "192.168.1.7", "2001:DB8::/32", "::1", "10.0.0.0/255.0.0.0"],
        what="allowed_ips",
    )
    assert texts(parsed) == ["10.0.0.0/8", "192.168.1.7/32", "2001:db8::/32", "::1/128"]


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("10.0.0.1/8", "did you mean 10.0.0.0/8"),
        ("2001:db8::1/32", "did you mean 2001:db8::/32"),
        ("10.0.0.256", "not an IP address"),
        ("", "not an IP address"),
        ("10.0.0.0/8/8", "not an IP address"),
    ],
)
def test_bad_networks_name_the_value(value: str, says: str) -> None:
    with pytest.raises(ValueError, match="allowed_ips") as refused:
        parse_networks([value], what="allowed_ips")
    assert says in str(refused.value)


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("10.1.2.3", "10.1.2.3"),
        (" 10.1.2.3:443 ", "10.1.2.3"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:10.1.2.3", "10.1.2.3"),
        ("unknown", None),
        ("", None),
    ],
)
def test_addresses_as_peers_and_proxies_write_them(text: str, address: str | None) -> None:
    parsed = parse_address(text)
    assert (None if parsed is None else str(parsed)) == address


def test_an_ipv4_client_on_a_dual_stack_socket_matches_ipv4_ranges() -> None:
    allowed = parse_networks(["10.0.0.0/8"], what="allowed_ips")
    assert within(parse_address("::ffff:10.9.9.9"), allowed)
    assert not within(parse_address("2001:db8::1"), allowed)
    assert not within(None, allowed)


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("198.51.100.7", ["203.0.113.9"], "198.51.100.7"),  # not a proxy: header ignored
        ("127.0.0.1", [], "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9"], "203.0.113.9"),
        ("127.0.0.1", ["1.1.1.1, 203.0.113.9"], "203.0.113.9"),
        ("127.0.0.1", ["1.1.1.1", "203.0.113.9, 192.0.2.8"], "203.0.113.9"),
        ("127.0.0.1", ["192.0.2.9, 192.0.2.8"], "192.0.2.9"),  # every hop a proxy
        ("127.0.0.1", ["203.0.113.9, garbage"], None),
        ("127.0.0.1", ["[2001:db8::5]:1234, 2001:db8:ffff::1"], "2001:db8::5"),
        (None, ["203.0.113.9"], None),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_added(
    peer: str | None, forwarded_for: list[str], client: str | None
) -> None:
    assert client_address(peer, forwarded_for, TRUSTED) == client


def test_without_trusted_proxies_the_peer_is_the_client() -> None:
    assert client_address("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"
