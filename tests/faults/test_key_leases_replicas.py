"""Three replicas on leases: a partition, a stopped replica, a killed Redis; never an old secret.

Replicas trust their caches with no Redis round trip while their lease holds
(`docs/design/leases.md`). Each replica of the fault cluster reaches Redis through a relay of
its own, which a test can cut, as a network partition between that replica and Redis would.
In every test, each revoked secret is presented to every replica (the revoking one
included) after the revoke's response: it must be refused each time. Warm-ups first make
each replica cache the secret, so that a refusal has to come from the lease protocol, not
from an empty cache.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from modelport.infra.leases import FORGET_SECONDS, LEASE_SECONDS, MARGIN_SECONDS
from modelport.keys.limits import MAX_CREDIT_USD, MAX_TOP_UP_USD
from tests.faults.conftest import REPLICAS, Cluster
from tests.faults.helpers import (
    CHAT,
    KEYS,
    bearer,
    chat_body,
    create_key,
    models_status,
    v1_client,
    wait_until,
)
from tests.support.hub import Team

ROUNDS = 6
"""Revokes per phase; each checks every replica, so a phase presents 3 x ROUNDS old secrets."""


@dataclass
class Seen:
    """Old secrets presented after their revoke's response: refused, or (never) accepted."""

    refused: int = 0
    accepted: list[str] = field(default_factory=list)

    def assert_held(self, rounds: int) -> None:
        assert self.accepted == [], f"old secret accepted {len(self.accepted)} times"
        assert self.refused == rounds * REPLICAS


class LeaseCluster:
    """The fault cluster seen by these tests: each replica behind its cuttable relay."""

    def __init__(self, cluster: Cluster, team: Team) -> None:
        self.replicas = cluster.replicas
        self.relays = cluster.relays
        self.redis = cluster.redis
        self.urls = [r.url for r in cluster.replicas]
        self.apis = [cluster.api(team, i) for i in range(len(self.urls))]
        self.v1 = v1_client()

    def warm(self, secret: str) -> None:
        for url in self.urls:
            assert models_status(self.v1, url, secret) == 200, f"warming {url}"

    def revoke_round(self, revoker: int, seen: Seen) -> float:
        """Create and warm a key, regenerate it through `revoker`, then present the old
        secret to every replica; the seconds the regenerate took."""
        key = create_key(self.apis[(revoker + 1) % REPLICAS])
        self.warm(key["secret_key"])
        started = time.monotonic()
        done = self.apis[revoker].put(f"{KEYS}/{key['uuid']}/regenerate")
        took = time.monotonic() - started
        assert done.status_code == 200, done.text
        self.present(key["secret_key"], seen, f"revoked through {self.urls[revoker]}")
        return took

    def present(self, secret: str, seen: Seen, how: str, first: int = 0) -> None:
        """Present `secret` to every replica, starting with replica `first`."""
        for url in self.urls[first:] + self.urls[:first]:
            status = models_status(self.v1, url, secret)
            if status == 401:
                seen.refused += 1
            else:
                seen.accepted.append(f"{how}, then {url} answered {status}")

    def all_hold_leases(self) -> bool:
        """Every replica reports its lease holding (the /metrics gauge)."""
        return all(_lease_gauge(self.v1, url) == 1 for url in self.urls)


def _lease_gauge(client: httpx.Client, url: str) -> float:
    for line in client.get(url + "/metrics").text.splitlines():
        if line.startswith("modelport_key_cache_lease "):
            return float(line.split()[1])
    raise AssertionError(f"no lease gauge on {url}")


@pytest.fixture(scope="module")
def leased(cluster: Cluster) -> Iterator[LeaseCluster]:
    running = LeaseCluster(cluster, cluster.team())
    try:
        # A replica killed by an earlier test (-9) is a silent peer until it is forgotten.
        wait_until(running.all_hold_leases, "every replica to hold its lease", FORGET_SECONDS + 15)
        # A Redis that just (re)started makes revokes wait out leases an earlier one held.
        time.sleep(LEASE_SECONDS)
        yield running
    finally:
        running.v1.close()
        for relay_ in running.relays:
            relay_.restore()
        for replica in running.replicas:
            with contextlib.suppress(ProcessLookupError):
                replica.signal(signal.SIGCONT)
        cluster.redis.ensure_started()


def test_control_replicas_hold_leases_and_answer_revokes_at_once(leased: LeaseCluster) -> None:
    """With every replica present, a revoke waits only for acknowledgements: milliseconds."""
    seen = Seen()
    took = [leased.revoke_round(i % REPLICAS, seen) for i in range(ROUNDS)]
    seen.assert_held(ROUNDS)
    assert max(took) < LEASE_SECONDS / 2, f"revokes took {took}"


def _verified(client: httpx.Client, url: str) -> dict[str, float]:
    """Accepted verifications of a replica so far, by source (cache, database)."""
    return {
        sample.labels["source"]: sample.value
        for family in text_string_to_metric_families(client.get(url + "/metrics").text)
        if family.name == "modelport_key_verifications"
        for sample in family.samples
        if sample.name == "modelport_key_verifications_total"
    }


def test_a_changed_key_is_read_once_by_each_replica_then_cached(leased: LeaseCluster) -> None:
    """A limit change through one replica marks the key on all; its settle, announced before
    its response, lets each replica trust its cache again after one read of the key, not
    after the mark's 11 minutes of database reads; and what each caches is the new limit."""
    key = create_key(leased.apis[0], "changing", rpm_limit=100)
    secret = key["secret_key"]
    leased.warm(secret)
    changed = leased.apis[1].put(f"{KEYS}/{key['uuid']}", json={"rpm_limit": 1})
    assert changed.status_code == 200, changed.text
    time.sleep(0.5)  # each replica's stream reader takes the settle in (milliseconds)
    grew = _checks_per_replica(leased, secret)
    assert [g.get("database", 0.0) for g in grew] == [1.0] * REPLICAS, grew
    assert [g.get("cache", 0.0) for g in grew] == [4.0] * REPLICAS, grew
    # One request a minute now, counted across the replicas (their cached limit is 1, not 100).
    statuses = [
        leased.v1.post(url + CHAT, json=chat_body(), headers=bearer(secret)) for url in leased.urls
    ]
    assert [s.status_code for s in statuses] == [200] + [429] * (REPLICAS - 1)


def _checks_per_replica(leased: LeaseCluster, secret: str) -> list[dict[str, float]]:
    """Five key checks on each replica: the verifications each made, by source."""
    before = [_verified(leased.v1, url) for url in leased.urls]
    for url in leased.urls:
        for _ in range(5):
            assert models_status(leased.v1, url, secret) == 200
    after = [_verified(leased.v1, url) for url in leased.urls]
    return [
        {source: count - was.get(source, 0.0) for source, count in now.items()}
        for was, now in zip(before, after, strict=True)
    ]


def test_a_refused_top_up_is_released_at_once_on_every_replica(leased: LeaseCluster) -> None:
    """A top-up past the credit ceiling marks the key, then rolls back: its release lets
    each replica trust its cache again after one read, as a committed change does."""
    key = create_key(leased.apis[0], "full")
    credit = f"{KEYS}/{key['uuid']}/credit"
    for _ in range(MAX_CREDIT_USD // MAX_TOP_UP_USD):
        assert leased.apis[0].post(credit, json={"amount_usd": MAX_TOP_UP_USD}).status_code == 200
    leased.warm(key["secret_key"])
    refused = leased.apis[1].post(credit, json={"amount_usd": 1})
    assert refused.status_code == 400, refused.text
    time.sleep(0.5)  # each replica's stream reader takes the release in (milliseconds)
    grew = _checks_per_replica(leased, key["secret_key"])
    assert [g.get("database", 0.0) for g in grew] == [1.0] * REPLICAS, grew
    assert [g.get("cache", 0.0) for g in grew] == [4.0] * REPLICAS, grew


def test_a_replica_partitioned_from_redis_never_accepts_an_old_secret(
    leased: LeaseCluster,
) -> None:
    """Replica 2 is cut off from Redis. Revokes through the others and through it."""
    seen = Seen()
    cut = leased.relays[2]
    cut.cut()
    try:
        for round_ in range(ROUNDS):
            leased.revoke_round(round_ % REPLICAS, seen)
    finally:
        cut.restore()
    seen.assert_held(ROUNDS)
    wait_until(leased.all_hold_leases, "every lease to hold again", 10)
    after = Seen()
    for round_ in range(REPLICAS):
        leased.revoke_round(round_, after)
    after.assert_held(REPLICAS)


def test_a_revoke_through_a_partitioned_replica_reaches_the_others(leased: LeaseCluster) -> None:
    """The old exception: only the revoker is cut off, the others still trust Redis. They
    must refuse the old secret once the revoke has answered, however long that takes."""
    wait_until(leased.all_hold_leases, "every lease to hold", 10)
    seen = Seen()
    cut = leased.relays[0]
    key = create_key(leased.apis[1])
    leased.warm(key["secret_key"])
    cut.cut()
    try:
        started = time.monotonic()
        done = leased.apis[0].put(f"{KEYS}/{key['uuid']}/regenerate")
        took = time.monotonic() - started
        assert done.status_code == 200, done.text
        leased.present(key["secret_key"], seen, "revoked through the partitioned replica")
    finally:
        cut.restore()
    seen.assert_held(1)
    assert took < 2 * LEASE_SECONDS + 3, f"the revoke took {took:.1f}s"
    wait_until(leased.all_hold_leases, "every lease to hold again", 10)
    leased.present(key["secret_key"], seen, "after the partition healed")
    seen.assert_held(2)


def test_a_replica_on_a_slow_link_hears_every_revoke_before_it_answers(
    leased: LeaseCluster,
) -> None:
    """Replica 2 hears of revocations 150 ms late, yet renews its lease: a revoke must wait
    for its acknowledgement, or it would still accept the old secret right after."""
    wait_until(leased.all_hold_leases, "every lease to hold", 10)
    seen = Seen()
    slow = leased.relays[2]
    slow.delay = 0.15
    try:
        time.sleep(2 * LEASE_SECONDS)  # connections opened before now were fast
        assert leased.all_hold_leases(), "a slow link still renews the lease"
        for round_ in range(REPLICAS):
            key = create_key(leased.apis[round_])
            leased.warm(key["secret_key"])
            done = leased.apis[round_ % 2].put(f"{KEYS}/{key['uuid']}/regenerate")
            assert done.status_code == 200, done.text
            leased.present(key["secret_key"], seen, "revoked while replica 2 heard late", 2)
    finally:
        slow.delay = 0.0
    seen.assert_held(REPLICAS)


def test_a_stopped_replica_delays_a_revoke_by_a_lease_and_refuses_when_resumed(
    leased: LeaseCluster,
) -> None:
    wait_until(leased.all_hold_leases, "every lease to hold", 10)
    stopped = leased.replicas[1]
    key = create_key(leased.apis[0])
    warmed_last = datetime.now(UTC)
    leased.warm(key["secret_key"])
    # Each replica records the key's last use in the background, in a transaction that
    # locks the key's row. Stopped inside it, the replica would hold the regenerate below
    # on that lock, not on its lease. Once the newest use (the last replica warmed) is
    # written, an older one updates nothing, so locks nothing.
    wait_until(
        lambda: _last_used(leased, key["uuid"]) >= warmed_last,
        "the warm-up's last use to be written",
        10,
    )
    stopped.signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        done = leased.apis[0].put(f"{KEYS}/{key['uuid']}/regenerate")
        took = time.monotonic() - started
        assert done.status_code == 200, done.text
        for url in (leased.urls[0], leased.urls[2]):
            assert models_status(leased.v1, url, key["secret_key"]) == 401
    finally:
        stopped.signal(signal.SIGCONT)
    assert took < LEASE_SECONDS + 1, f"the revoke took {took:.1f}s"
    # Its very first request since it was resumed, before it could renew anything.
    assert models_status(leased.v1, stopped.url, key["secret_key"]) == 401
    wait_until(leased.all_hold_leases, "every lease to hold again", 10)


def _last_used(leased: LeaseCluster, key_id: str) -> datetime:
    info = leased.apis[0].get(f"{KEYS}/{key_id}").json()["api_key_info"]
    value = info["last_used_at"]
    return datetime.min.replace(tzinfo=UTC) if value is None else datetime.fromisoformat(value)


def test_redis_killed_mid_run_never_lets_an_old_secret_through(leased: LeaseCluster) -> None:
    """Revokes run on while Redis is killed, stays down, and comes back empty."""
    wait_until(leased.all_hold_leases, "every lease to hold", 10)
    seen = Seen()
    failures: list[BaseException] = []

    def run() -> None:
        try:
            for round_ in range(3 * ROUNDS):
                leased.revoke_round(round_ % REPLICAS, seen)
        except BaseException as exc:  # reported below, in the test's thread
            failures.append(exc)

    running = threading.Thread(target=run)
    running.start()
    time.sleep(0.5)
    leased.redis.kill()
    time.sleep(2 * LEASE_SECONDS + MARGIN_SECONDS)
    leased.redis.start()
    running.join(120)
    assert not failures, failures
    seen.assert_held(3 * ROUNDS)
    wait_until(leased.all_hold_leases, "every lease to hold on the new Redis", 15)
    after = Seen()
    for round_ in range(REPLICAS):
        leased.revoke_round(round_, after)
    after.assert_held(REPLICAS)


LOOP_ROUNDS = 20
AFTER = 3
"""Requests each loop writes after the revoke's response before it stops."""


class KeyLoop(threading.Thread):
    """Checks one secret on one replica, one request at a time, until `AFTER` requests were
    sent after `answered_at`; keeps (time sent, status) of each."""

    def __init__(self, url: str, secret: str) -> None:
        super().__init__()
        self.url = url
        self.secret = secret
        self.answered_at = float("inf")
        self.seen: list[tuple[float, int]] = []

    def run(self) -> None:
        with v1_client() as client:
            while sum(sent > self.answered_at for sent, _ in self.seen) < AFTER:
                sent = time.monotonic()
                self.seen.append((sent, models_status(client, self.url, self.secret)))

    def late(self) -> list[int]:
        """The statuses of requests sent after the response."""
        return [status for sent, status in self.seen if sent > self.answered_at]


def test_key_checks_looping_on_every_replica_never_pass_after_a_revoke_answers(
    leased: LeaseCluster,
) -> None:
    """Revokes while every replica is checking the key in a loop: requests already in flight
    may pass, none sent after the response may. This is where a cache fill racing the
    revoke, or an acknowledgement sent too early, would show."""
    wait_until(leased.all_hold_leases, "every lease to hold", 10)
    accepted: list[str] = []
    after = 0
    for round_ in range(LOOP_ROUNDS):
        key = create_key(leased.apis[round_ % REPLICAS])
        leased.warm(key["secret_key"])
        loops = [KeyLoop(url, key["secret_key"]) for url in leased.urls]
        for loop in loops:
            loop.start()
        time.sleep(0.02)
        done = leased.apis[(round_ + 1) % REPLICAS].put(f"{KEYS}/{key['uuid']}/regenerate")
        answered_at = time.monotonic()
        for loop in loops:
            loop.answered_at = answered_at
        for loop in loops:
            loop.join(30)
        assert done.status_code == 200, done.text
        for loop in loops:
            after += len(loop.late())
            accepted += [
                f"round {round_}: {loop.url} answered {s}" for s in loop.late() if s != 401
            ]
    assert accepted == [], f"{len(accepted)} old-secret requests passed after the response"
    assert after >= LOOP_ROUNDS * REPLICAS * AFTER
