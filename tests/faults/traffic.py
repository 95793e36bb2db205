"""Traffic for fault tests: /v1 requests that remember how they ended, and key operations that
remember what the hub acknowledged."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.faults.helpers import CHAT, KEYS, bearer, chat_body

PACED_PIECES = 8
"""A paced stream this long lasts about half a second."""


@dataclass
class Sent:
    """One /v1 request: its id and status once headers came back, and how it ended."""

    kind: str
    request_id: str | None = None
    status: int | None = None
    completed: bool = False
    """Plain: 200 with a body. Stream: `data: [DONE]` arrived."""
    error: str | None = None
    seconds: float = 0.0


async def send_plain(
    client: httpx.AsyncClient, url: str, secret: str, into: Sent | None = None
) -> Sent:
    """A chat completion, noted in `into` as it goes; transport errors are noted, not raised."""
    sent, started = into or Sent("plain"), time.monotonic()
    try:
        response = await client.post(url + CHAT, json=chat_body(), headers=bearer(secret))
        sent.request_id = response.headers.get("x-request-id")
        sent.status = response.status_code
        sent.completed = response.status_code == 200 and bool(response.json()["choices"])
    except httpx.TransportError as exc:
        sent.error = type(exc).__name__
    sent.seconds = time.monotonic() - started
    return sent


async def send_stream(
    client: httpx.AsyncClient, url: str, secret: str, into: Sent | None = None
) -> Sent:
    """A paced streaming chat completion read to its end, noted in `into` as it goes."""
    sent, started = into or Sent("stream"), time.monotonic()
    body = chat_body(model="test-paced", stream=True, max_tokens=PACED_PIECES)
    try:
        async with client.stream("POST", url + CHAT, json=body, headers=bearer(secret)) as response:
            sent.request_id = response.headers.get("x-request-id")
            sent.status = response.status_code
            async for line in response.aiter_lines():
                sent.completed = sent.completed or line == "data: [DONE]"
    except httpx.TransportError as exc:
        sent.error = type(exc).__name__
    sent.seconds = time.monotonic() - started
    return sent


@dataclass
class KeyState:
    """A key as last acknowledged, and the operation in flight on it if one was cut off."""

    uuid: str
    name: str
    secret: str
    deleted: bool = False
    pending: tuple[str, Any] | None = None
    retired: list[str] = field(default_factory=list)
    """Secrets an acknowledged regenerate replaced."""


@dataclass
class KeyOperator:
    """Creates, renames, regenerates and deletes keys, one operation at a time."""

    apis: list[httpx.AsyncClient]
    """/v2 clients, one per replica; operations rotate over them."""
    keys: list[KeyState] = field(default_factory=list)
    acknowledged: int = 0
    refused: list[str] = field(default_factory=list)
    """Operations answered with something other than 200."""
    failed: list[str] = field(default_factory=list)
    """Operations that got no answer at all (a transport error)."""
    _turn: int = 0

    async def lifecycle(self, name: str, delete: bool = True) -> KeyState | None:
        """One key's create, rename, regenerate (and delete); None once a replica is gone."""
        key = await self.operate(None, "create", name)
        if key is None:
            return None
        for op, value in (("rename", f"{name}-renamed"), ("regenerate", None)):
            if await self.operate(key, op, value) is None:
                return None
        if delete and await self.operate(key, "delete", None) is None:
            return None
        return key

    async def operate(self, key: KeyState | None, op: str, value: Any) -> KeyState | None:
        """Apply one operation and note what was acknowledged; None on a transport error."""
        if key is not None:
            key.pending = (op, value)
        api = self.apis[self._turn % len(self.apis)]
        self._turn += 1
        try:
            response = await _send(api, key, op, value)
        except httpx.TransportError as exc:
            self.failed.append(f"{op}: {exc!r}")
            return None
        if response.status_code != 200:
            self.refused.append(f"{op}: {response.status_code} {response.text[:200]}")
            return None
        info = response.json()["api_key_info"]
        self.acknowledged += 1
        if key is None:
            key = KeyState(info["uuid"], info["name"], info["secret_key"])
            self.keys.append(key)
        elif op == "rename":
            key.name = info["name"]
        elif op == "regenerate":
            key.retired.append(key.secret)
            key.secret = info["secret_key"]
        elif op == "delete":
            key.deleted = True
        key.pending = None
        return key


async def _send(
    api: httpx.AsyncClient, key: KeyState | None, op: str, value: Any
) -> httpx.Response:
    if key is None:
        return await api.post(KEYS, json={"name": value})
    path = f"{KEYS}/{key.uuid}"
    if op == "rename":
        return await api.put(path, json={"name": value})
    if op == "regenerate":
        return await api.put(path + "/regenerate")
    return await api.delete(path)
