"""Catalog entries: a use case is one of DigitalOcean's, since the API lists them as its enum."""

from __future__ import annotations

import pytest

from modelport.catalog.loader import CatalogError, parse_catalog

ENTRY = """
[[models]]
id = "m"
name = "M"
provider = "p"
type = "chat"
base_url = "http://127.0.0.1:1/v1"
context_window = 10
input_price_per_million = 1
"""


def test_usecases_default_by_type() -> None:
    models = parse_catalog(ENTRY, "test", lambda _name: None)
    assert models.servable("m").usecases == ["MODEL_USECASE_SERVERLESS", "MODEL_USECASE_AGENT"]


def test_usecases_are_digitaloceans() -> None:
    text = ENTRY + 'usecases = ["MODEL_USECASE_CODING", "MODEL_USECASE_TEXT"]\n'
    models = parse_catalog(text, "test", lambda _name: None)
    assert models.servable("m").usecases == ["MODEL_USECASE_CODING", "MODEL_USECASE_TEXT"]


def test_a_usecase_digitalocean_does_not_name_is_refused() -> None:
    with pytest.raises(CatalogError, match=r"entry 1 \(m\), field 'usecases.0'"):
        parse_catalog(ENTRY + 'usecases = ["chat"]\n', "test", lambda _name: None)
