"""The first-run setup link: printed once at start while no account exists."""

from __future__ import annotations

import sys

from modelport.hub.services import Services

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "::": "[::1]", "": "127.0.0.1"}  # noqa: S104


def setup_url(host: str, port: int, code: str) -> str:
    host = WILDCARD_HOSTS.get(host, f"[{host}]" if ":" in host else host)
    return f"http://{host}:{port}/setup?code={code}"


async def announce_setup(services: Services) -> None:
    """Print the setup link on stdout, never in the logs, if no user exists yet.

    Each start prints a new link and kills the ones printed before; the first use of a
    link creates the owner account and kills it too.
    """
    hub = services.hub
    async with hub.database.write() as unit:
        code = await services.invitations(unit).open_setup()
    if code is None:
        return
    url = setup_url(hub.settings.host, hub.settings.port, code)
    sys.stdout.write(
        "modelport: no account exists yet. Open this link once to create the owner account:\n"
        f"  {url}\n"
    )
    sys.stdout.flush()
