"""`GET /v1/key` on replicas sharing Redis: any replica reads the minute every replica counted."""

from __future__ import annotations

from decimal import Decimal

from tests.faults.conftest import Cluster
from tests.faults.helpers import CHAT, Evidence, bearer, chat_body, create_key, v1_client
from tests.support.loop import BackgroundLoop
from tests.support.usage import whole_window


def test_every_replica_reads_the_shared_counters_and_spend(
    cluster: Cluster, loop: BackgroundLoop
) -> None:
    api = cluster.api(cluster.team(), 0)
    key = create_key(api, "paced", rpm_limit=20, tpm_limit=5000, monthly_spend_limit="1")
    secret = key["secret_key"]
    whole_window()
    with v1_client() as client:
        for replica in cluster.replicas:  # one request on each replica
            sent = client.post(replica.url + CHAT, json=chat_body(), headers=bearer(secret))
            assert sent.status_code == 200, sent.text
        states = [
            client.get(replica.url + "/v1/key", headers=bearer(secret)).json()
            for replica in cluster.replicas
        ]
    evidence = Evidence(cluster.database_url, loop)
    try:
        spend = Decimal(evidence.spend(key["uuid"])) / 10**12
    finally:
        evidence.close()
    for state in states:
        assert state["rate_limits"]["requests"]["remaining"] == 20 - len(cluster.replicas)
        assert Decimal(state["spend"]["this_month_usd"]) == spend > 0
    assert states[0] == {**states[-1], "rate_limits": states[0]["rate_limits"]}
