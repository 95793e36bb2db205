"""Rules for human-given names (keys, tokens)."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 64


def normalize_name(raw: str) -> str:
    """The trimmed name, or ValueError with a message that says what is wrong.

    A name is 1 to 64 characters after trimming, holds no control characters, and may use
    any other Unicode. Names need not be unique.
    """
    name = raw.strip()
    if not name:
        raise ValueError("name must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(
            f"name must be at most {MAX_NAME_LENGTH} characters (got {len(name)} after trimming)"
        )
    for position, char in enumerate(name):
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise ValueError(
                f"name must not contain control characters (U+{ord(char):04X} at {position})"
            )
    return name
