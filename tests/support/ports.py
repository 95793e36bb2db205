"""Ports for the tests' servers, each reserved from its choice until this process ends.

A port found free by binding to port 0 and closing was free only at that moment: a hub
takes its port a second or more later, once Python has started, and meanwhile another
test process could be given the same port. One CI run lost its three fault replicas so
(`modelport serve` found its port in use and exited). So the ports come from below the
kernel's ephemeral range, which neither `bind(port 0)` nor an outgoing connection is ever
given, and each is claimed with a lock file that other test processes (the other
pytest-xdist worker, another run beside this one) respect.
"""

from __future__ import annotations

import fcntl
import os
import random
import socket
import tempfile
from pathlib import Path

LOWEST = 20000
"""Ports below this are left to the machine's own services."""
LOCKS = Path(tempfile.gettempdir()) / "modelport-test-ports"
"""A file per port handed out; a process holds its lock for as long as it runs."""
_claims: list[int] = []
"""The open lock files of the ports this process holds: closing one would free its port."""


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on and no other test process will be given."""
    candidates = range(LOWEST, _ephemeral_low())
    if not candidates:
        raise RuntimeError(f"no ports between {LOWEST} and the kernel's ephemeral range")
    LOCKS.mkdir(exist_ok=True)
    start = random.randrange(len(candidates))
    for step in range(len(candidates)):
        port = candidates[(start + step) % len(candidates)]
        if _claim(port):
            return port
    raise RuntimeError(f"every port from {LOWEST} to {candidates[-1]} is taken")


def _ephemeral_low() -> int:
    """The first port the kernel hands out on its own (32768 unless the machine says)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _claim(port: int) -> bool:
    """Take `port` if no other process holds its lock and nothing is bound to it now."""
    lock = os.open(LOCKS / str(port), os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        return False
    if not _bindable(port):
        os.close(lock)
        return False
    _claims.append(lock)
    return True


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
