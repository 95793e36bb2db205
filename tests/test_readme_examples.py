"""The README's Python examples for `/v1` run as written, against a hub whose catalog maps
the models they name onto the fake upstreams (only the key and the address are filled in)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelport.catalog.loader import load_catalog
from tests.support.anthropic_upstream import CREDENTIAL as ANTHROPIC_CREDENTIAL
from tests.support.anthropic_upstream import FakeAnthropic
from tests.support.catalog import ANTHROPIC_CREDENTIAL_ENV, CREDENTIAL_ENV
from tests.support.databases import sqlite_url
from tests.support.dataplane import create_key
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.support.upstream import CREDENTIAL, FakeUpstream

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = re.compile(r"### Calling models\n(.*?)\n### ", re.S)
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
MODELS = {"gpt-4o-mini": "openai", "gpt-4.1-mini": "openai", "gpt-4.1": "openai"}
MODELS["claude-sonnet-5-5"] = "anthropic"


def entry(model: str, dialect: str, base_url: str) -> str:
    credential = ANTHROPIC_CREDENTIAL_ENV if dialect == "anthropic" else CREDENTIAL_ENV
    upstream = "claude-chat" if dialect == "anthropic" else "fake-chat"
    return f"""[[models]]
id = "{model}"
name = "{model}"
provider = "readme"
type = "chat"
dialect = "{dialect}"
base_url = "{base_url}"
api_key_env = "{credential}"
upstream_model = "{upstream}"
context_window = 4096
input_price_per_million = 1
output_price_per_million = 2

"""


@pytest.fixture(scope="module")
def readme_hub(
    loop: BackgroundLoop,
    upstream: FakeUpstream,
    anthropic_upstream: FakeAnthropic,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("readme")
    urls = {"openai": upstream.url, "anthropic": anthropic_upstream.url}
    catalog = folder / "catalog.toml"
    catalog.write_text("".join(entry(m, d, urls[d]) for m, d in MODELS.items()))
    env = {
        "MODELPORT_CATALOG": str(catalog),
        CREDENTIAL_ENV: CREDENTIAL,
        ANTHROPIC_CREDENTIAL_ENV: ANTHROPIC_CREDENTIAL,
    }
    hub = Hub(sqlite_url(folder), folder / "hub", loop, env)
    hub.start()
    yield hub
    hub.stop()


def examples() -> list[str]:
    section = SECTION.search(README.read_text())
    assert section, "the README has a Calling models section"
    return BLOCK.findall(section.group(1))


def test_the_examples_name_only_models_the_shipped_catalog_has() -> None:
    shipped = load_catalog(None, lambda _name: None)
    named = set(re.findall(r'model="([^"]+)"', "".join(examples())))
    assert named == set(MODELS)
    assert named <= shipped.ids()
    assert {m.entry.dialect for m in shipped.all() if m.id in named} == {"openai", "anthropic"}


def test_the_python_examples_run_in_order(readme_hub: Hub) -> None:
    """In one namespace, as a reader would paste them one after the other."""
    with readme_hub.client(readme_hub.new_team().token) as api:
        secret = create_key(api)["secret_key"]
    namespace: dict[str, object] = {}
    for number, example in enumerate(examples()):
        code = example.replace("mp_...", secret)
        code = code.replace("127.0.0.1:8080", f"127.0.0.1:{readme_hub.port}")
        exec(compile(code, f"README example {number}", "exec"), namespace)
    assert {"reply", "second", "message"} <= set(namespace)
