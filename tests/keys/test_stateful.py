"""A Hypothesis state machine drives the key lifecycle at random against a model of it.

Create, rename, regenerate, delete, get, list and verify run in any order over HTTP on a real
hub; the model says which keys exist, what they are called, which secret is each key's
current one, and which secrets are dead. Verification is the real KeyVerifier, reading the
hub's database. Each example works in a fresh team, so the list is exactly the model.
"""

from __future__ import annotations

import unicodedata
import uuid
from dataclasses import dataclass

import httpx
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.support.hub import Hub
from tests.support.verify import Verifier

KEYS = "/v2/gen-ai/models/api_keys"
HIDDEN = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"  # bidirectional controls
    "\u200e\u200f\u061c"  # bidirectional marks
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width characters
)

NAMES = st.one_of(
    st.text(st.characters(codec="utf-8"), max_size=70),
    st.text(st.sampled_from(" \t\nab\x00\x1f\x7f\u3000é\u202e\u200b"), max_size=8),
    st.sampled_from(["  prod  ", "a" * 64, "a" * 65, " " + "b" * 64 + " "]),
)


def expected_name(raw: str) -> str | None:
    """The name the issue's rule gives `raw`, or None if it must be refused.

    1 to 64 characters after trimming, no control characters, and none of the characters
    that make a name display as another (issue 9: bidirectional controls, zero-width ones).
    """
    name = raw.strip()
    if not 1 <= len(name) <= 64:
        return None
    if any(unicodedata.category(char) in ("Cc", "Cs") or char in HIDDEN for char in name):
        return None
    return name


@dataclass
class ModelKey:
    name: str
    secret: str


class KeyLifecycle(RuleBasedStateMachine):
    def __init__(self, hub: Hub, verifier: Verifier) -> None:
        super().__init__()
        self.api = hub.client(hub.new_team().token)
        self.verifier = verifier
        self.live: dict[str, ModelKey] = {}
        self.deleted: set[str] = set()
        self.dead_secrets: set[str] = set()

    def teardown(self) -> None:
        try:
            for key_id, key in self.live.items():
                self.assert_current(key_id, key.secret)
            for secret in self.dead_secrets:
                assert not self.verifier.accepts(secret)
        finally:
            self.api.close()

    def assert_current(self, key_id: str, secret: str) -> None:
        identity = self.verifier.identity(secret)
        assert identity is not None, "a live key's current secret was refused"
        assert str(identity.key_id) == key_id

    def some_key(self, data: st.DataObject) -> str:
        return data.draw(st.sampled_from(sorted(self.live)), label="key")

    @rule(raw=NAMES)
    def create(self, raw: str) -> None:
        response = self.api.post(KEYS, json={"name": raw})
        name = expected_name(raw)
        if name is None:
            assert response.status_code == 400, response.text
            assert response.json()["id"] == "bad_request"
            return
        assert response.status_code == 200, response.text
        info = response.json()["api_key_info"]
        assert info["name"] == name
        assert info["uuid"] not in self.live
        self.live[info["uuid"]] = ModelKey(name, info["secret_key"])

    @precondition(lambda self: self.live)
    @rule(data=st.data(), raw=NAMES)
    def rename(self, data: st.DataObject, raw: str) -> None:
        key_id = self.some_key(data)
        response = self.api.put(f"{KEYS}/{key_id}", json={"api_key_uuid": key_id, "name": raw})
        name = expected_name(raw)
        if name is None:
            assert response.status_code == 400, response.text
            return
        assert response.status_code == 200, response.text
        info = response.json()["api_key_info"]
        assert (info["name"], "secret_key" in info) == (name, False)
        self.live[key_id].name = name

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def regenerate(self, data: st.DataObject) -> None:
        key_id = self.some_key(data)
        response = self.api.put(f"{KEYS}/{key_id}/regenerate")
        assert response.status_code == 200, response.text
        info = response.json()["api_key_info"]
        key = self.live[key_id]
        assert info["name"] == key.name
        assert info["secret_key"] != key.secret
        self.dead_secrets.add(key.secret)
        key.secret = info["secret_key"]

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        key_id = self.some_key(data)
        response = self.api.delete(f"{KEYS}/{key_id}")
        assert response.status_code == 200, response.text
        assert response.json()["api_key_info"]["deleted_at"]
        self.dead_secrets.add(self.live.pop(key_id).secret)
        self.deleted.add(key_id)

    @precondition(lambda self: self.deleted)
    @rule(data=st.data(), method=st.sampled_from(["GET", "PUT", "REGENERATE", "DELETE"]))
    def touch_deleted(self, data: st.DataObject, method: str) -> None:
        key_id = data.draw(st.sampled_from(sorted(self.deleted)), label="deleted key")
        response = self._touch(key_id, method)
        assert response.status_code == 404, response.text

    @rule(method=st.sampled_from(["GET", "PUT", "REGENERATE", "DELETE"]))
    def touch_unknown(self, method: str) -> None:
        assert self._touch(str(uuid.uuid4()), method).status_code == 404

    def _touch(self, key_id: str, method: str) -> httpx.Response:
        if method == "PUT":
            return self.api.put(f"{KEYS}/{key_id}", json={"api_key_uuid": key_id, "name": "x"})
        if method == "REGENERATE":
            return self.api.put(f"{KEYS}/{key_id}/regenerate")
        return self.api.request(method, f"{KEYS}/{key_id}")

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        key_id = self.some_key(data)
        response = self.api.get(f"{KEYS}/{key_id}")
        assert response.status_code == 200, response.text
        info = response.json()["api_key_info"]
        assert (info["name"], "secret_key" in info) == (self.live[key_id].name, False)
        assert info["hint"] == "…" + self.live[key_id].secret[-4:]

    @rule()
    def list_all(self) -> None:
        response = self.api.get(KEYS, params={"per_page": 200})
        assert response.status_code == 200, response.text
        listed = {k["uuid"]: k["name"] for k in response.json()["api_key_infos"]}
        assert listed == {key_id: key.name for key_id, key in self.live.items()}
        assert response.json()["meta"]["total"] == len(self.live)

    @precondition(lambda self: self.live or self.dead_secrets)
    @rule(data=st.data())
    def verify(self, data: st.DataObject) -> None:
        current = {key.secret: key_id for key_id, key in self.live.items()}
        secret = data.draw(st.sampled_from(sorted([*current, *self.dead_secrets])), label="secret")
        if secret in current:
            self.assert_current(current[secret], secret)
        else:
            assert not self.verifier.accepts(secret)

    @invariant()
    def secrets_are_distinct(self) -> None:
        secrets = [key.secret for key in self.live.values()]
        assert len(set(secrets)) == len(secrets)
        assert not self.dead_secrets & set(secrets)


def test_key_lifecycle_follows_its_model(hub: Hub, verifier: Verifier) -> None:
    class OnThisHub(KeyLifecycle):
        def __init__(self) -> None:
            super().__init__(hub, verifier)

    run_state_machine_as_test(
        OnThisHub, settings=settings(max_examples=25, stateful_step_count=15, deadline=None)
    )
