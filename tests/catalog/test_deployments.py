"""Catalog deployments and routers, as written and as resolved against the environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from modelport.catalog.loader import CatalogError, parse_catalog
from modelport.catalog.service import Catalog

MODEL = """
[[models]]
id = "m"
name = "M"
provider = "p"
type = "chat"
context_window = 10
input_price_per_million = 1
"""
ENV = {"KEY_A": "sk-a", "KEY_B": "sk-b", "ORG": "org-7", "URL_B": "http://b.example/v1/"}


def parsed(text: str) -> Catalog:
    return parse_catalog(text, "test", ENV.get)


def refused(text: str, reason: str) -> None:
    with pytest.raises(CatalogError, match=reason):
        parsed(text)


def test_a_model_written_with_one_upstream_is_its_one_deployment() -> None:
    text = (
        MODEL + 'base_url = "http://a.example/v1/"\napi_key_env = "KEY_A"\nupstream_model = "u"\n'
    )
    (deployment,) = parsed(text).servable("m").deployments
    assert deployment.id == "m#1"
    assert (deployment.base_url, deployment.api_key) == ("http://a.example/v1", "sk-a")
    assert (deployment.upstream_model, deployment.dialect) == ("u", "openai")
    assert (deployment.weight, deployment.priority, deployment.teams) == (1, 1, frozenset())


def test_deployments_take_the_models_defaults_and_their_own_fields() -> None:
    text = MODEL + (
        'upstream_model = "shared-name"\n'
        "[[models.deployments]]\n"
        'name = "east"\nbase_url = "http://a.example/v1"\napi_key_env = "KEY_A"\n'
        'region = "us-east"\nweight = 3\ntimeout_seconds = 20\nmax_connections = 50\n'
        'headers = { "OpenAI-Organization" = { env = "ORG" }, "X-Team" = "ml" }\n'
        "[[models.deployments]]\n"
        'base_url_env = "URL_B"\napi_key_env = "KEY_B"\nupstream_model = "other"\n'
        'dialect = "anthropic"\npriority = 2\nteams = ["acme"]\nexclusive = true\n'
    )
    east, second = parsed(text).servable("m").deployments
    assert (east.id, east.upstream_model, east.region, east.weight) == (
        "m#east",
        "shared-name",
        "us-east",
        3,
    )
    assert (east.timeout, east.max_connections) == (20, 50)
    assert east.headers == (("OpenAI-Organization", "org-7"), ("X-Team", "ml"))
    assert (second.id, second.base_url, second.api_key) == ("m#2", "http://b.example/v1", "sk-b")
    assert (second.dialect, second.priority) == ("anthropic", 2)
    assert (second.teams, second.exclusive) == (frozenset({"acme"}), True)


def test_a_deployment_whose_header_variable_is_unset_is_not_configured() -> None:
    text = MODEL + (
        "[[models.deployments]]\n"
        'base_url = "http://a.example/v1"\nheaders = { "X-Org" = { env = "NOT_SET" } }\n'
    )
    model = parsed(text).find("m")
    assert model is not None
    assert model.unavailable_reason == "not configured: set NOT_SET for its headers"


def test_a_model_is_available_while_one_deployment_is_configured() -> None:
    text = MODEL + (
        '[[models.deployments]]\nbase_url = "http://a.example/v1"\napi_key_env = "UNSET"\n'
        '[[models.deployments]]\nbase_url = "http://b.example/v1"\napi_key_env = "KEY_B"\n'
    )
    model = parsed(text).servable("m")
    assert [d.available for d in model.deployments] == [False, True]
    assert [d.id for d in model.serving("anyone")] == ["m#2"]


def test_dedicated_deployments_serve_their_teams_first_and_no_one_else() -> None:
    text = MODEL + (
        '[[models.deployments]]\nname = "shared"\nbase_url = "http://a.example/v1"\n'
        '[[models.deployments]]\nname = "acme"\nbase_url = "http://b.example/v1"\n'
        'teams = ["acme"]\n'
        '[[models.deployments]]\nname = "vault"\nbase_url = "http://c.example/v1"\n'
        'teams = ["bank"]\nexclusive = true\n'
    )
    model = parsed(text).servable("m")
    assert [d.name for d in model.serving("acme")] == ["acme", "shared"]
    assert [d.name for d in model.serving("bank")] == ["vault"]
    assert [d.name for d in model.serving("other")] == ["shared"]
    assert [d.name for d in model.dedicated_to("acme")] == ["acme"]
    assert model.dedicated_to("other") == []


def test_an_azure_deployment_needs_its_api_version() -> None:
    azure = '[[models.deployments]]\nbase_url = "https://r.openai.azure.com"\ndialect = "azure"\n'
    refused(MODEL + azure, "api_version is for azure deployments")
    (deployment,) = parsed(MODEL + azure + 'api_version = "2024-10-21"\n').servable("m").deployments
    assert (deployment.dialect, deployment.api_version) == ("azure", "2024-10-21")
    refused(MODEL + 'base_url = "http://a/v1"\napi_version = "1"\n', "api_version")


@pytest.mark.parametrize(
    ("more", "reason"),
    [
        ('base_url = "http://a/v1"\n[[models.deployments]]\nbase_url = "http://b/v1"\n', "beside"),
        ("[[models.deployments]]\n", "exactly one of base_url and base_url_env"),
        ('[[models.deployments]]\nbase_url = "ftp://b"\n', "http:// or https://"),
        ('[[models.deployments]]\nbase_url = "http://b"\nexclusive = true\n', "exclusive needs"),
        ('[[models.deployments]]\nbase_url = "http://b"\nweight = 0\n', "weight"),
        ('[[models.deployments]]\nbase_url = "http://b"\nheaders = { Host = "x" }\n', "header"),
        (
            '[[models.deployments]]\nname = "a"\nbase_url = "http://b"\n'
            '[[models.deployments]]\nname = "a"\nbase_url = "http://c"\n',
            "same name",
        ),
        ('[[models.deployments]]\nbase_url = "http://b"\nsecret = "x"\n', "secret"),
        (
            '[[models.deployments]]\nname = "2"\nbase_url = "http://b"\n'
            '[[models.deployments]]\nbase_url = "http://c"\n',
            "same name",
        ),
        ('[[models.deployments]]\nbase_url = "http://b"\nheaders = { api-key = "x" }\n', "header"),
        (
            '[[models.deployments]]\nbase_url = "http://b"\nheaders = { X-A = "a\\nb" }\n',
            "not a valid header value",
        ),
    ],
)
def test_a_bad_deployment_stops_the_server_naming_it(more: str, reason: str) -> None:
    refused(MODEL + more, reason)


ROUTED = (
    MODEL
    + 'base_url = "http://a/v1"\n'
    + MODEL.replace('"m"', '"n"')
    + 'base_url = "http://b/v1"\n'
    + MODEL.replace('"m"', '"e"').replace('"chat"', '"embedding"')
    + 'base_url = "http://c/v1"\n'
)


def test_a_router_names_models_of_the_catalog() -> None:
    catalog = parsed(
        ROUTED + '[[routers]]\nid = "r"\nname = "R"\nstrategy = "weighted"\n'
        'models = ["n", "m"]\nweights = [3, 1]\n'
    )
    router = catalog.router("r")
    assert router is not None
    assert (router.models, router.weights) == (["n", "m"], [3, 1])
    assert catalog.find("r") is None
    assert catalog.unknown(["r", "m", "x"]) == ["x"]


@pytest.mark.parametrize(
    ("router", "reason"),
    [
        ('models = ["m", "gone"]\n', "names 'gone', which is not a model"),
        ('models = ["m", "e"]\n', "mixes model types"),
        ('id = "m"\nmodels = ["n"]\n', "repeats an id"),
        ('models = ["m", "m"]\n', "named twice"),
        ('models = ["m", "n"]\nweights = [1, 1]\n', "weights are for the weighted"),
        ('strategy = "weighted"\nmodels = ["m", "n"]\nweights = [1]\n', "one weight"),
        ("models = []\n", "models"),
    ],
)
def test_a_bad_router_stops_the_server_naming_it(router: str, reason: str) -> None:
    written = router if router.startswith("id") else 'id = "r"\n' + router
    refused(ROUTED + '[[routers]]\nname = "R"\n' + written, reason)


def test_the_readmes_catalog_example_is_a_valid_catalog() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", readme, re.S)
    (example,) = [block for block in blocks if "[[models.deployments]]" in block]
    haiku = MODEL.replace('"m"', '"claude-haiku-5-5"') + 'base_url = "http://h/v1"\n'
    catalog = parse_catalog(example + haiku, "README", lambda name: f"value-of-{name}")
    model = catalog.servable("gpt-4.1-mini")
    assert [d.id for d in model.deployments] == [
        "gpt-4.1-mini#openai",
        "gpt-4.1-mini#azure-eastus",
        "gpt-4.1-mini#acme-reserved",
    ]
    assert [d.name for d in model.serving("acme")] == ["acme-reserved"]
    assert catalog.router("chat-default") is not None


def test_only_the_credential_and_header_values_from_the_environment_are_secrets() -> None:
    text = MODEL + (
        '[[models.deployments]]\nbase_url = "http://a.example/v1"\napi_key_env = "KEY_A"\n'
        'headers = { "OpenAI-Organization" = { env = "ORG" }, "X-Version" = "2" }\n'
    )
    (deployment,) = parsed(text).servable("m").deployments
    assert deployment.secrets == ("sk-a", "org-7")


@pytest.mark.parametrize(
    ("env", "reason"),
    [
        ({"KEY": "sk-a\r\nX-Evil: 1"}, "KEY is not a valid header value"),
        ({"KEY": "sk-a", "ORG": "caf\u00e9\u2603"}, "a header value from the environment"),
        ({"KEY": "sk-a", "ORG": "o", "URL": "a.example/v1"}, "URL is not an http"),
    ],
)
def test_a_deployment_whose_environment_cannot_be_sent_is_not_configured(
    env: dict[str, str], reason: str
) -> None:
    text = MODEL + (
        '[[models.deployments]]\nbase_url_env = "URL"\napi_key_env = "KEY"\n'
        'headers = { "X-Org" = { env = "ORG" } }\n'
    )
    values = {"URL": "http://a.example/v1", "ORG": "o", **env}
    model = parse_catalog(text, "test", values.get).find("m")
    assert model is not None
    assert model.unavailable_reason is not None
    assert reason in model.unavailable_reason


def test_an_exclusive_team_never_falls_back_to_shared_deployments() -> None:
    text = MODEL + (
        '[[models.deployments]]\nname = "shared"\nbase_url = "http://a.example/v1"\n'
        '[[models.deployments]]\nname = "vault"\nbase_url = "http://b.example/v1"\n'
        'api_key_env = "UNSET"\nteams = ["bank"]\nexclusive = true\n'
    )
    model = parsed(text).servable("m")
    assert model.serving("bank") == []
    assert model.reaches("bank")
    assert [d.name for d in model.serving("other")] == ["shared"]


def test_a_dedicated_deployments_settings_are_never_named_to_others() -> None:
    text = MODEL + (
        '[[models.deployments]]\nbase_url = "http://b.example/v1"\napi_key_env = "ACME_KEY"\n'
        'teams = ["acme"]\n'
    )
    model = parse_catalog(text, "test", lambda _name: None).find("m")
    assert model is not None
    assert model.unavailable_reason == "not configured"
