"""Revoke propagation: from a regenerate or delete response to every replica refusing.

Run by `replicas.py` on its cluster, for regenerate and for delete, `rounds` times each, the
revoking replica taking turns, with keys that have every limit set:
- **probe**: each replica serves the key a chat completion (its cache now holds the key),
  the revoke, then, the moment its response has been read, one chat request with the old
  secret to each other replica, written back to back. Each must be refused.
- **loop**: on every replica (the revoking one too), a loop of `GET /v1/models` with the
  key's secret (the key check and nothing else, so that each turn is short), one at a time
  on a keep-alive connection, started before the revoke; once each loop has been served,
  the revoke; each loop goes on until three of its requests were written after the response.
Times are the client's monotonic clock: a request's when its first byte is written, the
revoke response's when its last byte has been read (so at or after the replica sent it). A
request written after that must be refused: those accepted are counted (target: none).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from chat import body
from cluster import CHAT, KEYS, Cluster
from harness import markdown_table

KINDS = ("regenerate", "delete")
BODY = body("plain")
MODELS = "/v1/models"
"""What the loops ask for: a key verification and nothing else, so that they turn fast."""
AFTER = 3
"""Requests each loop writes after the revoke's response before it stops."""
PATIENCE = 10.0
"""Seconds a loop may wait to be served, or to see its requests after the response."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    sent: float
    received: float
    body: bytes


class Connection:
    """One keep-alive HTTP/1.1 connection: a request written at once, its answer read whole."""

    def __init__(self, port: int) -> None:
        self._port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def call(
        self, method: str, path: str, payload: bytes | None, secret: str | None
    ) -> Answer:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection("127.0.0.1", self._port)
        assert self._reader is not None
        content = payload or b""
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        head += f"Content-Type: application/json\r\nContent-Length: {len(content)}\r\n"
        if secret:
            head += f"Authorization: Bearer {secret}\r\n"
        sent = time.monotonic()
        self._writer.write(head.encode() + b"\r\n" + content)
        await self._writer.drain()
        lines = (await self._reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:] if x)}
        data = await self._reader.readexactly(int(headers["content-length"]))
        received = time.monotonic()
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return Answer(int(lines[0].split(" ", 2)[1]), sent, received, data)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()
            self._reader = self._writer = None


async def _revoke(api: Connection, kind: str, key_id: str, token: str) -> Answer:
    if kind == "regenerate":
        done = await api.call("PUT", f"{KEYS}/{key_id}/regenerate", None, token)
    else:
        done = await api.call("DELETE", f"{KEYS}/{key_id}", None, token)
    if done.status != 200:
        raise RuntimeError(f"{kind}: HTTP {done.status} {done.body[:300]!r}")
    return done


@dataclass
class Round:
    """One revoke and the old secret's answers on each replica, in the order written."""

    kind: str
    revoke: Answer
    answers: list[list[Answer]]
    """Per replica; for a probe round, only the probe (none on the revoking replica)."""

    @property
    def at(self) -> float:
        return self.revoke.received

    def after(self) -> list[Answer]:
        """Old-secret requests written after the response."""
        return [a for log in self.answers for a in log if a.sent > self.at]

    def accepted_after(self) -> int:
        return sum(1 for a in self.after() if a.status == 200)

    def in_flight(self) -> int:
        """Served, answered after the response, written before it: allowed by the design."""
        served = [a for log in self.answers for a in log if a.status == 200]
        return sum(1 for a in served if a.sent <= self.at < a.received)

    def flips(self) -> int:
        """Acceptances after a refusal on the same replica (there should be none)."""
        flipped = 0
        for log in self.answers:
            refused = False
            for a in log:
                refused = refused or a.status == 401
                flipped += refused and a.status == 200
        return flipped

    def refused_before(self) -> int:
        """Refusals read before the revoke's response was: the change was visible already."""
        refused = [a for log in self.answers for a in log if a.status == 401]
        return sum(1 for a in refused if a.received < self.at)

    def last_acceptance(self) -> float | None:
        """When the last accepted request was written, relative to the response (s)."""
        sent = [a.sent for log in self.answers for a in log if a.status == 200]
        return max(sent) - self.at if sent else None

    def first_refusals(self) -> list[float]:
        """When each replica's first refusal was written, relative to the response (s)."""
        return [
            min(a.sent for a in log if a.status == 401) - self.at for log in self.answers if log
        ]

    def first_refusals_read(self) -> list[float]:
        """When each replica's first refusal was read, relative to the response (s)."""
        return [
            min(a.received for a in log if a.status == 401) - self.at for log in self.answers if log
        ]


@dataclass
class Lanes:
    connections: list[Connection]
    apis: list[Connection]
    rounds: dict[tuple[str, str], list[Round]] = field(default_factory=dict)

    async def close(self) -> None:
        for connection in [*self.connections, *self.apis]:
            await connection.close()


async def _served(connection: Connection, secret: str) -> Answer:
    answer = await connection.call("POST", CHAT, BODY, secret)
    if answer.status != 200:
        raise RuntimeError(f"warming a replica: HTTP {answer.status} {answer.body[:300]!r}")
    return answer


Key = tuple[str, str]
"""A key's id and its current secret."""


async def probe_round(cluster: Cluster, lanes: Lanes, kind: str, key: Key, i: int) -> Round:
    key_id, secret = key
    revoker = i % len(cluster.ports)
    for connection in lanes.connections:
        await _served(connection, secret)
    done = await _revoke(lanes.apis[revoker], kind, key_id, cluster.token)
    probes = await asyncio.gather(
        *(
            c.call("POST", CHAT, BODY, secret)
            for j, c in enumerate(lanes.connections)
            if j != revoker
        )
    )
    others = iter(probes)
    answers = [[] if j == revoker else [next(others)] for j in range(len(cluster.ports))]
    return Round(kind, done, answers)


async def loop_round(cluster: Cluster, lanes: Lanes, kind: str, key: Key, i: int) -> Round:
    key_id, secret = key
    logs: list[list[Answer]] = [[] for _ in cluster.ports]
    served = [asyncio.Event() for _ in cluster.ports]
    revoked: list[float] = []

    async def loop(j: int) -> None:
        while True:
            answer = await lanes.connections[j].call("GET", MODELS, None, secret)
            logs[j].append(answer)
            if answer.status == 200:
                served[j].set()
            elif answer.status != 401:
                raise RuntimeError(f"replica {j}: HTTP {answer.status} {answer.body[:300]!r}")
            if revoked and sum(a.sent > revoked[0] for a in logs[j]) >= AFTER:
                return

    loops = [asyncio.create_task(loop(j)) for j in range(len(cluster.ports))]
    try:
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in served)), PATIENCE)
        done = await _revoke(lanes.apis[i % len(cluster.ports)], kind, key_id, cluster.token)
        revoked.append(done.received)
        await asyncio.wait_for(asyncio.gather(*loops), PATIENCE)
    finally:
        for task in loops:
            task.cancel()
    return Round(kind, done, logs)


async def _lanes(cluster: Cluster, rounds: int) -> dict[tuple[str, str], list[Round]]:
    lanes = Lanes(
        [Connection(port) for port in cluster.ports], [Connection(port) for port in cluster.ports]
    )
    try:
        for lane, run in (("probe", probe_round), ("loop", loop_round)):
            for kind in KINDS:
                done: list[Round] = []
                key = cluster.create_key(cluster.ports[0], f"{lane}-{kind}")
                for i in range(rounds):
                    if kind == "delete" and i:
                        key = cluster.create_key(cluster.ports[(i + 1) % len(cluster.ports)], lane)
                    found = await run(cluster, lanes, kind, key, i)
                    done.append(found)
                    if kind == "regenerate":
                        key = (key[0], json.loads(found.revoke.body)["api_key_info"]["secret_key"])
                lanes.rounds[lane, kind] = done
    finally:
        await lanes.close()
    return lanes.rounds


def _quantiles(values: Sequence[float], *, signed: bool = True) -> str:
    """p50 / p99 / max, in milliseconds; `signed` for times relative to the response."""
    ordered = sorted(values)
    pick = [ordered[max(0, round(q * len(ordered)) - 1)] for q in (0.5, 0.99)] + [ordered[-1]]
    return " / ".join(f"{v * 1e3:{'+' if signed else ''}.2f}" for v in pick)


def _trip(rounds: Sequence[Round]) -> str:
    return _quantiles([r.revoke.received - r.revoke.sent for r in rounds], signed=False)


def probe_table(found: dict[tuple[str, str], list[Round]]) -> str:
    rows = []
    for kind in KINDS:
        rounds = found["probe", kind]
        rows.append(
            [
                kind,
                str(len(rounds)),
                f"{sum(len(r.after()) for r in rounds):,}",
                str(sum(r.accepted_after() for r in rounds)),
                _quantiles([t for r in rounds for t in r.first_refusals()]),
                _quantiles([t for r in rounds for t in r.first_refusals_read()]),
                _trip(rounds),
            ]
        )
    headers = ["revoke", "rounds", "probes written after the response", "accepted"]
    headers += ["probe written, ms after the response (p50 / p99 / max)"]
    headers += ["401 read, ms after the response (p50 / p99 / max)"]
    headers += ["revoke round trip, ms (p50 / p99 / max)"]
    return markdown_table(headers, rows)


def loop_table(found: dict[tuple[str, str], list[Round]]) -> str:
    rows = []
    for kind in KINDS:
        rounds = found["loop", kind]
        answers = [a for r in rounds for log in r.answers for a in log]
        rows.append(
            [
                kind,
                str(len(rounds)),
                f"{len(answers):,}",
                f"{sum(len(r.after()) for r in rounds):,}",
                str(sum(r.accepted_after() for r in rounds)),
                str(sum(r.flips() for r in rounds)),
                f"{sum(r.in_flight() for r in rounds):,}",
                f"{sum(r.refused_before() for r in rounds):,}",
                _quantiles([t for r in rounds if (t := r.last_acceptance()) is not None]),
                _quantiles([t for r in rounds for t in r.first_refusals()]),
                _quantiles([a.received - a.sent for a in answers], signed=False),
                _trip(rounds),
            ]
        )
    headers = ["revoke", "rounds", "requests", "written after the response", "accepted"]
    headers += ["accepted after a refusal", "written before, served after the response"]
    headers += ["refused before the response"]
    headers += ["last acceptance written, ms (p50 / p99 / max)"]
    headers += ["each replica's first refusal written, ms (p50 / p99 / max)"]
    headers += ["loop request round trip, ms (p50 / p99 / max)"]
    headers += ["revoke round trip, ms (p50 / p99 / max)"]
    return markdown_table(headers, rows)


def measure(cluster: Cluster, rounds: int) -> str:
    """Both lanes, regenerate and delete, `rounds` each: the Markdown table of what was seen."""
    found = asyncio.run(_lanes(cluster, rounds))
    return probe_table(found) + "\n\n" + loop_table(found)
