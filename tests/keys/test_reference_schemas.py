"""Every key lifecycle response validates against DigitalOcean's reference schemas.

The reference requires almost nothing, so the tests also check that each response holds every
property the reference lists for it (`secret_key` only where issued, `deleted_at` only once
deleted), and that the headers each response declares are there.
"""

from __future__ import annotations

import uuid

import httpx
import pytest
from jsonschema import ValidationError

from tests.support.hub import Hub, Team
from tests.support.reference import (
    GEN_AI_DEFINITIONS,
    KEYS,
    check_response,
    schema_properties,
    schema_validator,
)

pytestmark = pytest.mark.reference("do-openapi")

BASE = "/v2/gen-ai/models/api_keys"


def _fields(name: str) -> set[str]:
    return schema_properties(GEN_AI_DEFINITIONS, name)


def _info(response: httpx.Response, *, secret: bool = False, deleted: bool = False) -> None:
    """The key in `response` lists exactly the reference's fields that apply to it."""
    info = response.json()["api_key_info"]
    every = _fields("apiModelAPIKeyInfo")
    expected = (
        every - ({"secret_key"} if not secret else set()) - (set() if deleted else {"deleted_at"})
    )
    assert set(info) & every == expected


def test_the_lifecycle_matches_the_reference(api: httpx.Client) -> None:
    created = api.post(BASE, json={"name": "reference"})
    check_response(KEYS["create"], created)
    _info(created, secret=True)
    key_id = created.json()["api_key_info"]["uuid"]

    listed = api.get(BASE, params={"per_page": 1})
    api.post(BASE, json={"name": "second"})
    paged = api.get(BASE, params={"per_page": 1, "page": 2})
    every = _fields("apiModelAPIKeyInfo")
    for response in (listed, paged):
        check_response(KEYS["list"], response)
        assert set(response.json()["meta"]) == _fields("apiMeta")
        assert set(response.json()["links"]["pages"]) <= _fields("apiPages")
    for info in paged.json()["api_key_infos"]:
        assert set(info) & every == every - {"secret_key", "deleted_at"}

    got = api.get(f"{BASE}/{key_id}")
    schema_validator(GEN_AI_DEFINITIONS, "apiModelAPIKeyInfo").validate(got.json()["api_key_info"])
    _info(got)

    renamed = api.put(f"{BASE}/{key_id}", json={"api_key_uuid": key_id, "name": "renamed"})
    check_response(KEYS["update"], renamed)
    _info(renamed)

    regenerated = api.put(f"{BASE}/{key_id}/regenerate")
    check_response(KEYS["regenerate"], regenerated)
    _info(regenerated, secret=True)

    deleted = api.delete(f"{BASE}/{key_id}")
    check_response(KEYS["delete"], deleted)
    _info(deleted, deleted=True)


def test_error_bodies_match_the_reference(hub: Hub, team: Team, api: httpx.Client) -> None:
    key_id = api.post(BASE, json={"name": "errors"}).json()["api_key_info"]["uuid"]
    unknown = str(uuid.uuid4())
    with hub.client(None) as anonymous, hub.client(team.read_only_token) as reader:
        answers = [
            (KEYS["list"], anonymous.get(BASE), 401),
            (KEYS["create"], anonymous.post(BASE, json={"name": "x"}), 401),
            (KEYS["create"], api.post(BASE, json={"name": ""}), 400),
            (KEYS["create"], reader.post(BASE, json={"name": "x"}), 403),
            (KEYS["create"], api.post(BASE, json={"name": "x" * 2_000_000}), 413),
            (KEYS["update"], api.put(f"{BASE}/{unknown}", json={"name": "x"}), 404),
            (KEYS["update"], api.put(f"{BASE}/{key_id}", json={"name": 5}), 400),
            (KEYS["regenerate"], api.put(f"{BASE}/{unknown}/regenerate"), 404),
            (KEYS["regenerate"], reader.put(f"{BASE}/{key_id}/regenerate"), 403),
            (KEYS["delete"], api.delete(f"{BASE}/{unknown}"), 404),
            (KEYS["delete"], api.delete(f"{BASE}/not-a-uuid"), 400),
            (KEYS["list"], api.get(BASE, params={"page": 0}), 400),
        ]
    for operation, response, status in answers:
        assert response.status_code == status, response.text
        check_response(operation, response)


def test_the_checks_can_fail() -> None:
    """A body that breaks the reference is caught, so the passes above mean something."""
    info = {"uuid": "u", "name": "n", "created_at": "2023-01-01T00:00:00Z"}
    validator = schema_validator(GEN_AI_DEFINITIONS, "apiUpdateModelAPIKeyOutput")
    validator.validate({"api_key_info": info})
    for broken in ({"name": 5}, {"created_at": "yesterday"}, {"uuid": None}):
        with pytest.raises(ValidationError):
            validator.validate({"api_key_info": {**info, **broken}})
