"""DigitalOcean's OpenAPI reference (`../shared/reference/do-openapi/`) as JSON Schema checks.

The reference is YAML split over many files joined by relative `$ref`s. Each file is loaded
as a `referencing` resource under its `file://` URI, so the refs resolve as written. A file of
a `history/<snapshot>/` tree holds only what changed then; a file it does not hold is read from
the current tree at the same path.

    check_response(KEYS["list"], response)          # body and headers against the operation
    schema_validator(GEN_AI_DEFINITIONS, "apiModelPublic").validate(item)
    bundle(GEN_AI_SERVED)                           # one OpenAPI document, for schemathesis

Nothing is read until a function needs it, and then through `specs.reference_dir`: on a clone
without `../shared` the test skips (fails in CI). Mark such tests `reference("do-openapi")`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import httpx
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from tests.support.specs import SHARED, reference_dir

NAME = "do-openapi"
REFERENCE = SHARED / "reference" / NAME
HISTORY = REFERENCE / "history"
GEN_AI = "specification/resources/gen-ai"
GEN_AI_DEFINITIONS = f"{GEN_AI}/definitions.yml"
CREATE_BEFORE_RETIREMENT = (
    f"history/pre-0100958f-create-deprecation/{GEN_AI}/genai_create_model_api_key.yml"
)
KEYS = {
    "create": CREATE_BEFORE_RETIREMENT,
    "list": f"{GEN_AI}/genai_list_model_api_keys.yml",
    "update": f"{GEN_AI}/genai_update_model_api_key.yml",
    "regenerate": f"{GEN_AI}/genai_regenerate_model_api_key.yml",
    "delete": f"{GEN_AI}/genai_delete_model_api_key.yml",
}
"""The key lifecycle's operations, by what they do, as paths under REFERENCE."""
ROOT = "specification/DigitalOcean-public.v2.yaml"
_KEY = "/v2/gen-ai/models/api_keys/{api_key_uuid}"
GEN_AI_SERVED = {
    ("/v2/gen-ai/models", "get"): f"{GEN_AI}/genai_list_models.yml",
    ("/v2/gen-ai/models/api_keys", "get"): KEYS["list"],
    ("/v2/gen-ai/models/api_keys", "post"): KEYS["create"],
    (_KEY, "put"): KEYS["update"],
    (_KEY, "delete"): KEYS["delete"],
    (f"{_KEY}/regenerate", "put"): KEYS["regenerate"],
}
"""DigitalOcean's gen-ai operations the hub serves, by path and method, as files under REFERENCE
(the paths are the root document's)."""

FORMATS = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    """RFC 3339: a date, a time and a UTC offset (`datetime` reads all of them)."""
    if not isinstance(value, str):
        return True
    return "T" in value.upper() and datetime.fromisoformat(value).tzinfo is not None


FORMATS.checks("date-time", raises=ValueError)(_is_date_time)


def _file(path: Path) -> Path:
    """The file that stands for `path`: itself, or for a history snapshot the current one."""
    if path.exists() or not path.is_relative_to(HISTORY):
        return path
    snapshot_relative = path.relative_to(HISTORY).parts[1:]
    return REFERENCE.joinpath(*snapshot_relative)


@functools.cache
def _document(path: Path) -> Any:
    """The YAML file at `path`; skips (or fails) the test if the reference is not here."""
    reference_dir(NAME)
    if not path.exists():
        raise FileNotFoundError(f"{path} is not in the reference; see {REFERENCE}/SOURCE.txt")
    return yaml.load(path.read_text(), Loader=yaml.CSafeLoader)


def _path_of(uri: str) -> Path:
    return _file(Path(unquote(urlsplit(uri).path)))


def _retrieve(uri: str) -> Resource[Any]:
    return Resource.from_contents(_document(_path_of(uri)), default_specification=DRAFT202012)


# `retrieve` is the documented keyword; mypy sees only the attrs field `_retrieve`.
REGISTRY: Registry[Any] = Registry(retrieve=_retrieve)  # type: ignore[call-arg]


def _uri(relative: str) -> str:
    return (REFERENCE / relative).as_uri()


def _node(uri: str) -> Any:
    """What `uri` (a file URI, perhaps with a JSON pointer fragment) points at."""
    node = _document(_path_of(uri))
    for part in filter(None, urlsplit(uri).fragment.split("/")):
        key = unquote(part).replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def _follow(uri: str) -> str:
    """The URI of what `uri` names, after following any `$ref`s (as responses use)."""
    while isinstance(node := _node(uri), dict) and "$ref" in node:
        uri = urljoin(uri, node["$ref"])
    return uri


def _child(uri: str, *parts: str) -> str:
    """`uri` with JSON pointer `parts` appended to its fragment."""
    pointer = "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)
    return f"{uri}{'' if '#' in uri else '#'}{pointer}"


def _response(operation: str, status: int) -> str:
    """The URI of the operation's response for `status`, or its `default` response."""
    responses = _node(_child(_uri(operation), "responses"))
    key = str(status) if str(status) in responses else "default"
    return _follow(_child(_uri(operation), "responses", key))


def _validator(uri: str) -> Draft202012Validator:
    return Draft202012Validator({"$ref": uri}, registry=REGISTRY, format_checker=FORMATS)


@functools.cache
def response_validator(operation: str, status: int) -> Draft202012Validator:
    """A validator of the JSON body of `operation`'s `status` response (path under REFERENCE)."""
    response = _response(operation, status)
    return _validator(_child(response, "content", "application/json", "schema"))


@functools.cache
def schema_validator(document: str, name: str) -> Draft202012Validator:
    """A validator of the top-level schema `name` of `document` (path under REFERENCE)."""
    return _validator(_child(_uri(document), name))


def schema_properties(document: str, name: str) -> set[str]:
    """The property names that schema `name` of `document` lists."""
    return set(_node(_follow(_child(_uri(document), name)))["properties"])


def bundle(operations: dict[tuple[str, str], str]) -> dict[str, Any]:
    """One self-contained OpenAPI document of `operations` ((path, method) -> file under
    REFERENCE), every `$ref` inlined, with the root document's `bearer_auth` scheme.

    ValueError if a schema refers to itself (it could not be inlined)."""
    paths: dict[str, dict[str, Any]] = {}
    for (path, method), operation in operations.items():
        uri = _uri(operation)
        paths.setdefault(path, {})[method] = _inlined(_node(uri), uri, ())
    schemes = _child(_uri(ROOT), "components", "securitySchemes")
    return {
        "openapi": _node(_child(_uri(ROOT), "openapi")),
        "info": {"title": "DigitalOcean's gen-ai operations", "version": "reference"},
        "paths": paths,
        "components": {"securitySchemes": _inlined(_node(schemes), schemes, ())},
    }


def _inlined(node: Any, base: str, seen: tuple[str, ...]) -> Any:
    """`node` (found at URI `base`) with each `$ref` replaced by what it names."""
    if isinstance(node, list):
        return [_inlined(item, base, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = urljoin(base, node["$ref"])
        if target in seen:
            raise ValueError(f"{target} refers to itself")
        return _inlined(_node(target), target, (*seen, target))
    return {key: _inlined(value, base, seen) for key, value in node.items()}


def check_response(operation: str, response: httpx.Response) -> None:
    """Raise if the body or a declared header breaks the reference's response for its status."""
    response_validator(operation, response.status_code).validate(response.json())
    declared = _child(_response(operation, response.status_code), "headers")
    for name in _node(declared) or {}:
        assert name in response.headers, f"{operation}: no {name} header"
        header = _node(_follow(_child(declared, name)))
        if header.get("schema", {}).get("type") == "integer":
            assert response.headers[name].isdigit(), f"{name}: {response.headers[name]!r}"
