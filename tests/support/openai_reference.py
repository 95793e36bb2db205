"""OpenAI's published OpenAPI description (`../shared/reference/openai-openapi/`) as schemas.

One JSON document; "#/components/schemas/..." refs resolve within it (JSON Schema 2020-12).
A test that uses it is marked `@pytest.mark.reference("openai-openapi")`, and the document is
found through `specs.reference_dir` (a clone without ../shared skips, CI fails):

    openai_schema("Response").validate(body)
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.specs import reference_dir

BASE = "urn:openai-openapi"


@functools.cache
def _registry() -> Registry[Any]:
    contents = orjson.loads((reference_dir("openai-openapi") / "openapi.json").read_bytes())
    resource = Resource.from_contents(contents, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(BASE, resource)
    return registry


@functools.cache
def openai_schema(name: str) -> Draft202012Validator:
    """A validator of `components/schemas/{name}`."""
    return Draft202012Validator(
        {"$ref": f"{BASE}#/components/schemas/{name}"}, registry=_registry()
    )
