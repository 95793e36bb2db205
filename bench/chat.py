"""The chat model the gateway benchmarks serve: its catalog entry, request bodies, upstream."""

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
CATALOG = """\
[[models]]
id = "{model}"
name = "Bench chat"
provider = "bench"
type = "chat"
base_url = "{base_url}"
context_window = 8192
max_output_tokens = 1024
capabilities = ["chat", "streaming"]
input_price_per_million = 1.25
output_price_per_million = 2.5
"""


def body(mode: str) -> bytes:
    payload: dict[str, object] = {"model": MODEL, "messages": MESSAGES, "max_tokens": 64}
    if mode == "stream":
        payload["stream"] = True
    return orjson.dumps(payload)


def start_upstream(root: Path, env: dict[str, str]) -> tuple[Process, int]:
    """bench/fast_upstream.py on a free port, and a catalog naming it in `root/catalog.toml`."""
    port = free_port()
    upstream = Process(
        [sys.executable, str(HERE / "fast_upstream.py"), "--port", str(port)],
        env,
        root / "upstream.log",
    )
    base_url = f"http://127.0.0.1:{port}/v1"
    (root / "catalog.toml").write_text(CATALOG.format(model=MODEL, base_url=base_url))
    return upstream, port
