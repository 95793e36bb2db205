"""The models the gateway benchmarks serve: catalog entries, request bodies, the upstream.

`bench-chat` is an OpenAI-compatible model without `/responses`; `bench-native` the same
upstream serving `/responses` itself; `bench-claude` the same upstream as an Anthropic one.
Every API's request asks the same question (`MESSAGES`) and gets the same answer.
"""

from __future__ import annotations

import sys
from pathlib import Path

import orjson

from harness import free_port
from processes import Process

HERE = Path(__file__).resolve().parent
MODEL = "bench-chat"
MODES = ("plain", "stream")
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Say hello in a few words."},
]
ENTRY = """\
[[models]]
id = "{model}"
name = "Bench {model}"
provider = "bench"
type = "chat"
dialect = "{dialect}"
native_responses = {native}
base_url = "{base_url}"
context_window = 8192
max_output_tokens = 1024
capabilities = ["chat", "streaming"]
input_price_per_million = 1.25
output_price_per_million = 2.5

"""
MODELS = {MODEL: ("openai", "false"), "bench-native": ("openai", "true")}
MODELS["bench-claude"] = ("anthropic", "false")
API_PATHS = {"chat": "/v1/chat/completions", "responses": "/v1/responses"}
API_PATHS["messages"] = "/v1/messages"


def body(mode: str, api: str = "chat", model: str = MODEL) -> bytes:
    """A request of `api` to `model`, streamed or not: the same question every time."""
    payload: dict[str, object] = {"model": model, "messages": MESSAGES, "max_tokens": 64}
    if api == "responses":
        payload = {
            "model": model,
            "instructions": MESSAGES[0]["content"],
            "input": MESSAGES[1]["content"],
            "max_output_tokens": 64,
            "store": False,
        }
    elif api == "messages":
        payload["system"] = MESSAGES[0]["content"]
        payload["messages"] = MESSAGES[1:]
    if mode == "stream":
        payload["stream"] = True
    return orjson.dumps(payload)


def fast_upstream(root: Path, env: dict[str, str]) -> tuple[Process, int]:
    """bench/fast_upstream.py on a free port."""
    port = free_port()
    upstream = Process(
        [sys.executable, str(HERE / "fast_upstream.py"), "--port", str(port)],
        env,
        root / "upstream.log",
    )
    return upstream, port


def start_upstream(root: Path, env: dict[str, str]) -> tuple[Process, int]:
    """bench/fast_upstream.py on a free port, and a catalog naming it in `root/catalog.toml`."""
    upstream, port = fast_upstream(root, env)
    base_url = f"http://127.0.0.1:{port}/v1"
    entries = [
        ENTRY.format(model=model, dialect=dialect, native=native, base_url=base_url)
        for model, (dialect, native) in MODELS.items()
    ]
    (root / "catalog.toml").write_text("".join(entries))
    return upstream, port
