"""IP addresses and networks: a key's allow-list, trusted proxies, and who the client is.

Pure functions over `ipaddress`. A list is parsed once (when a key is read, when the hub
starts), so that the check per request is a few `in` tests on parsed networks.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable, Sequence

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Networks = tuple[Network, ...]

MAX_NETWORKS = 100
"""Addresses and ranges one list may hold: far more than an office or a cluster needs."""
NETWORK_PATTERN = r"^[0-9A-Fa-f:.]+(/[0-9.]+)?(?!\n)$"
"""What an entry looks like (every address or range `parse_networks` takes matches it; not
every match is one: 10.0.0.300, 10.0.0.1/8). No zone (`fe80::1%eth0`), no spaces."""


def parse_networks(values: Iterable[object], *, what: str) -> Networks:
    """Each value (an IPv4 or IPv6 address, or a CIDR range) as a network, in the order given,
    duplicates dropped. ValueError naming `what` and the bad value: not an address or range,
    or a range with host bits set (10.0.0.1/8 for 10.0.0.0/8), or too many."""
    networks: list[Network] = []
    given = list(values)
    if len(given) > MAX_NETWORKS:
        raise ValueError(f"{what} may hold at most {MAX_NETWORKS} addresses or ranges")
    for text in given:
        if not isinstance(text, str):
            raise ValueError(f"{what} must hold addresses or CIDR ranges as strings")
        try:
            if not re.fullmatch(NETWORK_PATTERN, text):
                raise ValueError(text)
            loose = ipaddress.ip_network(text, strict=False)
        except ValueError:
            raise ValueError(f"{what}: {text[:60]!r} is not an IP address or CIDR range") from None
        try:
            network = ipaddress.ip_network(text)
        except ValueError:
            raise ValueError(
                f"{what}: {text!r} has host bits set; did you mean {loose.with_prefixlen}?"
            ) from None
        if network not in networks:
            networks.append(network)
    return tuple(networks)


def texts(networks: Networks) -> list[str]:
    """The networks as stored and shown: CIDR notation, a single address as /32 or /128."""
    return [network.with_prefixlen for network in networks]


@functools.lru_cache(maxsize=4096)
def parse_address(text: str) -> Address | None:
    """An address as a peer or `X-Forwarded-For` gives it (a port or brackets allowed), or
    None. An IPv4 address mapped into IPv6 (`::ffff:10.0.0.1`, from a dual-stack socket) is
    the IPv4 address it maps. Cached: the same clients come back, and parsing costs several
    microseconds where a cache hit costs a tenth of one."""
    text = text.strip()
    if text.startswith("["):  # [2001:db8::1]:443
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 10.0.0.1:443
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def within(address: Address | None, networks: Networks) -> bool:
    """Whether `address` is in one of `networks` (an unknown address is in none)."""
    return address is not None and any(address in network for network in networks)


def client_address(peer: str | None, forwarded_for: Sequence[str], trusted: Networks) -> str | None:
    """The client's address: the direct peer, unless the peer is a trusted proxy; then the
    right-most `X-Forwarded-For` address that is not a trusted proxy (each proxy appends
    the address it heard from, so only the entries our proxies added can be believed).

    When every entry is a trusted proxy, the left-most one; when the header is absent, the
    peer. An entry that is not an address ends the walk: the client is unknown (None).
    `forwarded_for` holds the header's lines in order.
    """
    if peer is None or not trusted or not within(parse_address(peer), trusted):
        return peer
    hops = [hop for line in forwarded_for for hop in line.split(",") if hop.strip()]
    if not hops:
        return peer
    for hop in reversed(hops):
        address = parse_address(hop)
        if address is None:
            return None
        if not within(address, trusted):
            return str(address)
    return str(parse_address(hops[0]))
