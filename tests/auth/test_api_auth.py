"""Who may do what on /v2: no credential is 401, read-only is 403 on writes, other teams 404."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from modelport.core import secrets as secret_format
from tests.support.hub import Hub, Team
from tests.support.verify import Verifier

BASE = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"
SOME_ID = "123e4567-e89b-12d3-a456-426614174000"
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", BASE, None),
    ("POST", BASE, {"name": "k"}),
    ("GET", f"{BASE}/{SOME_ID}", None),
    ("PUT", f"{BASE}/{SOME_ID}", {"name": "k"}),
    ("PUT", f"{BASE}/{SOME_ID}/regenerate", None),
    ("DELETE", f"{BASE}/{SOME_ID}", None),
    ("GET", AUDIT, None),
]


def _unknown_token() -> str:
    return secret_format.generate(secret_format.API_TOKEN_PREFIX)


def _wrong_checksum(token: str) -> str:
    return token[:-1] + ("1" if token[-1] == "0" else "0")


def _assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["id"] == "unauthorized"
    assert body["message"]
    assert body["request_id"] == response.headers["x-request-id"]


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_no_token_is_unauthorized(
    hub: Hub, method: str, path: str, body: dict[str, Any] | None
) -> None:
    with hub.client(None) as anonymous:
        _assert_unauthorized(anonymous.request(method, path, json=body))


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer mpt_ " + "a" * 37,
        "Basic dXNlcjpwYXNz",
        "Token mpt_abc",
        "Bearer mpt_abc",
        "Bearer not-a-token-at-all",
        "Bearer " + "x" * 5000,
    ],
)
def test_a_malformed_authorization_is_unauthorized(hub: Hub, authorization: str) -> None:
    with hub.client(None) as client:
        _assert_unauthorized(client.get(BASE, headers={"Authorization": authorization}))


def test_an_unknown_or_altered_token_is_unauthorized(hub: Hub, team: Team) -> None:
    for token in (_unknown_token(), _wrong_checksum(team.token), team.token.upper()):
        with hub.client(token) as client:
            _assert_unauthorized(client.get(BASE))


def test_the_scheme_is_case_insensitive(hub: Hub, team: Team) -> None:
    with hub.client(None) as client:
        response = client.get(BASE, headers={"Authorization": f"bearer {team.token}"})
    assert response.status_code == 200


def test_a_model_access_key_is_not_a_control_plane_token(
    hub: Hub, api: httpx.Client, verifier: Verifier
) -> None:
    secret = api.post(BASE, json={"name": "model-key"}).json()["api_key_info"]["secret_key"]
    assert verifier.accepts(secret)
    with hub.client(secret) as client:
        for method, path, body in ENDPOINTS:
            _assert_unauthorized(client.request(method, path, json=body))


def _state(api: httpx.Client) -> tuple[Any, Any]:
    """What a write could change: the key list and the audit log."""
    keys = api.get(BASE, params={"per_page": 200}).json()
    audit = api.get(AUDIT, params={"per_page": 200}).json()
    return keys, audit


def test_a_read_only_token_reads_but_cannot_write(
    hub: Hub, team: Team, api: httpx.Client, verifier: Verifier
) -> None:
    key = api.post(BASE, json={"name": "guarded"}).json()["api_key_info"]
    key_id, secret = key["uuid"], key["secret_key"]
    before = _state(api)
    with hub.client(team.read_only_token) as reader:
        assert reader.get(BASE).json()["api_key_infos"][0]["uuid"] == key_id
        assert reader.get(f"{BASE}/{key_id}").json()["api_key_info"]["name"] == "guarded"
        assert reader.get(AUDIT).status_code == 200
        for method, path, body in [
            ("POST", BASE, {"name": "sneaky"}),
            ("PUT", f"{BASE}/{key_id}", {"api_key_uuid": key_id, "name": "sneaky"}),
            ("PUT", f"{BASE}/{key_id}/regenerate", None),
            ("DELETE", f"{BASE}/{key_id}", None),
        ]:
            response = reader.request(method, path, json=body)
            assert response.status_code == 403, (method, path, response.text)
            assert response.json()["id"] == "forbidden"
            assert "read-only" in response.json()["message"]
    assert _state(api) == before
    assert verifier.accepts(secret)


def _without_request_id(response: httpx.Response) -> tuple[int, dict[str, Any]]:
    body = dict(response.json())
    assert body.pop("request_id") == response.headers["x-request-id"]
    return response.status_code, body


def test_another_teams_key_is_exactly_as_unknown_as_no_key(
    hub: Hub, api: httpx.Client, verifier: Verifier
) -> None:
    key = api.post(BASE, json={"name": "private"}).json()["api_key_info"]
    theirs, unknown = key["uuid"], str(uuid.uuid4())
    before = _state(api)
    stranger = hub.new_team()
    with hub.client(stranger.token) as client:
        for method, template, body in [
            ("GET", BASE + "/{}", None),
            ("PUT", BASE + "/{}", {"name": "stolen"}),
            ("PUT", BASE + "/{}/regenerate", None),
            ("DELETE", BASE + "/{}", None),
        ]:
            answer = client.request(method, template.format(theirs), json=body)
            baseline = client.request(method, template.format(unknown), json=body)
            assert answer.status_code == 404, answer.text
            assert _without_request_id(answer) == _without_request_id(baseline)
            assert answer.json()["id"] == "not_found"
        assert client.get(BASE).json()["meta"]["total"] == 0
        assert client.get(AUDIT).json()["audit_events"] == []
    assert _state(api) == before
    assert verifier.accepts(key["secret_key"])
