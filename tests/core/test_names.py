"""Names: 1 to 64 characters after trimming, no control characters, any other Unicode."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelport.core.names import MAX_NAME_LENGTH, normalize_name


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("prod", "prod"),
        ("  prod  ", "prod"),
        ("\tnew\u00a0key\n", "new\u00a0key"),
        ("x" * 64, "x" * 64),
        ("  " + "é" * 64 + "  ", "é" * 64),
        ("生产密钥 🔑", "生产密钥 🔑"),
        ("e\u0301", "e\u0301"),
        ("zero\u200bwidth", "zero\u200bwidth"),
        ("a", "a"),
    ],
)
def test_good_names_are_trimmed_and_kept(raw: str, name: str) -> None:
    assert normalize_name(raw) == name


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("", "must not be empty"),
        (" \t\r\n\u3000", "must not be empty"),
        ("x" * 65, "at most 64 characters (got 65"),
        ("🔑" * 65, "at most 64 characters (got 65"),
        ("a\x00b", "U+0000 at 1"),
        ("tab\tinside", "U+0009 at 3"),
        ("\x1b[31mred", "U+001B at 0"),
        ("del\x7f", "U+007F at 3"),
        ("c1\x9b", "U+009B at 2"),
        ("half\ud800", "U+D800 at 4"),
    ],
)
def test_bad_names_say_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match="name") as refused:
        normalize_name(raw)
    assert says in str(refused.value)


@given(st.text(max_size=80))
def test_a_name_is_accepted_exactly_when_the_rules_allow_it(raw: str) -> None:
    trimmed = raw.strip()
    allowed = 1 <= len(trimmed) <= MAX_NAME_LENGTH and not any(
        unicodedata.category(char) in ("Cc", "Cs") for char in trimmed
    )
    if allowed:
        assert normalize_name(raw) == trimmed
    else:
        with pytest.raises(ValueError, match="name must"):
            normalize_name(raw)
