"""The catalog tests run with: every model points at the fake upstream."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

CREDENTIAL_ENV = "FAKE_UPSTREAM_KEY"
CHAT_INPUT_PRICE = Decimal("1.25")
CHAT_OUTPUT_PRICE = Decimal("2.5")
EMBED_PRICE = Decimal("0.02")
CACHED_INPUT_PRICE = Decimal("0.3125")
CACHE_WRITE_PRICE = Decimal("1.5625")
"""`test-cached`'s prices for prompt tokens read from and written to the upstream's cache."""

_CACHE_PRICES = ("cached_input_price_per_million", "cache_write_price_per_million")
_CHAT = [
    "fake-chat",
    "fake-500",
    "fake-401",
    "fake-400",
    "fake-slow",
    "fake-drop",
    "fake-nousage",
    "fake-paced",
    "fake-slowstream",
]


def _entry(model_id: str, upstream: str, kind: str, base_url: str, **extra: str) -> str:
    lines = [
        "[[models]]",
        f'id = "{model_id}"',
        f'name = "Test {model_id}"',
        'provider = "fake"',
        f'type = "{kind}"',
        f'base_url = "{base_url}"',
        f'api_key_env = "{extra.get("api_key_env", CREDENTIAL_ENV)}"',
        f'upstream_model = "{upstream}"',
        f"context_window = {extra.get('context_window', '4096')}",
        f"max_output_tokens = {extra.get('max_output_tokens', '1024')}",
        'capabilities = ["chat", "streaming"]'
        if kind == "chat"
        else 'capabilities = ["embeddings"]',
        f"input_price_per_million = {CHAT_INPUT_PRICE if kind == 'chat' else EMBED_PRICE}",
        f"output_price_per_million = {CHAT_OUTPUT_PRICE if kind == 'chat' else 0}",
        *(f"{name} = {extra[name]}" for name in _CACHE_PRICES if name in extra),
    ]
    return "\n".join(lines) + "\n\n"


def write_test_catalog(path: Path, base_url: str, more: Mapping[str, str] | None = None) -> Path:
    """A catalog whose `test-*` models map onto the fake upstream's behaviours, and `more`
    chat models (id -> base URL) that ask for `fake-chat` wherever they point."""
    text = "".join(_entry(f"test-{u[5:]}", u, "chat", base_url) for u in _CHAT)
    text += "".join(_entry(id_, "fake-chat", "chat", url) for id_, url in (more or {}).items())
    text += _entry("test-embed", "fake-embed", "embedding", base_url)
    text += _entry(
        "test-small", "fake-chat", "chat", base_url, context_window="100", max_output_tokens="50"
    )
    text += _entry(
        "test-cached",
        "fake-chat",
        "chat",
        base_url,
        cached_input_price_per_million=str(CACHED_INPUT_PRICE),
        cache_write_price_per_million=str(CACHE_WRITE_PRICE),
    )
    text += _entry(
        "test-unconfigured",
        "fake-chat",
        "chat",
        base_url,
        api_key_env="MODELPORT_TEST_MISSING_CREDENTIAL",
    )
    path.write_text(text)
    return path
