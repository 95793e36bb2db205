"""Three replicas, one PostgreSQL, one Redis: a key GitHub reports to one replica is refused
by every other at once, though each had just verified (and cached) it."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.faults.conftest import Cluster
from tests.faults.helpers import create_key, models_status, v1_client
from tests.support.scanning import FakeGitHub, item


def test_a_reported_key_is_refused_on_every_replica_at_once(
    cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    github = FakeGitHub(key, "faults-replicas").trusted_by_hubs(tmp_path_factory)
    team = cluster.team()
    secret = create_key(cluster.api(team, 0))["secret_key"]
    replicas = cluster.replicas
    with v1_client() as v1:
        assert [models_status(v1, r.url, secret) for r in replicas] == [200] * len(replicas)

        answer = github.report(replicas[1], [item(secret, "https://github.com/o/r/blob/x/a")])

        assert answer.status_code == 200, answer.text
        assert answer.json()[0]["label"] == "true_positive"
        assert [models_status(v1, r.url, secret) for r in replicas] == [401] * len(replicas)
