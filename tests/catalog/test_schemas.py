"""The catalog API as DigitalOcean's `apiModelPublic` describes it: no field it types is null."""

from __future__ import annotations

import httpx
import pytest

from modelport.catalog.loader import load_catalog
from modelport.catalog.schemas import ModelPublic
from tests.support.reference import GEN_AI_DEFINITIONS, GEN_AI_SERVED, check_response
from tests.support.reference import schema_validator as reference_schema

pytestmark = pytest.mark.reference("do-openapi")

MODELS = "/v2/gen-ai/models"


def test_the_list_is_valid_for_digitalocean(api: httpx.Client) -> None:
    """The test catalog's provider ("fake") is not in DigitalOcean's enum: no `provider`."""
    for params in ({"per_page": 2}, {"per_page": 2, "page": 2}):
        response = api.get(MODELS, params=params)
        assert response.status_code == 200, response.text
        check_response(GEN_AI_SERVED[(MODELS, "get")], response)
        for model in response.json()["models"]:
            assert "provider" not in model
            assert model["provider_name"] == "fake"


def test_the_shipped_catalog_is_valid_for_digitalocean() -> None:
    """A provider DigitalOcean's enum names is given in it; any other is left out."""
    validator = reference_schema(GEN_AI_DEFINITIONS, "apiModelPublic")
    providers = {}
    for model in load_catalog(None, lambda _name: None).all():
        shown = ModelPublic.of(model, "default").model_dump(mode="json")
        validator.validate(shown)
        providers[shown["provider_name"]] = shown.get("provider")
    assert providers == {
        "openai": "MODEL_PROVIDER_OPENAI",
        "anthropic": "MODEL_PROVIDER_ANTHROPIC",
        "digitalocean": "MODEL_PROVIDER_DIGITALOCEAN",
        "ollama": None,
        "vllm": None,
    }
