"""A private Redis for the infra tests: theirs alone, so its MONITOR shows only their commands."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.infra.helpers import Books
from tests.support.servers import PrivateRedis


@pytest.fixture(scope="session")
def private_redis() -> Iterator[PrivateRedis]:
    with PrivateRedis() as server:
        yield server


@pytest.fixture
def books() -> Books:
    return Books()
