"""Bad input gets a clean 4xx that says what is wrong, and changes nothing.

The cases share a team with one key; after each, the key list and the audit log must be as
they were when the key was made, and the key's secret must still work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.support.hub import Hub
from tests.support.verify import Verifier

BASE = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"
UNKNOWN = "123e4567-e89b-12d3-a456-426614174000"
JSON = {"content-type": "application/json"}


@dataclass(frozen=True)
class Case:
    """A request (`{key}` in the path or body stands for the team's key) and the refusal."""

    method: str
    path: str
    status: int
    says: tuple[str, ...]
    """What the error message must name (each, in any case): what is wrong."""
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)

    def send(self, api: httpx.Client, key_id: str) -> httpx.Response:
        body = self.json
        if isinstance(body, dict) and body.get("api_key_uuid") == "{key}":
            body = {**body, "api_key_uuid": key_id}
        return api.request(
            self.method,
            self.path.format(key=key_id),
            json=body,
            content=self.content,
            headers=self.headers,
            params=self.params,
        )


def _names(method: str, path: str) -> list[Case]:
    """Every bad name, sent as the `name` of a create or a rename."""
    bad: list[tuple[Any, tuple[str, ...]]] = [
        ("x" * 65, ("at most 64 characters",)),
        (" " + "é" * 65 + " ", ("at most 64 characters",)),
        ("x" * 10_000, ("at most 64 characters",)),
        ("", ("must not be empty",)),
        ("   \t\n ", ("must not be empty",)),
        ("a\x00b", ("control characters (U+0000",)),
        ("line\nbreak", ("control characters (U+000A",)),
        ("bell\x07", ("control characters (U+0007",)),
        ("del\x7f", ("control characters (U+007F",)),
        ("next\x85line", ("control characters (U+0085",)),
        ("abc\u202egnp.exe", ("U+202E RIGHT-TO-LEFT OVERRIDE (a bidirectional control) at 3",)),
        ("\u2067x\u2069", ("U+2067 RIGHT-TO-LEFT ISOLATE (a bidirectional control) at 0",)),
        ("mark\u200f", ("U+200F RIGHT-TO-LEFT MARK (a bidirectional mark) at 4",)),
        ("zero\u200bwidth", ("U+200B ZERO WIDTH SPACE (a zero-width character) at 4",)),
        ("\ufeffbom", ("U+FEFF ZERO WIDTH NO-BREAK SPACE (a zero-width character) at 0",)),
        (12, ("name", "string")),
        (None, ("name", "string")),
        (["a"], ("name", "string")),
        ({"a": 1}, ("name", "string")),
        (True, ("name", "string")),
    ]
    return [Case(method, path, 400, says, json={"name": name}) for name, says in bad]


PAGES: list[tuple[dict[str, Any], tuple[str, ...]]] = [
    ({"page": 0}, ("page must be 1 or more",)),
    ({"page": -1}, ("page must be 1 or more",)),
    ({"page": "abc"}, ("page", "integer")),
    ({"page": "1.5"}, ("page", "integer")),
    ({"per_page": "120.0"}, ("per_page must be a whole number",)),
    ({"per_page": ["20", "30"]}, ("per_page is given more than once",)),
    ({"per_page": 0}, ("per_page must be between 1 and 200",)),
    ({"per_page": -5}, ("per_page must be between 1 and 200",)),
    ({"per_page": 201}, ("per_page must be between 1 and 200",)),
    ({"per_page": 10**9}, ("per_page must be between 1 and 200",)),
    ({"per_page": "1e9"}, ("per_page", "integer")),
]

_RENAME = BASE + "/{key}"
CASES: list[Case] = [
    *_names("POST", BASE),
    *_names("PUT", _RENAME),
    Case("POST", BASE, 413, ("larger than",), json={"name": "x" * 2_000_000}),
    Case("PUT", _RENAME, 413, ("larger than",), json={"name": "x" * 2_000_000}),
    Case("POST", BASE, 400, ("name", "required"), json={}),
    Case("POST", BASE, 400, ("name", "required"), json={"nmae": "typo"}),
    Case("PUT", _RENAME, 400, ("name",), json={"api_key_uuid": "{key}"}),
    Case("POST", BASE, 400, ("not valid JSON",), content=b'{"name": ', headers=JSON),
    Case("POST", BASE, 400, ("not valid JSON",), content=b"\xff\xfe", headers=JSON),
    Case("PUT", _RENAME, 400, ("not valid JSON",), content=b"{'name': 'x'}", headers=JSON),
    Case("POST", BASE, 400, ("object",), json=[{"name": "in an array"}]),
    Case("POST", BASE, 400, ("object",), json="just a string"),
    Case("POST", BASE, 400, ("U+D800",), content=b'{"name": "a\\ud800b"}', headers=JSON),
    Case("POST", BASE, 400, ("models",), json={"name": "m", "models": "gpt"}),
    Case(
        "PUT",
        _RENAME,
        400,
        ("does not match the path",),
        json={"api_key_uuid": UNKNOWN, "name": "y"},
    ),
    Case(
        "PUT", _RENAME, 400, ("does not match the path",), json={"api_key_uuid": "x", "name": "y"}
    ),
    Case(
        "PUT",
        _RENAME,
        400,
        ("api_key_uuid", "string"),
        json={"api_key_uuid": 5, "name": "y"},
    ),
    *[
        Case(method, BASE + path, 404, ("could not be found",), json=body)
        for method, path, body in [
            ("GET", f"/{UNKNOWN}", None),
            ("PUT", f"/{UNKNOWN}", {"name": "y"}),
            ("PUT", f"/{UNKNOWN}/regenerate", None),
            ("DELETE", f"/{UNKNOWN}", None),
        ]
    ],
    *[
        Case(
            method,
            BASE + path.format(bad),
            400,
            ("api_key_uuid", "UUID"),
            json=body,
        )
        for bad in ["not-a-uuid", "123", "z" * 36, UNKNOWN + "0", UNKNOWN[:-1], "%20"]
        for method, path, body in [
            ("GET", "/{}", None),
            ("PUT", "/{}", {"name": "y"}),
            ("PUT", "/{}/regenerate", None),
            ("DELETE", "/{}", None),
        ]
    ],
    *[
        Case("GET", path, 400, says, params=params)
        for path in (BASE, AUDIT)
        for params, says in PAGES
    ],
]


def _state(api: httpx.Client) -> tuple[Any, Any]:
    keys = api.get(BASE, params={"per_page": 200}).json()
    audit = api.get(AUDIT, params={"per_page": 200}).json()
    return keys, audit


@dataclass(frozen=True)
class Target:
    """A team's client and its one key, shared by the cases: none may change either."""

    api: httpx.Client
    key_id: str
    secret: str
    state: tuple[Any, Any]


@pytest.fixture(scope="module")
def target(hub: Hub) -> Iterator[Target]:
    with hub.client(hub.new_team().token) as api:
        key = api.post(BASE, json={"name": "untouched"}).json()["api_key_info"]
        yield Target(api, key["uuid"], key["secret_key"], _state(api))


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.method} {c.path} {' '.join(c.says)} {i}" for i, c in enumerate(CASES)]
)
def test_bad_input_is_refused_cleanly(target: Target, verifier: Verifier, case: Case) -> None:
    response = case.send(target.api, target.key_id)

    assert response.status_code == case.status, response.text
    body = response.json()
    assert set(body) == {"id", "message", "request_id"}
    assert (
        body["id"] == {400: "bad_request", 404: "not_found", 413: "payload_too_large"}[case.status]
    )
    assert body["request_id"] == response.headers["x-request-id"]
    for fragment in case.says:
        assert fragment.lower() in body["message"].lower()
    assert _state(target.api) == target.state
    assert verifier.accepts(target.secret)


def test_a_deleted_key_is_not_found_for_everything(api: httpx.Client) -> None:
    key_id = api.post(BASE, json={"name": "gone"}).json()["api_key_info"]["uuid"]
    assert api.delete(f"{BASE}/{key_id}").status_code == 200
    before = _state(api)
    for method, path, body in [
        ("GET", f"{BASE}/{key_id}", None),
        ("PUT", f"{BASE}/{key_id}", {"name": "revived"}),
        ("PUT", f"{BASE}/{key_id}/regenerate", None),
        ("DELETE", f"{BASE}/{key_id}", None),
    ]:
        response = api.request(method, path, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["id"] == "not_found"
    assert _state(api) == before


@pytest.mark.parametrize("path", [BASE, AUDIT])
def test_a_page_far_past_the_end_is_empty_not_an_error(api: httpx.Client, path: str) -> None:
    for page in (10**6, 10**30):
        response = api.get(path, params={"page": page})
        assert response.status_code == 200, response.text
        assert response.json()["meta"]["page"] == page
        assert next(v for k, v in response.json().items() if k not in ("links", "meta")) == []
