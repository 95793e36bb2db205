"""Names: 1 to 64 characters after trimming, no control characters, no bidirectional controls
or zero-width characters, any other Unicode."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelport.core.names import MAX_NAME_LENGTH, normalize_name, refuse_hidden

HIDDEN = {
    **dict.fromkeys(map(chr, [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]), "control"),
    **dict.fromkeys(map(chr, (0x200E, 0x200F, 0x061C)), "mark"),
    **dict.fromkeys(map(chr, (0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF)), "zero-width"),
}
"""Every character that may not be in a name though it is no control: the issue's list."""


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
        ("عربي", "عربي"),
        ("soft\u00adhyphen", "soft\u00adhyphen"),
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


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("abc\u202egnp.exe", "name must not contain U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("abc\u202egnp.exe", "(a bidirectional control) at 3"),
        ("  \u2066isolated\u2069", "U+2066 LEFT-TO-RIGHT ISOLATE (a bidirectional control) at 0"),
        ("left\u200e", "U+200E LEFT-TO-RIGHT MARK (a bidirectional mark) at 4"),
        ("\u061c", "U+061C ARABIC LETTER MARK (a bidirectional mark) at 0"),
        ("zero\u200bwidth", "U+200B ZERO WIDTH SPACE (a zero-width character) at 4"),
        ("\ufeffbom", "U+FEFF ZERO WIDTH NO-BREAK SPACE (a zero-width character) at 0"),
        ("word\u2060joiner", "U+2060 WORD JOINER (a zero-width character) at 4"),
    ],
)
def test_characters_that_disguise_a_name_are_named(raw: str, says: str) -> None:
    with pytest.raises(ValueError, match="name must not contain") as refused:
        normalize_name(raw)
    assert says in str(refused.value)


@pytest.mark.parametrize("char", sorted(HIDDEN))
def test_each_hidden_character_is_refused_anywhere(char: str) -> None:
    for raw in (char + "x", "x" + char + "y", "x" + char):
        with pytest.raises(ValueError, match=f"U\\+{ord(char):04X} .*{HIDDEN[char]}"):
            normalize_name(raw)


def test_an_email_is_checked_the_same_way() -> None:
    with pytest.raises(ValueError, match=r"email must not contain U\+202E .* at 5$"):
        refuse_hidden("admin\u202e@example.com", "email")
    refuse_hidden("admin@example.com", "email")


@given(st.text(max_size=80) | st.text(st.sampled_from(["a", " ", *HIDDEN]), max_size=10))
def test_a_name_is_accepted_exactly_when_the_rules_allow_it(raw: str) -> None:
    trimmed = raw.strip()
    allowed = 1 <= len(trimmed) <= MAX_NAME_LENGTH and not any(
        unicodedata.category(char) in ("Cc", "Cs") or char in HIDDEN for char in trimmed
    )
    if allowed:
        assert normalize_name(raw) == trimmed
    else:
        with pytest.raises(ValueError, match="name must"):
            normalize_name(raw)
