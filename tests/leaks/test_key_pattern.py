"""The key regex the README publishes for secret scanners finds real keys and only them."""

from __future__ import annotations

import re
from pathlib import Path

from modelport.core import secrets as secret_format

README = Path(__file__).resolve().parents[2] / "README.md"


def documented_pattern() -> re.Pattern[str]:
    """The regex in the README's fenced block after the `key-pattern` marker."""
    text = README.read_text()
    after = text.split("<!-- key-pattern -->", 1)[1]
    block = after.split("```", 2)[1]
    return re.compile(block.strip())


def found(text: str) -> list[str]:
    return [match.group(0) for match in documented_pattern().finditer(text)]


def test_the_documented_regex_finds_fresh_keys_in_text() -> None:
    keys = [secret_format.generate(secret_format.MODEL_KEY_PREFIX) for _ in range(200)]
    for key in keys:
        assert found(key) == [key]
        assert found(f'OPENAI_API_KEY="{key}"\n') == [key]
        assert found(f"token: {key}, next") == [key]
    assert found(" ".join(keys)) == keys


def test_the_documented_regex_skips_near_misses() -> None:
    key = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
    body = key.removeprefix("mp_")
    near_misses = [
        key[:-1],  # one character short
        key + "a",  # one too long
        key[:10] + "-" + key[11:],  # a character outside base62
        "mpt_" + body,  # an API token, not a key
        "xmp_" + body,  # part of a longer word
        "MP_" + body,  # the prefix is lower case
        "mp-" + body,
        secret_format.generate(secret_format.SESSION_PREFIX),
    ]
    for text in near_misses:
        assert found(text) == [], text
