"""`modelport serve` logs one JSON object a line on stderr, and nothing else: no warning a
library prints (FastAPI's deprecation notices went there, breaking every log shipper's parse).

Python's warnings are all shown in the server (`PYTHONWARNINGS=default`), so a deprecated call
anywhere on the paths below would print a line that is not JSON.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import orjson

from tests.support.cli import clean_env
from tests.support.ports import free_port

CALLS = (
    ("GET", "/healthz", 200),
    ("GET", "/readyz", 200),
    ("GET", "/docs", 200),
    ("GET", "/openapi.json", 200),
    ("GET", "/v2/gen-ai/models/api_keys", 401),
    ("POST", "/v2/gen-ai/models/api_keys", 401),
    ("GET", "/v1/models", 401),
    ("GET", "/v1/nowhere", 404),
    ("GET", "/setup", 404),
)
"""What the test asks the server, and the status each gets: a page or an error of each kind."""


def test_every_line_on_stderr_is_one_json_object(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(PYTHONWARNINGS="default", MODELPORT_DATA_DIR=str(tmp_path / "data"))
    command = [sys.executable, "-m", "modelport", "serve", "--port", str(port)]
    with (tmp_path / "stderr").open("wb") as stderr:
        server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_healthy(server, url)
            with httpx.Client(base_url=url, timeout=10) as client:
                statuses = [client.request(method, path).status_code for method, path, _ in CALLS]
        finally:
            server.terminate()
            server.wait(20)
    assert statuses == [status for _, _, status in CALLS]
    lines = (tmp_path / "stderr").read_text().splitlines()
    assert any("Application startup complete" in line for line in lines)
    for line in lines:
        assert line.startswith("{"), line
        entry = orjson.loads(line)
        assert isinstance(entry, dict), line
        assert "deprecat" not in line.lower(), line


def _wait_healthy(server: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "modelport serve exited"
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("modelport serve did not become healthy")
