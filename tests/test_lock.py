"""The lock files agree with pyproject.toml: every dependency it declares is pinned, with
hashes, at a version it allows; the test tools' file holds serving's pins unchanged.

A dependency added to pyproject.toml without `make lock` fails here, not in a fresh clone's
`pip install --require-hashes`.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(
    r"^([A-Za-z0-9_.-]+)==(\S+) \\\n((?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+)", re.M
)


def pins(name: str) -> dict[str, str]:
    """`requirements/<name>.txt` as {package: version}; each entry must carry a hash."""
    text = (ROOT / "requirements" / name).read_text()
    found: dict[str, str] = {
        canonicalize_name(package): version for package, version, _ in PIN.findall(text)
    }
    entries = re.findall(r"^[A-Za-z0-9_.-]+==", text, re.M)
    assert len(found) == len(entries), f"{name}: an entry without a hash"
    return found


def declared() -> tuple[list[Requirement], list[Requirement]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [r for group in project["optional-dependencies"].values() for r in group]
    return [Requirement(r) for r in project["dependencies"]], [Requirement(r) for r in extras]


def unmet(requirements: list[Requirement], locked: dict[str, str]) -> list[str]:
    """The requirements the lock does not pin, or pins at a version they exclude."""
    missing = []
    for requirement in requirements:
        version = locked.get(canonicalize_name(requirement.name))
        if version is None or version not in requirement.specifier:
            missing.append(str(requirement))
    return missing


def test_serving_dependencies_are_pinned_where_pyproject_allows() -> None:
    serving, _ = declared()
    assert unmet(serving, pins("serve.txt")) == []


def test_every_extra_is_pinned_with_serving_pins_unchanged() -> None:
    serving, extras = declared()
    serve, dev = pins("serve.txt"), pins("dev.txt")
    assert unmet(serving + extras, dev) == []
    assert {name: dev.get(name) for name in serve} == serve
