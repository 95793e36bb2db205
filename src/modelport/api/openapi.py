"""The /v2 OpenAPI document, completed with what FastAPI cannot see.

Bearer auth, the rate limit headers and the body cap live in middleware and dependencies,
which FastAPI does not describe; and FastAPI describes a 422 that /v2 never sends (invalid
input is a 400 there). This fills in the one and drops the other, so that clients and
schemathesis see the API as it behaves.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

V2_PREFIX = "/v2/"
BEARER = "bearer_auth"

_INTEGER = {"type": "integer"}
HEADERS: dict[str, dict[str, Any]] = {
    "ratelimit-limit": {
        "description": "Requests this token may make per minute.",
        "required": True,
        "schema": _INTEGER,
    },
    "ratelimit-remaining": {
        "description": "Requests left in the current minute.",
        "required": True,
        "schema": _INTEGER,
    },
    "ratelimit-reset": {
        "description": "When the current minute's allowance resets, in Unix epoch seconds.",
        "required": True,
        "schema": _INTEGER,
    },
    "x-request-id": {
        "description": "This request's id; quote it when reporting a problem.",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    },
}
RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "required": True,
    "schema": _INTEGER,
}
_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def openapi_builder(
    app: FastAPI, *describe: Callable[[dict[str, Any]], None]
) -> Callable[[], dict[str, Any]]:
    """A replacement for `app.openapi`: FastAPI's document, completed once and cached.

    `describe`: what adds the surfaces FastAPI does not route (the /v1 data plane)."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            complete_v2(document)
            for add in describe:
                add(document)
            app.openapi_schema = document
        return app.openapi_schema

    return build


def complete_v2(document: dict[str, Any]) -> None:
    """Describe bearer auth and the /v2 response headers; drop the 422s /v2 never sends."""
    components = document.setdefault("components", {})
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A control-plane API token (`modelport tokens create`).",
    }
    for path, operations in document.get("paths", {}).items():
        if not path.startswith(V2_PREFIX):
            continue
        for operation in operations.values():
            operation.setdefault("security", [{BEARER: []}])  # unless it says otherwise
            responses = operation.get("responses", {})
            responses.pop("422", None)
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers.update(HEADERS)
                if status == "429":
                    headers["retry-after"] = RETRY_AFTER
    schemas = components.get("schemas", {})
    for name in _VALIDATION_SCHEMAS:
        if f'"#/components/schemas/{name}"' not in json.dumps(document):
            schemas.pop(name, None)
