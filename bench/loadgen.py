"""Driving `wrk` (Debian's `apt-get install wrk`) with POST bodies, and reading its results.

A generated Lua script sets the method, body and headers, and prints one JSON line of results
(`BENCH {...}`) that is parsed here.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARK = "BENCH "
LUA = """\
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{auth}

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{mark}{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class Result:
    """What one wrk run measured. Latencies in microseconds."""

    requests: int
    seconds: float
    errors: int
    """Connect, read, write and timeout errors, and non-2xx/3xx answers."""
    p50_us: int
    p99_us: int
    cpu_seconds: float = 0.0
    """wrk's own CPU time (user + system) over the run."""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return path


def script(folder: Path, name: str, body: bytes, token: str | None) -> Path:
    """A Lua script POSTing `body`, with a bearer token if one is given."""
    text = body.decode()
    if "'" in text or "\\" in text:
        raise ValueError("the body must fit a single-quoted Lua string")
    auth = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path = folder / f"{name}.lua"
    path.write_text(LUA.format(body=text, auth=auth, mark=MARK))
    return path


def run(url: str, lua: Path, connections: int, seconds: float) -> Result:
    """One wrk run with a single thread (the machine has two cores to share)."""
    command = [require_wrk(), "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(lua), url]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    for line in done.stdout.splitlines():
        if line.startswith(MARK):
            found = json.loads(line[len(MARK) :])
            errors = sum(found[k] for k in ("connect", "read", "write", "status", "timeout"))
            return Result(
                requests=found["requests"],
                seconds=found["duration_us"] / 1e6,
                errors=errors,
                p50_us=found["p50_us"],
                p99_us=found["p99_us"],
                cpu_seconds=cpu,
            )
    raise RuntimeError(f"wrk printed no results:\n{done.stdout}\n{done.stderr}")
