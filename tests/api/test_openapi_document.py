"""The hub's OpenAPI document is valid OpenAPI and describes /v1 as well as /v2: every route
the data plane serves, with the model access key's schemes, and answers the hub really sends
match the schemas it gives for them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate

from modelport.app import create_app
from modelport.config import Settings
from tests.support.databases import sqlite_url
from tests.support.dataplane import create_key
from tests.support.hub import TEST_SECRET, Hub

V1_SCHEMES = {"model_access_key", "model_access_key_header"}


@pytest.fixture(scope="module")
def document(hub: Hub) -> dict[str, Any]:
    answer = httpx.get(hub.url + "/openapi.json", timeout=10)
    assert answer.status_code == 200
    body: dict[str, Any] = answer.json()
    return body


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_v1_route_the_data_plane_serves_is_described(
    document: dict[str, Any], tmp_path: Path
) -> None:
    app = create_app(Settings(database_url=sqlite_url(tmp_path), secret=TEST_SECRET))
    plane = app.data_plane
    served = {(e.route, method.lower()) for e in plane.endpoints for method in e.methods}
    described = {
        (path, method)
        for path, operations in document["paths"].items()
        if path.startswith("/v1/")
        for method in operations
    }
    assert described == served
    assert ("/v1/chat/completions", "post") in served


def test_v1_operations_name_the_model_access_key(document: dict[str, Any]) -> None:
    assert set(document["components"]["securitySchemes"]) >= V1_SCHEMES
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method, operation in operations.items():
            schemes = {name for entry in operation["security"] for name in entry}
            anthropic = path.startswith("/v1/messages") or path == "/v1/key"
            assert schemes == (V1_SCHEMES if anthropic else {"model_access_key"}), (path, method)


def _schema(document: dict[str, Any], path: str, method: str, status: str) -> dict[str, Any]:
    """The JSON schema the document gives for one answer, its references resolvable."""
    response = document["paths"][path][method]["responses"][status]
    schema = response["content"]["application/json"]["schema"]
    return {**schema, "components": document["components"]}


def _check(document: dict[str, Any], path: str, method: str, answer: httpx.Response) -> None:
    schema = _schema(document, path, method, str(answer.status_code))
    jsonschema.Draft202012Validator(schema).validate(answer.json())


def test_what_the_hub_answers_matches_the_document(
    document: dict[str, Any], hub: Hub, api: httpx.Client
) -> None:
    secret = create_key(api)["secret_key"]
    key = {"Authorization": f"Bearer {secret}"}
    messages = [{"role": "user", "content": "Hi"}]
    calls: list[tuple[str, str, dict[str, Any] | None, dict[str, str]]] = [
        ("/v1/models", "get", None, key),
        ("/v1/models", "get", None, {}),
        ("/v1/key", "get", None, key),
        ("/v1/key", "get", None, {}),
        ("/v1/chat/completions", "post", {"model": "test-chat", "messages": messages}, key),
        ("/v1/chat/completions", "post", {"model": "test-chat"}, key),
        ("/v1/embeddings", "post", {"model": "test-embed", "input": "Hi"}, key),
        ("/v1/responses", "post", {"model": "test-chat", "input": "Hi"}, key),
        (
            "/v1/messages",
            "post",
            {"model": "test-chat", "messages": messages, "max_tokens": 9},
            key,
        ),
        ("/v1/messages", "post", {"model": "test-chat", "messages": messages}, {}),
        ("/v1/messages/count_tokens", "post", {"model": "test-chat", "messages": messages}, key),
    ]
    statuses = []
    with httpx.Client(base_url=hub.url, timeout=30) as client:
        for path, method, body, headers in calls:
            answer = client.request(method, path, json=body, headers=headers)
            statuses.append(answer.status_code)
            _check(document, path, method, answer)
        stored = client.post(
            "/v1/responses", json={"model": "test-chat", "input": "Hi"}, headers=key
        )
        response_id = stored.json()["id"]
        for path, method in (
            ("/v1/responses/{response_id}/input_items", "get"),
            ("/v1/responses/{response_id}", "get"),
            ("/v1/responses/{response_id}", "delete"),
            ("/v1/responses/{response_id}", "get"),
        ):
            answer = client.request(method, path.format(response_id=response_id), headers=key)
            statuses.append(answer.status_code)
            _check(document, path, method, answer)
    assert statuses == [200, 401, 200, 401, 200, 400, 200, 200, 200, 401, 200, 200, 200, 200, 404]
