"""The public keys secret scanning reports are checked against: the operator's file, and
GitHub's published list fetched again when a report names a key not known yet."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from modelport.core.scanning_signature import parse_public_keys

log = logging.getLogger("modelport.secret_scanning")

REFETCH_SECONDS = 60.0
"""At most one fetch a minute: unknown identifiers must not turn reports into requests."""
FETCH_TIMEOUT_SECONDS = 5.0


class ScanningKeys:
    """Key identifier -> public key, from a file (re-read when it changes) and a URL."""

    def __init__(self, file: Path | None, url: str | None) -> None:
        self._file = file
        self._url = url
        self._file_stamp: tuple[float, int] | None = None
        self._from_file: dict[str, ec.EllipticCurvePublicKey] = {}
        self._from_url: dict[str, ec.EllipticCurvePublicKey] = {}
        self._fetched_at: float | None = None

    async def key(self, identifier: str) -> ec.EllipticCurvePublicKey | None:
        """The key named `identifier`, or None if neither the file nor the URL has it."""
        self._read_file()
        found = self._from_file.get(identifier) or self._from_url.get(identifier)
        if found is None and self._url is not None and self._may_fetch():
            await self._fetch(self._url)
            found = self._from_url.get(identifier)
        return found

    def _read_file(self) -> None:
        if self._file is None:
            return
        try:
            stat = self._file.stat()
            stamp = (stat.st_mtime, stat.st_size)
            if stamp == self._file_stamp:
                return
            self._from_file = parse_public_keys(self._file.read_bytes())
            self._file_stamp = stamp
        except (OSError, ValueError) as exc:
            log.warning("secret scanning keys file unusable: %s", exc)
            self._from_file = {}
            self._file_stamp = None

    def _may_fetch(self) -> bool:
        return self._fetched_at is None or time.monotonic() - self._fetched_at > REFETCH_SECONDS

    async def _fetch(self, url: str) -> None:
        self._fetched_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=FETCH_TIMEOUT_SECONDS) as client:
                response = await client.get(url, headers={"accept": "application/json"})
                response.raise_for_status()
            self._from_url = parse_public_keys(response.content)
        except (httpx.HTTPError, ValueError) as exc:
            log.warning("secret scanning keys not fetched from %s: %s", url, exc)
