"""The Dockerfile and docker-compose.yml, read as Docker would (no Docker on this machine):
the image installs the locked, hash-checked dependencies in a layer that only the lock file
invalidates, then modelport without dependencies; every replica the compose file runs gets a
stop grace longer than the hub needs to drain and write its usage rows.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from modelport.config import Settings

ROOT = Path(__file__).resolve().parents[1]
AFTER_GRACE = 20
"""Seconds a replica needs after the grace: cut what still runs, close, write usage rows."""


def build_steps() -> list[str]:
    """The build stage's instructions, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line and not line.startswith("#")]
    stages = [i for i, line in enumerate(lines) if line.startswith("FROM ")]
    assert len(stages) == 2, lines
    return lines[stages[0] + 1 : stages[1]]


def test_the_image_installs_the_lock_before_it_copies_the_code() -> None:
    steps = build_steps()
    copies = [i for i, step in enumerate(steps) if step.startswith("COPY ")]
    locked = next(
        i for i, s in enumerate(steps) if "--require-hashes -r requirements/serve.txt" in s
    )
    assert steps[copies[0]] == "COPY requirements ./requirements"
    assert copies[0] < locked < copies[1], steps
    assert steps[-1] == "RUN /opt/modelport/bin/pip install --no-cache-dir --no-deps ."
    assert [s for s in steps if "pip install" in s and "--upgrade pip" not in s] == [
        steps[locked],
        steps[-1],
    ]


def _seconds(period: str) -> float:
    match = re.fullmatch(r"(?:(\d+)m)?(?:(\d+)s)?", period)
    assert period, period
    assert match, period
    return int(match[1] or 0) * 60 + int(match[2] or 0)


def test_every_replica_may_drain_before_docker_kills_it() -> None:
    compose: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    replicas = {name: s for name, s in compose["services"].items() if s.get("build") == "."}
    assert len(replicas) == 3
    needed = Settings.model_fields["shutdown_grace_seconds"].default + AFTER_GRACE
    for name, service in replicas.items():
        assert _seconds(service["stop_grace_period"]) > needed, name
