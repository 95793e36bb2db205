"""Stored-response tests: the service on each real database, migrated to head."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from modelport.config import Settings
from modelport.db.engine import Database
from modelport.db.migrate import upgrade_to_head
from tests.conversations.helpers import Owner, new_owner


@pytest.fixture(scope="session")
async def database(database_url: str) -> AsyncIterator[Database]:
    """The run's database of this backend: tests keep apart by working in teams of their own."""
    database = Database(Settings(database_url=database_url).sqlalchemy_url)
    await upgrade_to_head(database)
    yield database
    await database.dispose()


@pytest.fixture
async def owner(database: Database) -> Owner:
    return await new_owner(database)


@pytest.fixture
async def stranger(database: Database) -> Owner:
    """Another team, with a key of its own."""
    return await new_owner(database)
