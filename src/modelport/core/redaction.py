"""Cutting our secrets out of text that is about to be logged, with their prefix or without.

Two shapes are cut out:
- a prefix of ours (`mp_`, `mpt_`, `mpi_`, `mps_`; any `mp`, a letter or not, `_`) followed by
  20 or more base62 characters: a secret, even mistyped or cut short;
- a bare run of exactly 38 base62 characters (a body and its checksum) bounded by anything
  else, whose checksum is right for one of our prefixes: a secret that lost its prefix (a
  path such as `/keys/<body>`, a field a client filled in). A random run passes the check
  about once in a billion, so ordinary ids are kept.

A run may also start right after a JSON escape (`\\n`, `\\u001b`): the text is often a
rendered log line.

It runs on every log line, so it does no per-character work in Python: one
`bytes.translate` maps base62 characters to `a` and the rest to spaces, and C's substring
search finds the runs long enough to be a secret (most lines have none, and are returned as
they are). Only those runs are looked at, and only a 38-character one costs a CRC32.
"""

from __future__ import annotations

import re
import zlib

from modelport.core.secrets import ALPHABET, BODY_LENGTH, CHECKSUM_LENGTH, PREFIXES

REDACTED = "[redacted]"
_SHORTEST = 20
"""The fewest base62 characters in a row after a prefix that are cut out."""
_SECRET_LENGTH = BODY_LENGTH + CHECKSUM_LENGTH
_RUNS = bytes(0x61 if chr(byte) in ALPHABET else 0x20 for byte in range(256))
"""Maps each base62 byte to `a`, any other (UTF-8's non-ASCII bytes too) to a space."""
_LONG_RUN = b"a" * _SHORTEST
_PREFIX = re.compile(rb"mp[a-z]?_")
_ESCAPE = re.compile(rb"\\(?:[bfnrt]|u00[01][0-9a-f])")
_PREFIX_CRCS = tuple(zlib.crc32(prefix.encode("ascii")) for prefix in PREFIXES)
_DIGITS = {ord(char): value for value, char in enumerate(ALPHABET)}
_UNDERSCORE, _BACKSLASH = ord("_"), ord("\\")


def redact(text: str) -> str:
    """`text` with every secret of ours, prefixed or bare, replaced by `[redacted]`."""
    raw = text.encode("utf-8", "surrogatepass")
    cut = redact_bytes(raw)
    return text if cut is raw else cut.decode("utf-8", "surrogatepass")


def redact_bytes(raw: bytes) -> bytes:
    """`redact` for UTF-8 bytes (what an upstream sends); `raw` itself when it holds none."""
    runs = raw.translate(_RUNS)
    start = runs.find(_LONG_RUN)
    kept: list[bytes] = []
    done = 0
    while start != -1:
        end = runs.find(b" ", start)
        end = len(raw) if end == -1 else end
        cut = _secret_start(raw, start, end)
        if cut is not None:
            kept += (raw[done:cut], REDACTED.encode())
            done = end
        start = runs.find(_LONG_RUN, end)
    if not kept:
        return raw
    kept.append(raw[done:])
    return b"".join(kept)


def _secret_start(raw: bytes, start: int, end: int) -> int | None:
    """Where the secret holding the run `raw[start:end]` begins (at its prefix, if it has
    one), or None when the run is no secret of ours."""
    before = raw[start - 1] if start else 0
    if before == _UNDERSCORE:
        for size in (3, 4):
            if start >= size and _PREFIX.fullmatch(raw, start - size, start):
                return start - size
    if end - start == _SECRET_LENGTH and _has_our_checksum(raw[start:end]):
        return start
    if before == _BACKSLASH:  # the run may begin with an escape's letter: `\n<secret>`
        escape = _ESCAPE.match(raw, start - 1)
        body = start if escape is None else escape.end()
        if escape is not None and end - body == _SECRET_LENGTH and _has_our_checksum(raw[body:end]):
            return body
    return None


def _has_our_checksum(run: bytes) -> bool:
    """Whether a 38-character run ends with the checksum of one of our prefixes and its body."""
    expected = 0
    for byte in run[BODY_LENGTH:]:
        expected = expected * 62 + _DIGITS[byte]
    body = run[:BODY_LENGTH]
    return any(zlib.crc32(body, prefix) == expected for prefix in _PREFIX_CRCS)
