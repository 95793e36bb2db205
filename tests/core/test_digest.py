"""Digests: HMAC-SHA-256 under the server secret, the only form in which secrets are stored."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from modelport.core import secrets as secret_format
from modelport.core.digest import Digester

SERVER_SECRET = b"s" * 32


def test_a_digest_is_the_hmac_sha256_of_the_secret() -> None:
    secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
    expected = hmac.new(SERVER_SECRET, secret.encode(), hashlib.sha256).digest()
    assert Digester(SERVER_SECRET).digest(secret) == expected
    assert len(expected) == 32


def test_digests_are_stable_and_tell_secrets_apart() -> None:
    digester = Digester(SERVER_SECRET)
    secrets = [secret_format.generate(secret_format.MODEL_KEY_PREFIX) for _ in range(200)]
    assert [digester.digest(s) for s in secrets] == [
        Digester(SERVER_SECRET).digest(s) for s in secrets
    ]
    assert len({digester.digest(s) for s in secrets}) == 200


def test_another_server_secret_gives_other_digests() -> None:
    secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
    assert Digester(SERVER_SECRET).digest(secret) != Digester(b"t" * 32).digest(secret)


def test_a_digest_reveals_nothing_of_the_secret() -> None:
    secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
    digest = Digester(SERVER_SECRET).digest(secret)
    for form in (digest.hex(), digest.hex().upper(), repr(digest)):
        assert secret[3:11] not in form
    assert bytes(digest).find(secret.encode()[3:11]) == -1


@pytest.mark.parametrize("length", [0, 16, 31])
def test_a_short_server_secret_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        Digester(b"k" * length)
