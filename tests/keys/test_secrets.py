"""A secret leaves the hub once, in the response that issues it, and nowhere else.

One lifecycle (successes, refusals and errors alike) is recorded whole: every status line,
header and body. Each secret must show up in exactly the one create or regenerate response
that issued it, and in neither the database nor the logs. Neither may the tokens used.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import httpx

from modelport.core import secrets as secret_format
from tests.support.databases import dump
from tests.support.hub import Hub, Team

BASE = "/v2/gen-ai/models/api_keys"
AUDIT = "/v2/gen-ai/audit_events"


@dataclass
class Recorder:
    """Every response a test client saw, as the text a client could read or log."""

    seen: list[str] = field(default_factory=list)

    def __call__(self, response: httpx.Response) -> None:
        response.read()
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.multi_items())
        request = response.request
        self.seen.append(
            f"{request.method} {request.url} -> {response.status_code}\n{headers}\n{response.text}"
        )

    def containing(self, text: str) -> list[int]:
        return [index for index, seen in enumerate(self.seen) if text in seen]


def _recording(hub: Hub, token: str | None, recorder: Recorder) -> httpx.Client:
    client = hub.client(token)
    client.event_hooks["response"].append(recorder)
    return client


def _body(secret: str) -> str:
    """The random part of a secret: what must not appear even with its prefix stripped."""
    prefix = secret_format.API_TOKEN_PREFIX if secret.startswith("mpt_") else "mp_"
    return secret[len(prefix) : len(prefix) + secret_format.BODY_LENGTH]


@dataclass
class Lifecycle:
    """The secrets one lifecycle issued, and the index of the response that issued each."""

    name: str
    issued_at: dict[str, int] = field(default_factory=dict)

    def issue(self, response: httpx.Response, recorder: Recorder) -> tuple[str, str]:
        assert response.status_code == 200, response.text
        info = response.json()["api_key_info"]
        self.issued_at[info["secret_key"]] = len(recorder.seen) - 1
        return info["uuid"], info["secret_key"]


def _run_lifecycle(hub: Hub, team: Team, recorder: Recorder) -> Lifecycle:
    run = Lifecycle(name="secrets-" + uuid.uuid4().hex[:8])
    unknown = str(uuid.uuid4())
    with (
        _recording(hub, team.token, recorder) as api,
        _recording(hub, team.read_only_token, recorder) as reader,
    ):
        first, first_secret = run.issue(api.post(BASE, json={"name": run.name}), recorder)
        second, second_secret = run.issue(api.post(BASE, json={"name": "other"}), recorder)
        api.get(BASE)
        api.get(BASE, params={"page": 2, "per_page": 1})
        api.get(f"{BASE}/{first}")
        api.put(f"{BASE}/{first}", json={"api_key_uuid": first, "name": run.name + "-renamed"})
        run.issue(api.put(f"{BASE}/{first}/regenerate"), recorder)
        api.get(f"{BASE}/{first}")
        reader.get(BASE)
        reader.get(f"{BASE}/{first}")
        reader.put(f"{BASE}/{first}/regenerate")
        reader.delete(f"{BASE}/{second}")
        api.get(f"{BASE}/{unknown}")
        api.put(f"{BASE}/{unknown}/regenerate")
        api.put(f"{BASE}/{first}", json={"api_key_uuid": unknown, "name": "x"})
        api.put(f"{BASE}/{first}", json={"name": "\x00"})
        api.post(BASE, content=b"{not json", headers={"content-type": "application/json"})
        api.get(BASE, params={"per_page": 0})
        api.get(f"{BASE}/not-a-uuid")
        for presented in (first_secret, second_secret):
            with _recording(hub, presented, recorder) as stolen:
                stolen.get(BASE)
        api.get(AUDIT)
        api.delete(f"{BASE}/{first}")
        api.delete(f"{BASE}/{second}")
        api.delete(f"{BASE}/{first}")
        api.get(BASE)
        reader.get(AUDIT)
    return run


def test_secrets_appear_only_in_the_responses_that_issue_them(hub: Hub, team: Team) -> None:
    recorder = Recorder()
    run = _run_lifecycle(hub, team, recorder)
    assert len(run.issued_at) == 3
    statuses = {seen.split("\n", 1)[0].rsplit(" ", 1)[1] for seen in recorder.seen}
    assert statuses >= {"200", "400", "401", "403", "404"}
    for secret, issuer in run.issued_at.items():
        assert recorder.containing(secret) == [issuer]
        assert recorder.containing(_body(secret)) == [issuer]
    for token in (team.token, team.read_only_token):
        assert recorder.containing(_body(token)) == []


def test_no_secret_or_token_is_stored_or_logged(hub: Hub, team: Team) -> None:
    run = _run_lifecycle(hub, team, Recorder())
    stored = dump(hub.database_url)
    logged = hub.logs() + hub.stderr()
    assert run.name in stored, "the dump should hold this test's keys"
    assert '"status": 401' in logged or '"status":401' in logged, "the log should hold the run"
    for secret in [*run.issued_at, team.token, team.read_only_token]:
        assert _body(secret) not in stored
        assert _body(secret) not in logged
