"""The reference specs in `../shared/reference/`: where they are, and what a lone clone does.

The specs (DigitalOcean's and OpenAI's OpenAPI descriptions) are not in this repository: CI,
and every developer machine set up like it, has `../shared` beside the clone. A clone on its
own has none, so a test that needs a spec skips there, saying where the spec comes from. CI
sets `MODELPORT_REQUIRE_REFERENCE=1`, which turns that skip into a failure.

The one gate is `reference_dir(name)`: it returns the spec's folder, or skips (or fails)
the test that called it. Call it inside a test or fixture, never at import time, so that
collection works on any clone. Mark a test that needs a spec, so that it skips before its
fixtures start a hub (tests/conftest.py applies the mark through `require_references`):

    @pytest.mark.reference("openai-openapi")            # or a module's `pytestmark = ...`
    def test_chat_matches_openai(...) -> None:
        spec = json.loads((reference_dir("openai-openapi") / "openapi.json").read_text())

`tests.support.reference` (DigitalOcean's schemas) calls `reference_dir("do-openapi")`
before it reads a file, so its users need only the mark.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[3] / "shared"
"""`../shared`, beside the repository's root."""

REQUIRE = "MODELPORT_REQUIRE_REFERENCE"
"""Set to 1 (CI does) to fail, not skip, a test whose spec is missing."""

SOURCES = {
    "do-openapi": (
        "DigitalOcean's OpenAPI description: files of github.com/digitalocean/openapi at "
        "commit 7c1300c479fed9c353cda9fc21cd968619552304, and in "
        "history/pre-0100958f-create-deprecation/ the create operation as it was before "
        "that repository's commit 0100958f"
    ),
    "openai-openapi": (
        "OpenAI's OpenAPI description: openapi.json of github.com/openai/openai-openapi "
        "at commit f85dbe2"
    ),
}
"""Each reference spec, by folder name under `../shared/reference/`, and where it comes from
(the SOURCE.txt files in those folders say it at length)."""


def reference_dir(name: str) -> Path:
    """The folder of reference spec `name` (a key of SOURCES).

    When it is missing, skips the calling test with a message that says where the spec comes
    from, or fails it when MODELPORT_REQUIRE_REFERENCE=1; KeyError for a name not in SOURCES.
    """
    source = SOURCES[name]
    folder = SHARED / "reference" / name
    if folder.is_dir():
        return folder
    message = (
        f"{folder} is missing. It holds {source} (SOURCE.txt there lists the files). "
        f"CI provides ../shared beside the clone; there, {REQUIRE}=1 makes this a failure."
    )
    if os.environ.get(REQUIRE) == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def require_references(item: pytest.Item) -> None:
    """Gate `item` on every spec its `reference(name)` marks name, before its fixtures run."""
    for mark in item.iter_markers("reference"):
        for name in mark.args:
            reference_dir(name)
