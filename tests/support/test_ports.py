"""A test server's port is its own from the moment it is chosen: the kernel never hands it
out, and no other test process is given it (`tests/support/ports.py`).

The ports are taken in processes of their own, which give them back when they end: a
worker holding hundreds of claims would hold as many open files for the rest of its run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HELD = 300
"""Ports each process takes: were they chosen at random with no claim, two sets this size
drawn from the ~12,800 ports would share about 7, and none only about one time in 1,000."""
REPOSITORY = Path(__file__).resolve().parents[2]
TAKE = (
    "import sys\n"
    "from tests.support.ports import free_port\n"
    f"print(*(free_port() for _ in range({HELD})), flush=True)\n"
)
"""Take the ports and say which."""
HOLD = TAKE + "sys.stdin.read()\n"
"""The same, keeping them until told to end (stdin closed)."""


def _ephemeral_range() -> range:
    low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    return range(int(low), int(high) + 1)


def _ports(line: str) -> set[int]:
    ports = {int(port) for port in line.split()}
    assert len(ports) == HELD, "a process was given the same port twice"
    return ports


def _taken_and_given_back() -> set[int]:
    done = subprocess.run(
        [sys.executable, "-c", TAKE], cwd=REPOSITORY, capture_output=True, text=True, check=True
    )
    return _ports(done.stdout)


def test_ports_lie_outside_the_kernels_own_and_are_never_handed_out_twice() -> None:
    assert not _taken_and_given_back() & set(_ephemeral_range())


def test_another_process_is_never_given_a_port_one_holds() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLD],
        cwd=REPOSITORY,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        assert holder.stdin is not None
        assert holder.stdout is not None
        held = _ports(holder.stdout.readline())
        given = _taken_and_given_back()
        holder.stdin.close()

    assert not held & given
