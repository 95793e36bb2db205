"""The format of every secret modelport issues.

A secret is ``<prefix><body><checksum>``: the body is 32 base62 characters drawn from
`secrets` (about 190 bits), the checksum is the CRC32 of prefix and body written as 6 base62
characters. The checksum lets a secret scanner, or our own verifier, reject a mistyped or
made-up value offline, without a database look-up.
"""

from __future__ import annotations

import secrets
import string
import zlib
from typing import NewType

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
BODY_LENGTH = 32
CHECKSUM_LENGTH = 6
_ALPHABET_SET = frozenset(ALPHABET)

PlainSecret = NewType("PlainSecret", str)
"""A secret in plain text. It lives only in the response that issues it."""

MODEL_KEY_PREFIX = "mp_"
API_TOKEN_PREFIX = "mpt_"  # noqa: S105 (a prefix, not a password)
INVITE_PREFIX = "mpi_"
SESSION_PREFIX = "mps_"
PREFIXES = (MODEL_KEY_PREFIX, API_TOKEN_PREFIX, INVITE_PREFIX, SESSION_PREFIX)
"""Every prefix modelport issues secrets under: keys, API tokens, invitation and setup codes,
panel sessions. The log redactor checks a bare body's checksum against each."""


def _base62(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, remainder = divmod(number, 62)
        digits.append(ALPHABET[remainder])
    return "".join(reversed(digits))


def checksum(text: str) -> str:
    """The 6-character base62 CRC32 of `text`."""
    return _base62(zlib.crc32(text.encode("ascii")), CHECKSUM_LENGTH)


def generate(prefix: str) -> PlainSecret:
    """A new random secret with `prefix` and a valid checksum."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    head = prefix + body
    return PlainSecret(head + checksum(head))


def is_well_formed(prefix: str, presented: str) -> bool:
    """Whether `presented` has `prefix`, the right length and alphabet, and a valid checksum."""
    if len(presented) != len(prefix) + BODY_LENGTH + CHECKSUM_LENGTH:
        return False
    if not presented.startswith(prefix):
        return False
    rest = presented[len(prefix) :]
    if not _ALPHABET_SET.issuperset(rest):
        return False
    head, check = presented[:-CHECKSUM_LENGTH], presented[-CHECKSUM_LENGTH:]
    return checksum(head) == check


def hint(secret: PlainSecret) -> str:
    """The last four characters: enough to tell keys apart, useless to an attacker."""
    return secret[-4:]
