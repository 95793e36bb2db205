"""Rules for human-given names (keys, tokens, teams) and other text people read (emails)."""

from __future__ import annotations

import unicodedata

MAX_NAME_LENGTH = 64

_HIDDEN = {
    **dict.fromkeys(
        "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069", "a bidirectional control"
    ),
    **dict.fromkeys("\u200e\u200f\u061c", "a bidirectional mark"),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff", "a zero-width character"),
}
"""Characters that change how text displays without showing themselves, and what they are:
with U+202E RIGHT-TO-LEFT OVERRIDE, `abc<U+202E>gnp.exe` shows as `abcexe.png`."""
_SPACES = r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_FORBIDDEN = r"\u0000-\u001f\u007f-\u009f" + "".join(f"\\u{ord(c):04x}" for c in sorted(_HIDDEN))
_EDGE = f"[^{_SPACES}{_FORBIDDEN}]"
NAME_PATTERN = (
    f"^[{_SPACES}]*{_EDGE}(?:[^{_FORBIDDEN}]{{0,{MAX_NAME_LENGTH - 2}}}{_EDGE})?[{_SPACES}]*$"
)
"""The names `normalize_name` accepts, as a regular expression for API documents.

`_SPACES` is exactly what `str.strip()` removes, spelled out because `\\s` means different
things in different regex engines. A name's first and last characters are neither spaces nor
controls; no character is a control or one of the hidden characters (`_HIDDEN`).
"""
NOT_BLANK_PATTERN = f"[^{_SPACES}]"
"""Matches any text that is not empty after `str.strip()`."""


def normalize_name(raw: str) -> str:
    """The trimmed name, or ValueError with a message that says what is wrong.

    A name is 1 to 64 characters after trimming, holds no control characters and no
    bidirectional controls or zero-width characters (`refuse_hidden`), and may use any
    other Unicode. Names need not be unique.
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
    refuse_hidden(name, "name")
    return name


def refuse_hidden(text: str, what: str) -> None:
    """ValueError naming the first bidirectional control or zero-width character in `text`,
    its kind and its position (`what` names the text: "name", "email"); None if it has none.
    """
    for position, char in enumerate(text):
        if (kind := _HIDDEN.get(char)) is not None:
            raise ValueError(
                f"{what} must not contain U+{ord(char):04X} {unicodedata.name(char)} ({kind}) "
                f"at {position}"
            )
