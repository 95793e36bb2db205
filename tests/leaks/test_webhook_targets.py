"""A team's webhook cannot make the hub call its own network unless the operator allows it:
the sender resolves the URL's host and calls only public addresses."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from modelport.infra.webhooks import WebhookSender, public
from tests.leaks.webhook_server import WebhookReceiver


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.mark.parametrize(
    ("addresses", "expected"),
    [
        (["93.184.215.14"], True),
        (["2606:2800:21f:cb07:6820:80da:af6b:8b2c"], True),
        (["127.0.0.1"], False),
        (["10.1.2.3"], False),
        (["169.254.169.254"], False),
        (["::1"], False),
        (["fe80::1%eth0"], False),
        (["93.184.215.14", "192.168.0.1"], False),
        ([], False),
    ],
)
def test_only_public_addresses_are_called(addresses: list[str], expected: bool) -> None:
    assert public(addresses) is expected


async def _send(sender: WebhookSender, url: str) -> None:
    sender.send(url, {"event": "key.leaked"})
    await sender.close()


def test_a_webhook_to_a_private_address_is_not_sent_unless_allowed(
    receiver: WebhookReceiver,
) -> None:
    asyncio.run(_send(WebhookSender(timeout=2), receiver.url("/refused")))
    asyncio.run(_send(WebhookSender(timeout=2, allow_private=True), receiver.url("/allowed")))
    assert [path for path, _, _ in receiver.received] == ["/allowed"]
