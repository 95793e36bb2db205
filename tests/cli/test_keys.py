"""`modelport keys ...` and `modelport audit` against the running hub, as a user runs them.

URL and token come from `--url/--token` or from MODELPORT_URL/MODELPORT_TOKEN; the process
has no database settings at all. Results are checked through the API and the verifier.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.support.cli import Ran, assert_clean_failure, clean_env, modelport
from tests.support.hub import Hub, Team
from tests.support.verify import Verifier

KEYS = "/v2/gen-ai/models/api_keys"
SECRET = re.compile(r"\bmp_[0-9A-Za-z]{38}\b")
ONCE = "will not be shown again"


class Cli:
    """The CLI for one team: URL and token in the environment, or as options."""

    def __init__(self, hub: Hub, token: str) -> None:
        self.hub = hub
        self.token = token
        self.env = clean_env(MODELPORT_URL=hub.url, MODELPORT_TOKEN=token)

    def __call__(self, *args: str, stdin: str = "") -> Ran:
        return modelport(self.hub, *args, env=self.env, stdin=stdin)

    def with_options(self, *args: str) -> Ran:
        """The same command with --url/--token and nothing in the environment."""
        flags = ("--url", self.hub.url, "--token", self.token)
        return modelport(self.hub, *args, *flags, env=clean_env())


@pytest.fixture
def cli(hub: Hub, team: Team) -> Cli:
    return Cli(hub, team.token)


def table(ran: Ran) -> list[dict[str, str]]:
    """The rows of a table the CLI printed, by lowercased column name."""
    assert ran.code == 0, ran.err
    header, *rows = ran.lines
    starts = [m.start() for m in re.finditer(r"\S+", header)]
    names = header.lower().split()
    cells = [
        [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)] for row in rows
    ]
    return [dict(zip(names, values, strict=True)) for values in cells]


def one_secret(ran: Ran) -> str:
    """The one secret a command printed, with the warning that it is shown only now."""
    assert ran.code == 0, ran.err
    found = SECRET.findall(ran.out)
    assert len(found) == 1, ran.out
    assert ONCE in ran.err
    return str(found[0])


def as_json(ran: Ran) -> dict[str, Any]:
    assert ran.code == 0, ran.err
    data: dict[str, Any] = json.loads(ran.out)
    return data


def test_key_lifecycle_through_the_cli(cli: Cli, api: httpx.Client, verifier: Verifier) -> None:
    created = cli.with_options("keys", "create", "ci key")
    [row] = table(created)
    first_secret = one_secret(created)
    assert (row["name"], row["secret_key"]) == ("ci key", first_secret)
    key_id = row["uuid"]
    assert verifier.accepts(first_secret)

    listed = cli("keys", "list")
    assert [r["uuid"] for r in table(listed)] == [key_id]
    assert listed.err == "1 in all\n"
    assert SECRET.search(listed.out) is None

    assert as_json(cli("keys", "get", key_id, "-o", "json")) == api.get(f"{KEYS}/{key_id}").json()

    renamed = table(cli.with_options("keys", "rename", key_id, "deploy key"))
    assert renamed[0]["name"] == "deploy key"
    assert api.get(f"{KEYS}/{key_id}").json()["api_key_info"]["name"] == "deploy key"

    regenerated = cli("keys", "regenerate", key_id, stdin="deploy key\n")
    second_secret = one_secret(regenerated)
    assert second_secret != first_secret
    assert "Type the key's name (deploy key)" in regenerated.err
    assert not verifier.accepts(first_secret)
    assert verifier.accepts(second_secret)

    deleted = as_json(cli("keys", "delete", key_id, "--confirm", "deploy key", "-o", "json"))
    assert deleted["api_key_info"]["deleted_at"]
    assert api.get(f"{KEYS}/{key_id}").status_code == 404
    assert not verifier.accepts(second_secret)

    events = table(cli.with_options("audit"))
    assert [(e["action"], e["target_uuid"]) for e in events] == [
        (action, key_id) for action in ("key.delete", "key.regenerate", "key.rename", "key.create")
    ]
    assert events[0]["target_name"] == "deploy key"
    assert events[-1]["actor"] == "token:rw"


def test_json_output_is_for_scripts(cli: Cli, api: httpx.Client) -> None:
    """create -o json prints the key and its secret as JSON; the warning goes to stderr."""
    created = cli("keys", "create", "scripted", "-o", "json")
    info = as_json(created)["api_key_info"]
    assert info["secret_key"] == one_secret(created)
    listed = as_json(cli("keys", "list", "-o", "json"))
    every = api.get(KEYS, params={"per_page": 200}).json()
    assert listed == {"api_key_infos": every["api_key_infos"], "meta": {"total": 1}}
    assert "secret_key" not in listed["api_key_infos"][0]


def test_a_wrong_name_aborts_and_changes_nothing(
    cli: Cli, api: httpx.Client, verifier: Verifier
) -> None:
    info = api.post(KEYS, json={"name": "precious"}).json()["api_key_info"]
    key_id, secret = info["uuid"], info["secret_key"]

    typed_wrong = cli("keys", "regenerate", key_id, stdin="precius\n")
    assert_clean_failure(typed_wrong, "does not match", "nothing was changed", prompted=True)
    confirmed_wrong = cli("keys", "delete", key_id, "--confirm", "Precious")
    assert_clean_failure(confirmed_wrong, "does not match", "nothing was changed")

    assert api.get(f"{KEYS}/{key_id}").json()["api_key_info"] == {
        k: v for k, v in info.items() if k != "secret_key"
    }
    assert verifier.accepts(secret)
    audit = api.get("/v2/gen-ai/audit_events").json()["audit_events"]
    assert [e["action"] for e in audit] == ["key.create"]


def test_errors_are_one_clean_line(hub: Hub, cli: Cli, team: Team) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    stranger = Cli(hub, "mpt_" + "x" * 38)
    reader = Cli(hub, team.read_only_token)
    unreachable = clean_env(MODELPORT_URL="http://127.0.0.1:1", MODELPORT_TOKEN=team.token)
    cases: list[tuple[Callable[[], Ran], tuple[str, ...]]] = [
        (lambda: cli("keys", "get", unknown), ("not_found", "404")),
        (lambda: cli("keys", "delete", unknown, "--confirm", "x"), ("not_found", "404")),
        (lambda: cli("keys", "rename", "not-a-uuid", "x"), ("bad_request", "400")),
        (lambda: cli("keys", "create", " "), ("name must not be empty", "400")),
        (lambda: stranger("keys", "list"), ("unauthorized", "401")),
        (lambda: reader("keys", "create", "nope"), ("forbidden", "403")),
        (lambda: modelport(hub, "keys", "list", env=clean_env()), ("no API token",)),
        (lambda: modelport(hub, "audit", env=unreachable), ("cannot reach",)),
    ]
    # Independent processes: run them side by side, then look at each.
    with ThreadPoolExecutor(4) as pool:
        ran = list(pool.map(lambda case: case[0](), cases))
    for result, (_, says) in zip(ran, cases, strict=True):
        assert_clean_failure(result, *says)
        assert stranger.token not in result.err
        assert team.token not in result.err
