"""Keyed digests of secrets: what the database holds instead of the secret."""

from __future__ import annotations

import hashlib
import hmac
from typing import NewType

from modelport.core.secrets import PlainSecret

Digest = NewType("Digest", bytes)
"""HMAC-SHA-256 of a secret under the server secret. Safe to store and index."""


class Digester:
    """Turns secrets into digests under one server secret, kept outside the database."""

    def __init__(self, server_secret: bytes) -> None:
        if len(server_secret) < 32:
            raise ValueError("the server secret must be at least 32 bytes")
        self._key = server_secret

    def digest(self, secret: PlainSecret | str) -> Digest:
        """The digest of `secret`; never fails."""
        return Digest(hmac.new(self._key, secret.encode("utf-8"), hashlib.sha256).digest())
