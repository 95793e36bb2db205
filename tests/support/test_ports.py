"""A test server's port is its own from the moment it is chosen: the kernel never hands it
out, and no other test process is given it (`tests/support/ports.py`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.ports import free_port

HELD = 300
"""Ports each side takes: were they chosen at random with no claim, two sets this size
drawn from the ~12,800 ports would share about 7, and none only about one time in 1,000."""
REPOSITORY = Path(__file__).resolve().parents[2]


def _ephemeral_range() -> range:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


def test_ports_lie_outside_the_kernels_own_and_are_never_handed_out_twice() -> None:
    ports = [free_port() for _ in range(HELD)]

    assert len(set(ports)) == HELD
    assert not set(ports) & set(_ephemeral_range())


def test_another_process_is_never_given_a_port_this_one_holds() -> None:
    held = {free_port() for _ in range(HELD)}

    other = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from tests.support.ports import free_port\n"
            f"print(*(free_port() for _ in range({HELD})))",
        ],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=True,
    )

    given = {int(port) for port in other.stdout.split()}
    assert len(given) == HELD
    assert not held & given
