"""A secret works until its key is regenerated or deleted, and never again after."""

from __future__ import annotations

import httpx
import pytest

from modelport.core import secrets as secret_format
from modelport.errors import StorageUnavailable
from tests.support.hub import Team
from tests.support.loop import BackgroundLoop
from tests.support.verify import Verifier

BASE = "/v2/gen-ai/models/api_keys"


def _create(api: httpx.Client, name: str) -> tuple[str, str]:
    created = api.post(BASE, json={"name": name})
    assert created.status_code == 200, created.text
    info = created.json()["api_key_info"]
    return info["uuid"], info["secret_key"]


def test_a_new_secret_verifies_as_its_key(api: httpx.Client, verifier: Verifier) -> None:
    key_id, secret = _create(api, "fresh")
    identity = verifier.identity(secret)
    assert identity is not None
    assert str(identity.key_id) == key_id
    assert identity.models is None


def test_regenerate_refuses_the_old_secret_and_accepts_the_new(
    api: httpx.Client, verifier: Verifier
) -> None:
    key_id, old = _create(api, "rotating")
    regenerated = api.put(f"{BASE}/{key_id}/regenerate")
    assert regenerated.status_code == 200, regenerated.text
    new = regenerated.json()["api_key_info"]["secret_key"]
    assert not verifier.accepts(old)
    identity = verifier.identity(new)
    assert identity is not None
    assert str(identity.key_id) == key_id


def test_delete_refuses_every_secret_the_key_ever_had(
    api: httpx.Client, verifier: Verifier
) -> None:
    key_id, first = _create(api, "doomed")
    second = api.put(f"{BASE}/{key_id}/regenerate").json()["api_key_info"]["secret_key"]
    assert verifier.accepts(second)
    assert api.delete(f"{BASE}/{key_id}").status_code == 200
    assert not verifier.accepts(first)
    assert not verifier.accepts(second)


def test_a_refused_write_leaves_the_secret_working(api: httpx.Client, verifier: Verifier) -> None:
    key_id, secret = _create(api, "kept")
    bad = api.put(f"{BASE}/{key_id}", json={"api_key_uuid": key_id, "name": " "})
    assert bad.status_code == 400
    assert verifier.accepts(secret)


def test_one_changed_character_is_refused(api: httpx.Client, verifier: Verifier) -> None:
    """Every single-character change to a live secret is refused, checksum or not."""
    _, secret = _create(api, "typo")
    assert verifier.accepts(secret)
    for position in (len(secret_format.MODEL_KEY_PREFIX), len(secret) // 2, len(secret) - 1):
        for replacement in {"0", "Z", "z"} - {secret[position]}:
            changed = secret[:position] + replacement + secret[position + 1 :]
            assert not verifier.accepts(changed), (position, replacement)


def test_a_well_formed_secret_that_was_never_issued_is_refused(verifier: Verifier) -> None:
    made_up = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
    assert secret_format.is_well_formed(secret_format.MODEL_KEY_PREFIX, made_up)
    assert not verifier.accepts(made_up)


def test_a_control_plane_token_is_not_a_model_key(team: Team, verifier: Verifier) -> None:
    assert not verifier.accepts(team.token)


def test_a_wrong_checksum_is_refused_without_the_database(loop: BackgroundLoop) -> None:
    """With no database to ask, a bad checksum is still refused; a good one cannot be."""
    unreachable = Verifier("postgresql://nobody@127.0.0.1:1/none", loop)
    try:
        secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
        wrong = secret[:-1] + ("1" if secret[-1] == "0" else "0")
        assert not unreachable.accepts(wrong)
        with pytest.raises(StorageUnavailable):
            unreachable.accepts(secret)
    finally:
        unreachable.close()
