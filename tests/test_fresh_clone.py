"""A clone without `../shared` beside it: the tests that read a reference spec skip, saying
where the spec comes from, before any hub starts; under MODELPORT_REQUIRE_REFERENCE=1 (as in
CI) they fail instead. The repository's tests run from a copy, in a folder with no `shared`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.specs import REQUIRE

ROOT = Path(__file__).resolve().parents[1]
READS_A_SPEC = (
    "mark.reference(",
    "reference_dir(",
    "tests.support.reference ",
    "tests.support.openai_reference ",
)
OUTCOME = re.compile(r"^(tests/\S+?\.py)::\S+ (PASSED|FAILED|SKIPPED|ERROR|XFAIL|XPASS)", re.M)
SOURCE = "github.com/digitalocean/openapi at commit 7c1300c479fed9c353cda9fc21cd968619552304"


def _spec_readers() -> list[str]:
    """Every test module that reads a reference spec, as a path from the repository's root."""
    modules = (ROOT / "tests").rglob("test_*.py")
    return sorted(
        str(module.relative_to(ROOT))
        for module in modules
        if module != Path(__file__) and any(s in module.read_text() for s in READS_A_SPEC)
    )


@pytest.fixture(scope="module")
def alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's tests and pytest settings, copied where no `../shared` is beside them."""
    clone = tmp_path_factory.mktemp("alone") / "modelport"
    shutil.copytree(ROOT / "tests", clone / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", clone)
    assert not (clone.parent / "shared").exists()
    return clone


Run = tuple[int, dict[str, set[str]], str]


@pytest.fixture(scope="module")
def runs(alone: Path) -> Iterator[dict[bool, Future[Run]]]:
    """Both runs of the clone's tests (without and with the spec required), started together:
    each is a pytest process that mostly imports, and they take half the time side by side."""
    with ThreadPoolExecutor(2) as pool:
        yield {require: pool.submit(_run, alone, require=require) for require in (False, True)}


def _run(clone: Path, *, require: bool) -> Run:
    """pytest on the clone's spec-reading tests: exit code, outcomes by module, and output.

    Asserts that no test made a temporary folder (a hub, a database, a catalog)."""
    env = {name: value for name, value in os.environ.items() if name != REQUIRE}
    if require:
        env[REQUIRE] = "1"
    basetemp = clone.parent / f"basetemp-{require}"
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v", "-rs"]
    command += ["-m", "reference", f"--basetemp={basetemp}", *_spec_readers()]
    done = subprocess.run(
        command, cwd=clone, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    outcomes: dict[str, set[str]] = {}
    for module, outcome in OUTCOME.findall(done.stdout):
        outcomes.setdefault(module, set()).add(outcome)
    assert not basetemp.exists() or not any(basetemp.iterdir()), done.stdout
    return done.returncode, outcomes, done.stdout


def test_the_spec_readers_are_found() -> None:
    readers = _spec_readers()
    assert {
        "tests/api/test_openapi_fuzz.py",
        "tests/api/test_rate_limits.py",
        "tests/catalog/test_schemas.py",
        "tests/keys/test_reference_schemas.py",
    } <= set(readers)


def test_without_shared_they_skip_saying_where_the_spec_comes_from(
    runs: dict[bool, Future[Run]],
) -> None:
    code, outcomes, output = runs[False].result()
    assert code == 0, output
    # Each module has a test marked `reference`, and every one of them skipped.
    assert outcomes == {module: {"SKIPPED"} for module in _spec_readers()}, output
    assert SOURCE in output
    assert "CI provides ../shared" in output


def test_with_the_spec_required_they_fail(runs: dict[bool, Future[Run]]) -> None:
    code, outcomes, output = runs[True].result()
    assert code == 1, output
    assert outcomes == {module: {"ERROR"} for module in _spec_readers()}, output
    assert SOURCE in output
