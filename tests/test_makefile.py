"""The README's first commands do what it says: `make serve` listens where HOST and PORT say
and installs no test tools; `make test` adds them, and says before it installs chromium.

`make -n -B` prints every command a target would run, as if nothing were installed yet,
and runs none of them.

Both install from the lock files only, and reinstall when one changes; `make lock` rewrites
them with pip-tools kept out of .venv.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def dry_run(*args: str, **env: str) -> list[str]:
    """The commands `make -n -B *args` prints, in the repository, with `env` added."""
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.splitlines()


SERVE_INSTALLS = [
    ".venv/bin/python -m pip install --quiet --require-hashes -r requirements/serve.txt",
    ".venv/bin/python -m pip install --quiet --no-deps -e .",
]
"""What serving needs, from the lock, then modelport itself (its dependencies are all there)."""


def installs(commands: list[str]) -> list[str]:
    return [c for c in commands if " pip install " in c and "--upgrade pip" not in c]


def test_make_serve_listens_where_host_and_port_say_with_only_what_serving_needs() -> None:
    commands = dry_run("serve", "PORT=9000", "HOST=0.0.0.0")
    assert (
        commands[-1] == ".venv/bin/modelport serve --host 0.0.0.0 --port 9000 --data-dir .modelport"
    )
    assert installs(commands) == SERVE_INSTALLS
    assert not [c for c in commands if "dev" in c], commands


def test_make_serve_defaults_to_the_loopback_and_8080_whatever_the_shell_exports() -> None:
    commands = dry_run("serve", HOST="0.0.0.0", PORT="1")
    assert commands[-1].endswith("serve --host 127.0.0.1 --port 8080 --data-dir .modelport")


def test_make_test_adds_the_test_tools_and_says_before_it_installs_chromium() -> None:
    commands = dry_run("test", "SUDO=sudo")
    assert installs(commands) == [
        *SERVE_INSTALLS,
        ".venv/bin/python -m pip install --quiet --require-hashes -r requirements/dev.txt",
    ]
    apt = next(i for i, c in enumerate(commands) if "apt-get" in c and "echo" not in c)
    said = commands[apt - 1]
    assert said.startswith("echo "), commands
    for words in ("Debian's chromium", "apt-get", "sudo"):
        assert words in said
    assert commands[apt].startswith("sudo apt-get")
    assert commands[-1] == '.venv/bin/pytest -m "not soak" -n 2'


def test_an_install_reruns_when_its_lock_file_changes() -> None:
    database = subprocess.run(
        ["make", "--no-print-directory", "-p", "-n", "clean"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    rules = dict(
        line.split(":", 1) for line in database.splitlines() if line.startswith(".venv/.installed")
    )
    assert "requirements/serve.txt" in rules[".venv/.installed-serve"].split()
    assert "requirements/dev.txt" in rules[".venv/.installed-dev"].split()


def test_make_lock_compiles_both_files_with_hashes_outside_the_venv() -> None:
    commands = dry_run("lock")
    compiles = [c for c in commands if "pip-compile" in c]
    assert [c.split()[0] for c in compiles] == [".venv-lock/bin/pip-compile"] * 2
    serve, dev = compiles
    for command in compiles:
        assert "--generate-hashes" in command
    assert serve.split()[-3:] == ["--output-file", "requirements/serve.txt", "pyproject.toml"]
    assert "--all-extras --constraint requirements/serve.txt" in dev
    assert dev.split()[-3:] == ["--output-file", "requirements/dev.txt", "pyproject.toml"]
    assert not [c for c in commands if c.startswith(".venv/")], commands
