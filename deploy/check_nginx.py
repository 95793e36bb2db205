"""Check deploy/nginx/modelport.conf for real: nginx in front of three replicas.

    .venv/bin/python deploy/check_nginx.py

Needs `nginx` (Debian: nginx-light), `redis-server`, and PostgreSQL on 127.0.0.1:5432 with
trust auth, as the tests do. It starts a fake upstream, a private Redis, a fresh PostgreSQL
database, three `modelport serve` replicas at once, and nginx with the sample config (only
its ports changed); then checks through nginx: a key's lifecycle, an unbuffered stream,
balancing, /metrics hidden, a replica killed with -9, revocation seen by the others, no
secret in any log. It prints what it saw and exits non-zero on the first failed check.
Not part of `make test`: it needs nginx, which the project does not install.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.catalog import CREDENTIAL_ENV, write_test_catalog  # noqa: E402
from tests.support.databases import create_pg_database, drop_pg_database  # noqa: E402
from tests.support.hub import TEST_SECRET, free_port  # noqa: E402
from tests.support.loop import BackgroundLoop  # noqa: E402
from tests.support.servers import PrivateRedis  # noqa: E402
from tests.support.upstream import CREDENTIAL, FakeUpstream  # noqa: E402

SAMPLE = ROOT / "deploy" / "nginx" / "modelport.conf"
CHAT = {"model": "test-chat", "messages": [{"role": "user", "content": "hi"}]}
OK_V1 = re.compile(
    r'modelport_http_requests_total\{family="v1",route="/v1/chat/completions",status="200"\} (\S+)'
)


class Replicas:
    def __init__(self, folder: Path, env: dict[str, str], count: int) -> None:
        self.folder, self.env = folder, env
        self.ports = [free_port() for _ in range(count)]
        self.processes: dict[int, subprocess.Popen[bytes]] = {}

    def start_all(self) -> float:
        """Start every replica at once (migrations race for the advisory lock); seconds."""
        started = time.monotonic()
        for port in self.ports:
            env = {
                **self.env,
                "MODELPORT_PORT": str(port),
                "MODELPORT_DATA_DIR": str(self.folder / str(port)),
                "MODELPORT_LOG_FILE": str(self.folder / f"{port}.log"),
            }
            self.processes[port] = subprocess.Popen(
                [sys.executable, "-m", "modelport", "serve"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(self.folder / f"{port}.err").open("wb"),
            )
        for port in self.ports:
            while not _ready(port):
                if self.processes[port].poll() is not None:
                    raise SystemExit((self.folder / f"{port}.err").read_text())
                time.sleep(0.2)
        return time.monotonic() - started

    def logs(self) -> str:
        return "".join((self.folder / f"{port}.log").read_text() for port in self.ports)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(20)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def nginx(folder: Path, ports: list[int]) -> Iterator[str]:
    """The sample config with its replica ports and listen address changed; its base URL."""
    front = free_port()
    config = SAMPLE.read_text().replace("listen 80;", f"listen 127.0.0.1:{front};")
    config = config.replace("/var/log/nginx/", f"{folder}/")
    for sample_port, port in zip((8081, 8082, 8083), ports, strict=True):
        config = config.replace(f"127.0.0.1:{sample_port}", f"127.0.0.1:{port}")
    (folder / "modelport.conf").write_text(config)
    main = folder / "nginx.conf"
    main.write_text(
        f"pid {folder}/nginx.pid;\nerror_log {folder}/nginx.error.log;\nevents {{}}\n"
        f"http {{\n    access_log off;\n    include {folder}/modelport.conf;\n}}\n"
    )
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run([binary, "-t", "-q", "-c", str(main)], check=True)  # noqa: S603
    process = subprocess.Popen([binary, "-c", str(main), "-g", "daemon off;"])  # noqa: S603
    try:
        yield f"http://127.0.0.1:{front}"
    finally:
        process.terminate()
        process.wait(10)


def check(condition: bool, what: str) -> None:
    print(("ok    " if condition else "FAIL  ") + what)
    if not condition:
        raise SystemExit(1)


def run(base: str, replicas: Replicas, env: dict[str, str]) -> None:
    token = subprocess.run(
        [sys.executable, "-m", "modelport", "tokens", "create", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    created = api.post("/v2/gen-ai/models/api_keys", json={"name": "check"})
    check(created.status_code == 200, "a key is created through nginx")
    key = created.json()["api_key_info"]
    auth = {"Authorization": f"Bearer {key['secret_key']}"}

    paced = {**CHAT, "model": "test-paced", "stream": True, "max_tokens": 20}
    reads: list[float] = []
    with httpx.stream("POST", base + "/v1/chat/completions", headers=auth, json=paced) as reply:
        check(bool(reply.headers.get("x-request-id")), "a stream carries its x-request-id")
        began = time.monotonic()
        reads.extend(time.monotonic() - began for _ in reply.iter_raw())
    check(
        len(reads) >= 10 and reads[-1] - reads[0] > 0.5,
        f"a paced stream arrives unbuffered: {len(reads)} reads over {reads[-1]:.2f} s",
    )

    for _ in range(30):
        httpx.post(base + "/v1/chat/completions", headers=auth, json=CHAT, timeout=30)
    served = []
    for port in replicas.ports:
        found = OK_V1.search(httpx.get(f"http://127.0.0.1:{port}/metrics").text)
        served.append(int(float(found.group(1))) if found else 0)
    check(min(served) > 0, f"requests spread over every replica: {served}")
    check(httpx.get(base + "/metrics").status_code == 404, "/metrics is not served by nginx")

    first = replicas.processes[replicas.ports[0]]
    first.send_signal(signal.SIGKILL)
    first.wait()
    codes = [
        httpx.post(base + "/v1/chat/completions", headers=auth, json=CHAT, timeout=30).status_code
        for _ in range(30)
    ]
    check(codes == [200] * 30, f"with one replica killed, nginx still serves: {set(codes)}")

    regenerated = api.put(f"/v2/gen-ai/models/api_keys/{key['uuid']}/regenerate")
    check(regenerated.status_code == 200, "the key is regenerated through nginx")
    old = [
        httpx.post(f"http://127.0.0.1:{port}/v1/chat/completions", headers=auth, json=CHAT)
        for port in replicas.ports[1:]
    ]
    check([r.status_code for r in old] == [401, 401], "the old secret is refused by the others")

    logs = replicas.logs()
    secrets = (key["secret_key"], regenerated.json()["api_key_info"]["secret_key"], token)
    check(not any(secret in logs for secret in secrets), "no secret in any replica's log")


def main() -> None:
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mp-nginx-")))
        loop = BackgroundLoop()
        stack.callback(loop.close)
        upstream = FakeUpstream(loop)
        upstream.start()
        stack.callback(upstream.stop)
        redis = PrivateRedis()
        redis.start()
        stack.callback(redis.destroy)
        database = loop.run(create_pg_database())
        stack.callback(lambda: loop.run(drop_pg_database(database)))
        env = {
            "PATH": "/usr/bin:/bin",
            "MODELPORT_DATABASE_URL": database,
            "MODELPORT_REDIS_URL": redis.url,
            "MODELPORT_SECRET": TEST_SECRET,
            "MODELPORT_CATALOG": str(write_test_catalog(folder / "catalog.toml", upstream.url)),
            "MODELPORT_DATA_DIR": str(folder / "cli"),
            CREDENTIAL_ENV: CREDENTIAL,
        }
        replicas = Replicas(folder, env, 3)
        stack.callback(replicas.stop)
        seconds = replicas.start_all()
        check(True, f"3 replicas started together, all ready in {seconds:.1f} s")
        base = stack.enter_context(nginx(folder, replicas.ports))
        run(base, replicas, env)


if __name__ == "__main__":
    main()
