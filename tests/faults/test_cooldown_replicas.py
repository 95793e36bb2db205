"""A deployment's cooldown is shared by three replicas on PostgreSQL + Redis.

`test-failover` has a broken deployment tried first and a healthy one behind it. One
request on each replica fails over once: three failures, the cooldown's threshold, spread
over three processes. From then on, no replica sends the broken deployment anything, and
every request is still served, by the healthy one.
"""

from __future__ import annotations

import time

from tests.faults.conftest import Cluster
from tests.faults.helpers import CHAT, bearer, chat_body, create_key, v1_client
from tests.support.upstream import FakeUpstream

BROKEN = "fake-500"


def asked(upstream: FakeUpstream) -> int:
    return sum(1 for body in upstream.seen.bodies if body.get("model") == BROKEN)


def test_failures_spread_over_replicas_cool_the_deployment_down_for_all(
    cluster: Cluster, upstream: FakeUpstream
) -> None:
    team = cluster.team()
    secret = create_key(cluster.api(team, 0))["secret_key"]
    body = chat_body(model="test-failover")
    with v1_client() as client:
        before = asked(upstream)
        for replica in cluster.replicas:
            served = client.post(replica.url + CHAT, json=body, headers=bearer(secret))
            assert served.status_code == 200, served.text
        assert asked(upstream) - before == len(cluster.replicas), "each failed over once"
        time.sleep(1.0)  # each replica copies the shared cooldowns every half second
        tripped = asked(upstream)
        for _ in range(2):
            for replica in cluster.replicas:
                served = client.post(replica.url + CHAT, json=body, headers=bearer(secret))
                assert served.status_code == 200, served.text
        assert asked(upstream) == tripped, "no replica asked the cooling deployment again"
