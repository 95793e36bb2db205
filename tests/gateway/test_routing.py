"""Routing: which deployments a request may try, in which order (gateway/routing.py).

Real catalogs parsed from TOML and the real in-memory health; the draw is seeded so that
the weighted orders are the same on every run.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import Counter

import pytest

from modelport.catalog.loader import parse_catalog
from modelport.errors import Forbidden, InvalidInput, ModelUnavailable, NotFound
from modelport.gateway.routing import Plan, Routing
from modelport.infra.cooldown import CooldownPolicy, MemoryDeploymentHealth
from modelport.keys.verifier import KeyIdentity


def model(model_id: str, deployments: list[str], kind: str = "chat") -> str:
    text = (
        f'[[models]]\nid = "{model_id}"\nname = "{model_id}"\nprovider = "p"\ntype = "{kind}"\n'
        "context_window = 100\ninput_price_per_million = 1\n"
    )
    for name in deployments:
        fields = name.split(";")
        text += (
            f'[[models.deployments]]\nname = "{fields[0]}"\nbase_url = "http://{fields[0]}/v1"\n'
        )
        text += "".join(field + "\n" for field in fields[1:])
    return text


CATALOG = (
    model("tiers", ["a;priority = 1", "b;priority = 2", "c;priority = 3", "d;priority = 4"])
    + model("spread", ["heavy;weight = 3", "light;weight = 1"])
    + model(
        "dedicated",
        ["shared", 'acme;teams = ["acme"]', 'bank;teams = ["bank"];exclusive = true'],
    )
    + model("first", ["f1", "f2"])
    + model("second", ["s1"])
    + model("unset", ['u;api_key_env = "UNSET_KEY"'])
    + model(
        "locked",
        ["open", 'safe;teams = ["acme"];exclusive = true;api_key_env = "UNSET_KEY"'],
    )
    + model("theirs", ['only;teams = ["bank"]'])
    + model("embed", ["e"], kind="embedding")
    + '[[routers]]\nid = "fallback"\nname = "F"\nmodels = ["unset", "first", "second"]\n'
    + '[[routers]]\nid = "weighted"\nname = "W"\nstrategy = "weighted"\n'
    + 'models = ["first", "second"]\nweights = [1, 4]\n'
)
POLICY = CooldownPolicy(failures=2, window=60, seconds=30)


def identity(team: str = "acme", models: frozenset[str] | None = None) -> KeyIdentity:
    return KeyIdentity(uuid.uuid4(), uuid.uuid4(), team, models)


@pytest.fixture
def health() -> MemoryDeploymentHealth:
    return MemoryDeploymentHealth(POLICY)


def routing(health: MemoryDeploymentHealth, max_attempts: int = 3, seed: int = 7) -> Routing:
    catalog = parse_catalog(CATALOG, "test", lambda _name: None)
    return Routing(catalog, health, max_attempts=max_attempts, draw=random.Random(seed).random)


def tried(plan: Plan) -> list[str]:
    return [route.deployment.id for route in plan.routes]


def test_priorities_are_tried_in_order_up_to_the_attempts_allowed(
    health: MemoryDeploymentHealth,
) -> None:
    plan = routing(health).plan("r", identity(), "tiers", "chat")
    assert tried(plan) == ["tiers#a", "tiers#b", "tiers#c"]
    assert tried(routing(health, max_attempts=1).plan("r", identity(), "tiers", "chat")) == [
        "tiers#a"
    ]


def test_deployments_of_one_priority_share_requests_by_weight(
    health: MemoryDeploymentHealth,
) -> None:
    router = routing(health)
    firsts = Counter(tried(router.plan("r", identity(), "spread", "chat"))[0] for _ in range(4000))
    assert 0.72 < firsts["spread#heavy"] / 4000 < 0.78, firsts
    plan = router.plan("r", identity(), "spread", "chat")
    assert sorted(tried(plan)) == ["spread#heavy", "spread#light"], "the other is the failover"


def test_a_team_uses_its_dedicated_deployment_first_and_others_never_reach_it(
    health: MemoryDeploymentHealth,
) -> None:
    router = routing(health)
    assert tried(router.plan("r", identity("acme"), "dedicated", "chat")) == [
        "dedicated#acme",
        "dedicated#shared",
    ]
    assert tried(router.plan("r", identity("bank"), "dedicated", "chat")) == ["dedicated#bank"]
    assert tried(router.plan("r", identity("other"), "dedicated", "chat")) == ["dedicated#shared"]


def test_a_cooling_deployment_is_skipped_until_its_cooldown_ends(
    health: MemoryDeploymentHealth,
) -> None:
    router = routing(health)
    asyncio.run(health.failed("tiers#a"))
    assert tried(router.plan("r", identity(), "tiers", "chat"))[0] == "tiers#a", "one failure"
    asyncio.run(health.failed("tiers#a"))
    assert tried(router.plan("r", identity(), "tiers", "chat")) == [
        "tiers#b",
        "tiers#c",
        "tiers#d",
    ]


def test_when_every_deployment_is_cooling_the_request_is_refused_with_the_wait(
    health: MemoryDeploymentHealth,
) -> None:
    asyncio.run(health.failed("spread#heavy", retry_after=7))
    asyncio.run(health.failed("spread#light", retry_after=12))
    with pytest.raises(ModelUnavailable, match="cooling down") as refusal:
        routing(health).plan("r", identity(), "spread", "chat")
    assert refusal.value.retry_after == 7


def test_a_fallback_router_tries_its_configured_models_in_order(
    health: MemoryDeploymentHealth,
) -> None:
    plan = routing(health, max_attempts=5).plan("r", identity(), "fallback", "chat")
    assert [route.model.id for route in plan.routes] == ["first", "first", "second"]
    assert [model.id for model in plan.models] == ["first", "second"]


def test_a_weighted_router_draws_its_first_model_by_weight(
    health: MemoryDeploymentHealth,
) -> None:
    router = routing(health, max_attempts=5)
    firsts = Counter(
        router.plan("r", identity(), "weighted", "chat").routes[0].model.id for _ in range(4000)
    )
    assert 0.77 < firsts["second"] / 4000 < 0.83, firsts


def test_a_router_leaves_out_the_models_a_request_does_not_fit(
    health: MemoryDeploymentHealth,
) -> None:
    def fits(candidate: object) -> None:
        if getattr(candidate, "id", None) == "first":
            raise InvalidInput("too long for first", field="messages")

    plan = routing(health).plan("r", identity(), "fallback", "chat", fits)
    assert tried(plan) == ["second#s1"]
    with pytest.raises(InvalidInput, match="too long"):
        routing(health).plan("r", identity(), "first", "chat", fits)


def test_the_key_must_be_allowed_the_name_it_calls(health: MemoryDeploymentHealth) -> None:
    router = routing(health)
    allowed = identity(models=frozenset({"fallback"}))
    assert tried(router.plan("r", allowed, "fallback", "chat"))[0] == "first#f1"
    with pytest.raises(Forbidden):
        router.plan("r", allowed, "first", "chat")
    with pytest.raises(NotFound):
        router.plan("r", allowed, "nothing", "chat")
    with pytest.raises(InvalidInput, match="embedding model"):
        router.plan("r", identity(), "embed", "chat")
    with pytest.raises(ModelUnavailable, match="UNSET_KEY"):
        router.plan("r", identity(), "unset", "chat")


def test_a_team_whose_exclusive_deployment_is_down_is_refused_not_sent_elsewhere(
    health: MemoryDeploymentHealth,
) -> None:
    router = routing(health)
    with pytest.raises(ModelUnavailable, match="no configured deployment serves"):
        router.plan("r", identity("acme"), "locked", "chat")
    assert tried(router.plan("r", identity("other"), "locked", "chat")) == ["locked#open"]
    with pytest.raises(NotFound):
        router.plan("r", identity("acme"), "theirs", "chat")
