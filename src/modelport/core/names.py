"""Rules for human-given names (keys, tokens)."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 64

_SPACES = r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_CONTROLS = r"\u0000-\u001f\u007f-\u009f"
_EDGE = f"[^{_SPACES}{_CONTROLS}]"
NAME_PATTERN = (
    f"^[{_SPACES}]*{_EDGE}(?:[^{_CONTROLS}]{{0,{MAX_NAME_LENGTH - 2}}}{_EDGE})?[{_SPACES}]*$"
)
"""The names `normalize_name` accepts, as a regular expression for API documents.

`_SPACES` is exactly what `str.strip()` removes, spelled out because `\\s` means different
things in different regex engines. A name's first and last characters are neither spaces nor
controls; no character is a control.
"""
NOT_BLANK_PATTERN = f"[^{_SPACES}]"
"""Matches any text that is not empty after `str.strip()`."""


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
        category = unicodedata.category(char)
        if category == "Cc":
            raise ValueError(
                f"name must not contain control characters (U+{ord(char):04X} at {position})"
            )
        if category == "Cs":
            raise ValueError(
                "name must be valid Unicode, not a lone surrogate "
                f"(U+{ord(char):04X} at {position})"
            )
    return name
