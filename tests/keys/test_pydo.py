"""DigitalOcean's own client, `pydo`, against the hub with only its endpoint changed.

pydo lists, renames, regenerates and deletes keys, and every answer is what our API gives.
Two things differ from talking to DigitalOcean, both on pydo's side: its bearer policy
refuses plain http, so it gets an explicit authentication policy; and its create expects the
retired 410, so it raises on our 200 and the key is read from the error it raises.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pydo
import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.exceptions import HttpResponseError, ServiceRequestError
from azure.core.pipeline.policies import AzureKeyCredentialPolicy

from tests.support.hub import Hub, Team
from tests.support.verify import Verifier

KEYS = "/v2/gen-ai/models/api_keys"


def pydo_client(hub: Hub, token: str) -> Any:
    """pydo as a user would make it, plus the authentication policy plain http needs."""
    bearer = AzureKeyCredentialPolicy(AzureKeyCredential(token), "Authorization", prefix="Bearer")
    return pydo.Client(token, endpoint=hub.url, authentication_policy=bearer)


@pytest.fixture
def do(hub: Hub, team: Team) -> Any:
    return pydo_client(hub, team.token)


def answer(error: HttpResponseError) -> tuple[int | None, dict[str, Any]]:
    """The status and JSON body of the response pydo raised about."""
    response = error.response
    assert response is not None
    body: dict[str, Any] = json.loads(response.text())
    return response.status_code, body


def create(hub: Hub, do: Any, name: str) -> dict[str, Any]:
    """pydo's create raises on anything but the retired 410; our 200 is in the error."""
    with pytest.raises(HttpResponseError) as raised:
        do.genai.create_model_api_key(body={"name": name})
    status, body = answer(raised.value)
    assert status == 200
    info: dict[str, Any] = body["api_key_info"]
    hub.issued.add(info["secret_key"])
    return info


def test_pydo_refuses_a_bearer_token_over_http_without_an_explicit_policy(
    hub: Hub, team: Team
) -> None:
    # retry_total=0: pydo would otherwise retry the refusal, with back-off, for seconds.
    plain = pydo.Client(team.token, endpoint=hub.url, retry_total=0)
    with pytest.raises(ServiceRequestError, match="non-TLS"):
        plain.genai.list_model_api_keys()


def test_create_through_pydo_gives_a_working_key(
    hub: Hub, do: Any, api: httpx.Client, verifier: Verifier
) -> None:
    info = create(hub, do, "from pydo")
    assert info["name"] == "from pydo"
    assert verifier.accepts(info["secret_key"])
    stored = api.get(f"{KEYS}/{info['uuid']}").json()["api_key_info"]
    assert stored == {k: v for k, v in info.items() if k != "secret_key"}


def test_list_through_pydo_is_our_list(hub: Hub, do: Any, api: httpx.Client) -> None:
    made = [create(hub, do, f"key {n}")["uuid"] for n in range(3)]
    listed = do.genai.list_model_api_keys(page=1, per_page=2)
    assert listed == api.get(KEYS, params={"page": 1, "per_page": 2}).json()
    assert [k["uuid"] for k in listed["api_key_infos"]] == made[::-1][:2]
    assert listed["meta"] == {"page": 1, "pages": 2, "total": 3}
    assert all("secret_key" not in k for k in listed["api_key_infos"])
    second = do.genai.list_model_api_keys(page=2, per_page=2)
    assert [k["uuid"] for k in second["api_key_infos"]] == [made[0]]


def test_rename_through_pydo(hub: Hub, do: Any, api: httpx.Client) -> None:
    key_id = create(hub, do, "before")["uuid"]
    renamed = do.genai.update_model_api_key(key_id, body={"api_key_uuid": key_id, "name": "after"})
    assert renamed == api.get(f"{KEYS}/{key_id}").json()
    assert renamed["api_key_info"]["name"] == "after"
    assert "secret_key" not in renamed["api_key_info"]


def test_regenerate_through_pydo_retires_the_old_secret(
    hub: Hub, do: Any, api: httpx.Client, verifier: Verifier
) -> None:
    created = create(hub, do, "rotating")
    regenerated = do.genai.regenerate_model_api_key(created["uuid"])["api_key_info"]
    hub.issued.add(regenerated["secret_key"])
    assert regenerated["uuid"] == created["uuid"]
    assert regenerated["hint"] == "…" + regenerated["secret_key"][-4:]
    assert not verifier.accepts(created["secret_key"])
    assert verifier.accepts(regenerated["secret_key"])
    stored = api.get(f"{KEYS}/{created['uuid']}").json()["api_key_info"]
    assert stored == {k: v for k, v in regenerated.items() if k != "secret_key"}


def test_delete_through_pydo(hub: Hub, do: Any, api: httpx.Client, verifier: Verifier) -> None:
    created = create(hub, do, "doomed")
    deleted = do.genai.delete_model_api_key(created["uuid"])["api_key_info"]
    assert deleted["uuid"] == created["uuid"]
    assert deleted["deleted_at"]
    assert "secret_key" not in deleted
    assert not verifier.accepts(created["secret_key"])
    assert api.get(f"{KEYS}/{created['uuid']}").status_code == 404
    assert do.genai.list_model_api_keys()["api_key_infos"] == []
    # pydo passes a 404 through as the body; it is our error, not a second delete.
    again = do.genai.delete_model_api_key(created["uuid"])
    assert again["id"] == "not_found"
    assert set(again) == {"id", "message", "request_id"}


def test_pydo_sees_our_errors(hub: Hub, team: Team) -> None:
    with pytest.raises(HttpResponseError) as raised:
        pydo_client(hub, team.read_only_token).genai.regenerate_model_api_key(
            "00000000-0000-4000-8000-000000000000"
        )
    status, body = answer(raised.value)
    assert (status, body["id"]) == (403, "forbidden")
    with pytest.raises(HttpResponseError) as unauthorized:
        pydo_client(hub, "mpt_not-a-token").genai.list_model_api_keys()
    status, body = answer(unauthorized.value)
    assert (status, body["id"]) == (401, "unauthorized")


def test_pydo_sees_a_disguised_name_refused_and_nothing_changes(
    hub: Hub, do: Any, api: httpx.Client
) -> None:
    """`abc<U+202E>gnp.exe` would show as `abcexe.png`: refused, with the character named."""
    key_id = create(hub, do, "plain")["uuid"]
    before = api.get(KEYS).json()
    says = "name must not contain U+202E RIGHT-TO-LEFT OVERRIDE (a bidirectional control) at 3"
    with pytest.raises(HttpResponseError) as created:
        do.genai.create_model_api_key(body={"name": "abc\u202egnp.exe"})
    with pytest.raises(HttpResponseError) as renamed:
        do.genai.update_model_api_key(
            key_id, body={"api_key_uuid": key_id, "name": "abc\u202egnp.exe"}
        )
    for refused in (created, renamed):
        status, body = answer(refused.value)
        assert (status, body["id"], body["message"]) == (400, "bad_request", says)
        assert set(body) == {"id", "message", "request_id"}
    assert api.get(KEYS).json() == before
