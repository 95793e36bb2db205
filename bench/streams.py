"""Upstream client: 2,000 concurrent streams of 10 s through one hub.

    .venv/bin/python bench/streams.py [--streams N] [--seconds S] [--events E] [--src DIR] [--cold]

A slow fake upstream (this file with `--upstream`, raw asyncio on uvloop) answers each
streamed chat completion with E content events spread evenly over S seconds, then the usage
and `[DONE]`. One `modelport serve` (bench/gateway.py's `started`: SQLite, a real key) proxies
N streaming `/v1/chat/completions` requests, all opened at once by one aiohttp session in this
process, after one plain call (a hub in service has its key verified and cached; `--cold`
skips it). Reported: the requests that failed (not a 200, or a stream without `[DONE]`), each
stream's duration against the upstream's S seconds (median, p99, worst), the time to its
first event (how long the burst of requests queued in the hub), the CPU time of the hub and
of the rest (this client and the upstream), and the hub's peak RSS, sampled every 0.2 s.
`--src DIR` runs the hub from another source tree (for instance `git archive main src | tar
-x -C /tmp/old`, then `--src /tmp/old/src`): the figures before a change. Prints Markdown for
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import aiohttp
import orjson
import uvloop

from chat import API_PATHS, ENTRY, MODEL
from gateway import started
from harness import free_port, load, machine, markdown_table
from processes import Process, request

HERE = Path(__file__).resolve().parent
BODY = orjson.dumps(
    {
        "model": MODEL,
        "messages": [{"role": "user", "content": "Tell me a long story."}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
)


# -- the slow upstream (a process of its own) ----------------------------------------------


def _event(payload: dict[str, object]) -> bytes:
    data = b"data: " + orjson.dumps(payload) + b"\n\n"
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


def _chunk(delta: dict[str, str], finish: str | None = None) -> dict[str, object]:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return {"id": "chatcmpl-slow", "object": "chat.completion.chunk", "created": 1,
            "model": "slow", "choices": [choice]}  # fmt: skip


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
PIECE = _event(_chunk({"content": "tok "}))
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
_ANSWER = orjson.dumps(
    {
        "id": "chatcmpl-slow",
        "object": "chat.completion",
        "created": 1,
        "model": "slow",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 1, "total_tokens": 13},
    }
)
PLAIN = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (
    len(_ANSWER),
    _ANSWER,
)
"""The answer to a request that does not stream: the warm-up's."""


def _ending(events: int) -> bytes:
    usage = {"prompt_tokens": 12, "completion_tokens": events, "total_tokens": 12 + events}
    done = b"data: [DONE]\n\n"
    return (
        _event(_chunk({}, "stop"))
        + _event({**_chunk({}), "choices": [], "usage": usage})
        + f"{len(done):x}\r\n".encode()
        + done
        + b"\r\n0\r\n\r\n"
    )


async def _serve_slow(port: int, seconds: float, events: int) -> None:
    """Each streamed request: the head at once, then `events` pieces over `seconds`."""
    ending = _ending(events)
    gap = seconds / events

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                if not head.startswith(b"POST /v1/chat/completions "):
                    writer.write(NOT_FOUND)
                    continue
                if b'"stream":true' not in body:
                    writer.write(PLAIN)
                    continue
                writer.write(HEAD)
                started = time.monotonic()
                for index in range(1, events + 1):
                    await asyncio.sleep(max(0.0, started + index * gap - time.monotonic()))
                    writer.write(PIECE)
                writer.write(ending)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port, backlog=4096)
    async with server:
        await server.serve_forever()


def start_slow_upstream(seconds: float, events: int):  # type: ignore[no-untyped-def]
    """A `gateway.started` upstream starter for the slow upstream, and its catalog."""

    def start(root: Path, env: dict[str, str]) -> tuple[Process, int]:
        port = free_port()
        command = [sys.executable, str(HERE / "streams.py"), "--upstream", "--port", str(port)]
        command += ["--seconds", str(seconds), "--events", str(events)]
        upstream = Process(command, env, root / "upstream.log")
        entry = ENTRY.format(
            model=MODEL, dialect="openai", native="false", base_url=f"http://127.0.0.1:{port}/v1"
        )
        (root / "catalog.toml").write_text(entry)
        return upstream, port

    return start


# -- the load ------------------------------------------------------------------------------


async def _one(session: aiohttp.ClientSession, url: str, key: str) -> tuple[float, float] | str:
    """One stream's duration and time to its first event, in seconds, or why it failed."""
    started = time.monotonic()
    first = 0.0
    try:
        async with session.post(
            url,
            data=BODY,
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        ) as reply:
            if reply.status != 200:
                return f"HTTP {reply.status}: {(await reply.read())[:200]!r}"
            tail = b""
            async for piece in reply.content.iter_any():
                first = first or time.monotonic() - started
                tail = (tail + piece)[-64:]
            if b"[DONE]" not in tail:
                return "the stream ended without [DONE]"
    except (aiohttp.ClientError, TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    return time.monotonic() - started, first


async def _load(port: int, key: str, streams: int) -> list[tuple[float, float] | str]:
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30, sock_read=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        url = f"http://127.0.0.1:{port}/v1/chat/completions"
        return await asyncio.gather(*(_one(session, url, key) for _ in range(streams)))


def _raise_file_limit(needed: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(needed, hard), hard))


def run(
    streams: int, seconds: float, events: int, src: Path | None, *, warm: bool
) -> dict[str, object]:
    _raise_file_limit(2 * streams + 256)  # the children (hub, upstream) inherit it
    hub_env = {"PYTHONPATH": str(src)} if src else {}
    with (
        tempfile.TemporaryDirectory(prefix="mp-streams-") as folder,
        started(Path(folder), start_slow_upstream(seconds, events), hub_env) as bench,
    ):
        if warm:  # one call first, as a hub in service has: the key is verified and cached
            plain = orjson.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}]})
            status, answer, _ = request(bench.hub_port, "POST", API_PATHS["chat"], plain, bench.key)
            if status != 200:
                raise RuntimeError(f"warm-up: HTTP {status} {answer[:300]!r}")
        peak = [bench.hub.rss_bytes()]
        idle_rss = peak[0]
        stop = threading.Event()

        def sample() -> None:
            while not stop.wait(0.2):
                peak.append(bench.hub.rss_bytes())

        sampler = threading.Thread(target=sample)
        sampler.start()
        cpu_before = bench.hub.cpu_seconds()
        upstream_before = bench.upstream.cpu_seconds()
        client_before = time.process_time()
        began = time.monotonic()
        try:
            results = uvloop.run(_load(bench.hub_port, bench.key, streams))
        finally:
            stop.set()
            sampler.join()
        wall = time.monotonic() - began
        hub_cpu = bench.hub.cpu_seconds() - cpu_before
        others_cpu = bench.upstream.cpu_seconds() - upstream_before
        others_cpu += time.process_time() - client_before
    durations = sorted(r[0] for r in results if isinstance(r, tuple))
    firsts = sorted(r[1] for r in results if isinstance(r, tuple)) or [float("nan")]
    failures = [r for r in results if isinstance(r, str)]
    ratios = [d / seconds for d in durations] or [float("nan")]
    return {
        "streams": streams,
        "failures": len(failures),
        "failure_kinds": sorted(set(failures))[:3],
        "median": statistics.median(ratios),
        "p99": ratios[min(len(ratios) - 1, int(0.99 * len(ratios)))],
        "worst": ratios[-1],
        "first_median": statistics.median(firsts),
        "first_p99": firsts[min(len(firsts) - 1, int(0.99 * len(firsts)))],
        "peak_rss": max(peak) / 2**20,
        "idle_rss": idle_rss / 2**20,
        "wall": wall,
        "hub_cpu": hub_cpu,
        "others_cpu": others_cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--streams", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=50, help="content events per stream")
    parser.add_argument("--src", type=Path, help="run the hub from this source tree")
    parser.add_argument(
        "--cold", action="store_true", help="no warm-up call: the burst finds the key uncached"
    )
    parser.add_argument("--upstream", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.upstream:
        _raise_file_limit(2 * 8192)
        uvloop.run(_serve_slow(args.port, args.seconds, args.events))
        return
    before = load()
    found = run(args.streams, args.seconds, args.events, args.src, warm=not args.cold)
    print("\n".join(f"- {name}: {value}" for name, value in machine().items()))
    print(f"- load (1, 5, 15 min): before {before}; after {load()}")
    command = ["bench/streams.py", *sys.argv[1:]]
    spread = f"{args.events} events per stream over {args.seconds:g} s"
    spread += "; the key uncached (no warm-up)" if args.cold else "; after one warm-up call"
    print(f"- command: {' '.join(command)}; {spread}")
    if found["failure_kinds"]:
        print(f"- failures, first kinds: {found['failure_kinds']}")
    print()
    rows = [
        [
            f"{found['streams']:,}",
            str(found["failures"]),
            f"x{found['median']:.3f}",
            f"x{found['p99']:.3f}",
            f"x{found['worst']:.3f}",
            f"{found['first_median']:.2f}",
            f"{found['first_p99']:.2f}",
            f"{found['wall']:.1f}",
            f"{found['hub_cpu']:.1f}",
            f"{found['others_cpu']:.1f}",
            f"{found['idle_rss']:.0f}",
            f"{found['peak_rss']:.0f}",
        ]
    ]
    headers = ["streams", "failed", "median duration", "p99 duration", "worst"]
    headers += ["first event p50 s", "first event p99 s", "wall s"]
    headers += ["hub CPU s", "client + upstream CPU s", "hub RSS before MiB"]
    headers += ["hub peak RSS MiB"]
    print(markdown_table(headers, rows))


if __name__ == "__main__":
    main()
