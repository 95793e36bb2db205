"""Where test hubs look for GitHub's secret scanning keys (tests/leaks writes its own)."""

from __future__ import annotations

from pathlib import Path

import pytest


def scanning_keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same path for every hub of a run; hubs re-read it when it changes."""
    return tmp_path_factory.getbasetemp() / "github-secret-scanning-keys.json"
