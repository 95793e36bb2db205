"""The hub's KeyVerifier, built in the test process against the hub's database.

Until the /v1 data plane exists this is how tests ask "does this secret work now?". The
verifier caches nothing (`cache_seconds=0`, unless asked to), so every answer is the
database's, as the verifier in the server gives it once a change has committed.
"""

from __future__ import annotations

from modelport.config import Settings
from modelport.core.digest import Digester
from modelport.db.engine import Database
from modelport.errors import Unauthenticated
from modelport.infra.revocations import MemoryRevocationLedger
from modelport.keys.verifier import KeyIdentity, KeyVerifier
from tests.support.hub import TEST_SECRET
from tests.support.loop import BackgroundLoop


class Verifier:
    """Verifies model access key secrets the way the data plane will, from sync tests."""

    def __init__(self, database_url: str, loop: BackgroundLoop, cache_seconds: float = 0) -> None:
        settings = Settings(database_url=database_url, secret=TEST_SECRET)
        self._loop = loop
        self._database = Database(settings.sqlalchemy_url, pool_size=2)
        self._verifier = KeyVerifier(
            self._database,
            Digester(settings.server_secret()),
            MemoryRevocationLedger(ttl=60),
            cache_seconds=cache_seconds,
        )

    def identity(self, secret: str) -> KeyIdentity | None:
        """The key behind `secret`, or None when the verifier refuses it."""
        try:
            return self._loop.run(self._verifier.verify(secret))
        except Unauthenticated:
            return None

    def accepts(self, secret: str) -> bool:
        return self.identity(secret) is not None

    @property
    def cached(self) -> int:
        return self._verifier.cached

    def close(self) -> None:
        self._loop.run(self._database.dispose())
