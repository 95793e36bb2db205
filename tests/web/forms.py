"""Posting the panel's forms over plain HTTP, as a script (or an attacker) would."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

_CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    """The first form token on a page."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form token"
    return found.group(1)


@contextmanager
def signed_in_client(url: str, email: str, password: str) -> Iterator[tuple[httpx.Client, str]]:
    """A client signed in through the sign-in form, and its form token."""
    with httpx.Client(base_url=url, timeout=30) as client:
        token = csrf_of(client.get("/sign-in").text)
        response = client.post(
            "/sign-in", data={"email": email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 303, response.text
        yield client, csrf_of(client.get("/inference").text)
