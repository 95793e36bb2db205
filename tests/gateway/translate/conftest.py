"""Fixtures for the translators' tests: the official SDKs replaying what we make."""

from __future__ import annotations

import pytest

from tests.gateway.translate.sdks import Replay


@pytest.fixture(scope="session")
def replay() -> Replay:
    return Replay()
