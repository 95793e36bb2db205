"""The secret format: prefix, random base62 body, base62 CRC32 checksum that catches typos."""

from __future__ import annotations

import string
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelport.core import secrets as secret_format
from modelport.core.secrets import API_TOKEN_PREFIX, MODEL_KEY_PREFIX, PlainSecret

ALPHABET = string.digits + string.ascii_uppercase + string.ascii_lowercase
PREFIXES = [MODEL_KEY_PREFIX, API_TOKEN_PREFIX]


def _from_base62(text: str) -> int:
    number = 0
    for char in text:
        number = number * 62 + ALPHABET.index(char)
    return number


@pytest.mark.parametrize("prefix", PREFIXES)
def test_a_secret_is_prefix_body_and_checksum(prefix: str) -> None:
    secret = secret_format.generate(prefix)
    body = secret[len(prefix) : -secret_format.CHECKSUM_LENGTH]
    check = secret[-secret_format.CHECKSUM_LENGTH :]
    assert secret.startswith(prefix)
    assert len(body) == secret_format.BODY_LENGTH == 32
    assert set(body + check) <= set(ALPHABET)
    assert _from_base62(check) == zlib.crc32((prefix + body).encode())
    assert secret_format.is_well_formed(prefix, secret)


def test_the_body_carries_at_least_160_random_bits() -> None:
    bits = secret_format.BODY_LENGTH * 5.954  # log2(62)
    assert bits >= 160
    secrets = {secret_format.generate(MODEL_KEY_PREFIX) for _ in range(1000)}
    assert len(secrets) == 1000
    used = {char for secret in secrets for char in secret[3:-6]}
    assert used == set(ALPHABET)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_single_character_change_is_detected(prefix: str) -> None:
    for _ in range(20):
        secret = secret_format.generate(prefix)
        for position, original in enumerate(secret):
            for replacement in ALPHABET + "_-":
                if replacement != original:
                    changed = secret[:position] + replacement + secret[position + 1 :]
                    assert not secret_format.is_well_formed(prefix, changed), changed


def test_every_swap_of_neighbours_is_detected() -> None:
    for _ in range(50):
        secret = secret_format.generate(MODEL_KEY_PREFIX)
        for position in range(len(secret) - 1):
            swapped = (
                secret[:position] + secret[position + 1] + secret[position] + secret[position + 2 :]
            )
            if swapped != secret:
                assert not secret_format.is_well_formed(MODEL_KEY_PREFIX, swapped)


def test_a_dropped_or_added_character_is_refused() -> None:
    secret = secret_format.generate(MODEL_KEY_PREFIX)
    for position in range(len(secret)):
        assert not secret_format.is_well_formed(
            MODEL_KEY_PREFIX, secret[:position] + secret[position + 1 :]
        )
        assert not secret_format.is_well_formed(
            MODEL_KEY_PREFIX, secret[:position] + "a" + secret[position:]
        )


def test_a_key_is_not_a_token_nor_a_token_a_key() -> None:
    key = secret_format.generate(MODEL_KEY_PREFIX)
    token = secret_format.generate(API_TOKEN_PREFIX)
    assert not secret_format.is_well_formed(API_TOKEN_PREFIX, key)
    assert not secret_format.is_well_formed(MODEL_KEY_PREFIX, token)


@given(st.text(max_size=60))
def test_arbitrary_text_is_never_taken_for_a_key(text: str) -> None:
    """Made-up text passes only if it happens to carry a valid checksum: never, in practice."""
    assert not secret_format.is_well_formed(MODEL_KEY_PREFIX, MODEL_KEY_PREFIX + text)


@given(st.text(alphabet=ALPHABET, min_size=32, max_size=32))
def test_the_checksum_is_the_crc32_of_prefix_and_body(body: str) -> None:
    head = MODEL_KEY_PREFIX + body
    check = secret_format.checksum(head)
    assert len(check) == secret_format.CHECKSUM_LENGTH
    assert _from_base62(check) == zlib.crc32(head.encode())
    assert secret_format.is_well_formed(MODEL_KEY_PREFIX, head + check)


def test_the_hint_is_the_last_four_characters() -> None:
    secret = secret_format.generate(MODEL_KEY_PREFIX)
    assert secret_format.hint(secret) == secret[-4:]
    assert secret_format.hint(PlainSecret("mp_abcdWXYZ")) == "WXYZ"
