"""`modelport keys regenerate --overlap`: the old secret keeps working for a while, as asked."""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx

from modelport.core.clock import utcnow
from tests.cli.test_keys import KEYS, Cli, cli, one_secret, table
from tests.support.cli import assert_clean_failure, side_by_side
from tests.support.verify import Verifier

__all__ = ["cli"]  # the fixture


def test_regenerate_with_an_overlap_keeps_the_old_secret_until_it_ends(
    cli: Cli, api: httpx.Client, verifier: Verifier
) -> None:
    info = api.post(KEYS, json={"name": "rolling"}).json()["api_key_info"]
    key_id, old = info["uuid"], info["secret_key"]

    before = utcnow()
    regenerated = cli("keys", "regenerate", key_id, "--overlap", "3600", stdin="rolling\n")
    new = one_secret(regenerated)
    assert "Type the key's name (rolling)" in regenerated.err
    assert verifier.accepts(old)
    assert verifier.accepts(new)
    until = api.get(f"{KEYS}/{key_id}").json()["api_key_info"]["old_secret_expires_at"]
    hour = timedelta(hours=1)
    assert before + hour <= datetime.fromisoformat(until) <= utcnow() + hour
    assert f"The old secret works until {until}." in regenerated.err

    listed, too_long = side_by_side(
        lambda: cli("keys", "list"),
        lambda: cli("keys", "regenerate", key_id, "--overlap", "86401", "--confirm", "rolling"),
    )
    [row] = table(listed)
    assert row["limits"] == f"old secret expires at {until}"
    assert_clean_failure(too_long, "overlap_seconds", "86,400", "400")
    assert verifier.accepts(old)  # the refused one changed nothing
    assert verifier.accepts(new)
