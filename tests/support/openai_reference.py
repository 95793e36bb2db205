"""OpenAI's published OpenAPI description (`../shared/reference/openai-openapi/`) as schemas.

One JSON document; "#/components/schemas/..." refs resolve within it (JSON Schema 2020-12).

    openai_schema("Response").validate(body)
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "openai-openapi" / "openapi.json"
)
BASE = "urn:openai-openapi"


@functools.cache
def _registry() -> Registry[Any]:
    contents = orjson.loads(DOCUMENT.read_bytes())
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(BASE, resource)
    return registry


@functools.cache
def openai_schema(name: str) -> Draft202012Validator:
    """A validator of `components/schemas/{name}`."""
    return Draft202012Validator(
        {"$ref": f"{BASE}#/components/schemas/{name}"}, registry=_registry()
    )
