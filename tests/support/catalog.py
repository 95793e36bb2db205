"""The catalog tests run with: every model points at one of the fake upstreams.

- `test-<behaviour>`: OpenAI-compatible, chat completions only, on upstream `fake-<behaviour>`
  (see tests/support/upstream.py), plus `test-embed`, `test-small` and `test-unconfigured`;
- `test-native-<behaviour>`: the same upstream models with `native_responses = true`, so
  /v1/responses reaches the fake's own /v1/responses;
- `test-failover`: two deployments, `fake-500` tried first and `fake-chat` behind it;
  `test-dedicated` and `test-exclusive`: deployments reserved for `DEDICATED_TEAM`;
- `test-claude-<behaviour>`: `dialect = "anthropic"`, on the fake Anthropic's `claude-<behaviour>`
  (tests/support/anthropic_upstream.py), when its URL is given.

The `cached` models have cache prices (read and write); every price is
a whole number of picodollars per token.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

CREDENTIAL_ENV = "FAKE_UPSTREAM_KEY"
ANTHROPIC_CREDENTIAL_ENV = "FAKE_ANTHROPIC_KEY"
CHAT_INPUT_PRICE = Decimal("1.25")
CHAT_OUTPUT_PRICE = Decimal("2.5")
CACHED_INPUT_PRICE = Decimal("0.125")
CACHE_WRITE_PRICE = Decimal("1.5625")
"""The `cached` models' prices for prompt tokens read from and written to the upstream's
cache."""
EMBED_PRICE = Decimal("0.02")

CHAT_BEHAVIOURS = [
    "chat",
    "500",
    "401",
    "400",
    "slow",
    "drop",
    "nousage",
    "paced",
    "slowstream",
    "cached",
    "errorevent",
    "notjson",
]
"""The OpenAI fake's behaviours, each a `test-*` and a `test-native-*` model."""
SSE_STYLES = ["sse-event", "sse-crlf", "sse-cr", "sse-multiline", "sse-split"]
"""The OpenAI fake's other framings of a chat stream, each a `test-*` model."""
CLAUDE_BEHAVIOURS = [
    "chat",
    "cached",
    "500",
    "529",
    "401",
    "400",
    "slow",
    "slowstream",
    "paced",
    "drop",
    "errorevent",
    "nousage",
]
"""The fake Anthropic's behaviours, each a `test-claude-*` model."""


_CAPABILITIES = {"chat": '["chat", "streaming"]', "embedding": '["embeddings"]'}


def _entry(model_id: str, upstream: str, kind: str, base_url: str, **extra: str) -> str:
    lines = [
        "[[models]]",
        f'id = "{model_id}"',
        f'name = "Test {model_id}"',
        'provider = "fake"',
        f'type = "{kind}"',
        f'base_url = "{base_url}"',
        f'api_key_env = "{extra.pop("api_key_env", CREDENTIAL_ENV)}"',
        f'upstream_model = "{upstream}"',
        f"context_window = {extra.pop('context_window', '4096')}",
        f"max_output_tokens = {extra.pop('max_output_tokens', '1024')}",
        f"capabilities = {extra.pop('capabilities', _CAPABILITIES[kind])}",
        f"input_price_per_million = {CHAT_INPUT_PRICE if kind == 'chat' else EMBED_PRICE}",
        f"output_price_per_million = {CHAT_OUTPUT_PRICE if kind == 'chat' else 0}",
        *(f"{name} = {value}" for name, value in extra.items()),
    ]
    return "\n".join(lines) + "\n\n"


def _prices(behaviour: str) -> dict[str, str]:
    if behaviour != "cached":
        return {}
    return {
        "cached_input_price_per_million": str(CACHED_INPUT_PRICE),
        "cache_write_price_per_million": str(CACHE_WRITE_PRICE),
    }


def _claude(behaviour: str, base_url: str) -> str:
    return _entry(
        f"test-claude-{behaviour}",
        f"claude-{behaviour}",
        "chat",
        base_url,
        api_key_env=ANTHROPIC_CREDENTIAL_ENV,
        dialect='"anthropic"',
        capabilities='["chat", "streaming", "tools", "vision"]',
        modalities='{ input = ["text", "image"], output = ["text"] }',
        **_prices(behaviour),
    )


DEDICATED_TEAM = "dedicated-team"
"""The team `test-dedicated` and `test-exclusive` have deployments reserved for."""
UNSERVED = {"test-unconfigured", "test-exclusive"}
"""In the catalog, but served to no ordinary team: not configured, or another team's."""


def _deployed(model_id: str, deployments: list[tuple[str, str, str]], base_url: str) -> str:
    """A chat model on the fake upstream, with deployments (name, upstream model, more TOML)."""
    text = _entry(model_id, "fake-chat", "chat", base_url)
    shared = ("base_url", "api_key_env", "upstream_model")
    text = "\n".join(line for line in text.splitlines() if not line.startswith(shared))
    for name, upstream, more in deployments:
        text += (
            f'\n[[models.deployments]]\nname = "{name}"\nbase_url = "{base_url}"\n'
            f'api_key_env = "{CREDENTIAL_ENV}"\nupstream_model = "{upstream}"\n{more}'
        )
    return text + "\n"


def _failover(base_url: str) -> str:
    """`test-failover`: a broken deployment (`fake-500`, tried first) and a healthy one;
    `test-dedicated`: a shared deployment and one reserved for `DEDICATED_TEAM`;
    `test-exclusive`: only a deployment reserved for it."""
    reserved = f'teams = ["{DEDICATED_TEAM}"]\n'
    return (
        _deployed(
            "test-failover",
            [("broken", "fake-500", "priority = 1\n"), ("healthy", "fake-chat", "priority = 2\n")],
            base_url,
        )
        + _deployed(
            "test-dedicated",
            [("shared", "fake-chat", ""), ("reserved", "fake-chat", reserved)],
            base_url,
        )
        + _deployed(
            "test-exclusive", [("vault", "fake-chat", reserved + "exclusive = true\n")], base_url
        )
    )


def servable(anthropic: bool = True, more: Mapping[str, str] | None = None) -> set[str]:
    """The ids a hub on this catalog offers: all but `test-unconfigured`."""
    ids = {f"test-{name}" for name in CHAT_BEHAVIOURS + SSE_STYLES}
    ids |= {f"test-native-{name}" for name in CHAT_BEHAVIOURS}
    ids |= {f"test-claude-{name}" for name in CLAUDE_BEHAVIOURS} if anthropic else set()
    return ids | {"test-embed", "test-small", "test-failover", "test-dedicated", *(more or {})}


def write_test_catalog(
    path: Path,
    base_url: str,
    more: Mapping[str, str] | None = None,
    anthropic_url: str | None = None,
) -> Path:
    """A catalog whose `test-*` models map onto the fake upstreams' behaviours, and `more`
    chat models (id -> base URL) that ask for `fake-chat` wherever they point. Without
    `anthropic_url`, no `test-claude-*` model."""
    text = "".join(
        _entry(f"test-{name}", f"fake-{name}", "chat", base_url, **_prices(name))
        for name in CHAT_BEHAVIOURS + SSE_STYLES
    )
    text += "".join(
        _entry(
            f"test-native-{name}",
            f"fake-{name}",
            "chat",
            base_url,
            native_responses="true",
            **_prices(name),
        )
        for name in CHAT_BEHAVIOURS
    )
    if anthropic_url is not None:
        text += "".join(_claude(name, anthropic_url) for name in CLAUDE_BEHAVIOURS)
    text += "".join(_entry(id_, "fake-chat", "chat", url) for id_, url in (more or {}).items())
    text += _failover(base_url)
    text += _entry("test-embed", "fake-embed", "embedding", base_url)
    text += _entry(
        "test-small", "fake-chat", "chat", base_url, context_window="100", max_output_tokens="50"
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
