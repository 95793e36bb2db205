"""The real `modelport` command line, run in a subprocess as a user would run it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from tests.support.hub import Hub


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return self.out.splitlines()


NO_CONTEXTS = tempfile.mkdtemp(prefix="modelport-no-contexts-")
"""An empty config folder: the CLI under test never sees the contexts of whoever runs it."""


def clean_env(**settings: str) -> dict[str, str]:
    """This process's environment without any MODELPORT_* setting or stored CLI context,
    plus `settings`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith("MODELPORT_")}
    return {**kept, "XDG_CONFIG_HOME": NO_CONTEXTS, **settings}


def modelport(hub: Hub | None, *args: str, env: Mapping[str, str], stdin: str = "") -> Ran:
    """`python -m modelport *args`; the secrets it prints join those `hub`'s logs must not hold."""
    done = subprocess.run(
        [sys.executable, "-m", "modelport", *args],
        env=dict(env),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if hub is not None:
        hub.remember(done.stdout)
    return Ran(done.returncode, done.stdout, done.stderr)


def side_by_side(*commands: Callable[[], Ran]) -> list[Ran]:
    """Independent commands run at once (each is a process that mostly waits on imports)."""
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(lambda command: command(), commands))


def assert_clean_failure(ran: Ran, *says: str, prompted: bool = False) -> None:
    """Exit status 1, nothing on stdout, one line on stderr naming the problem, no traceback.

    `prompted`: the command asked a question first, on a line of its own.
    """
    assert ran.code == 1, ran
    assert ran.out == "", ran
    assert "Traceback" not in ran.err
    lines = ran.err.strip().splitlines()
    assert len(lines) == 1 + prompted, ran.err
    for words in says:
        assert words in lines[-1], ran.err
