"""Accounts: the first-run setup link, the CLI, sign-in, sessions and CSRF."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.databases import create_pg_database, drop_pg_database, dump, sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.web.accounts import PASSWORD, Accounts
from tests.web.browser import sign_in
from tests.web.forms import csrf_of, signed_in_client

SETUP_LINK = re.compile(r"http://\S+/setup\?code=\S+")
SIGN_IN_FAILED = "Incorrect email or password."
CLI_OPTIONS = ["--team", "cli-team", "--role", "viewer", "--password-stdin"]


@pytest.fixture
def fresh_hub(
    backend: str, loop: BackgroundLoop, upstream_env: dict[str, str], tmp_path: Path
) -> Iterator[Hub]:
    """A hub on an empty database of its own: no account exists yet."""
    url = sqlite_url(tmp_path) if backend == "sqlite" else loop.run(create_pg_database())
    server = Hub(url, tmp_path / "hub", loop, upstream_env)
    server.start()
    yield server
    server.stop()
    if backend != "sqlite":
        loop.run(drop_pg_database(url))
    assert not server.leaked_secrets()


def test_the_setup_link_creates_the_owner_once(fresh_hub: Hub, browser: Browser) -> None:
    links = SETUP_LINK.findall(fresh_hub.stdout())
    assert len(links) == 1
    fresh_hub.issued.add(links[0].split("code=")[1])
    page = browser.new_context(base_url=fresh_hub.url).new_page()

    page.goto(links[0])
    expect(page.get_by_role("heading", name="Create the owner account")).to_be_visible()
    page.get_by_label("Email").fill("Owner@Example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD + "?")
    page.get_by_role("button", name="Create owner account").click()
    expect(page.get_by_label("Password again")).to_have_accessible_description(
        "The two passwords are not the same."
    )
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create owner account").click()

    expect(page).to_have_url(re.compile(r"/inference$"))
    expect(page.get_by_text("owner@example.com · owner")).to_be_visible()
    response = page.goto(links[0])
    assert response is not None
    assert response.status == 404
    expect(page.get_by_text("This link is invalid")).to_be_visible()

    fresh_hub.stop()
    fresh_hub.start()
    assert len(SETUP_LINK.findall(fresh_hub.stdout())) == 1, "a second link was printed"
    page.context.close()


def test_users_create_makes_an_account_that_signs_in(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    email = f"cli-{time.monotonic_ns()}@example.com"
    created = subprocess.run(
        [sys.executable, "-m", "modelport", "users", "create", email, *CLI_OPTIONS],
        input=PASSWORD + "\n",
        env=hub.env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    page.goto("/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"{email} · viewer")).to_be_visible()


def test_every_failed_sign_in_says_the_same_and_repeated_ones_slow_down(
    hub: Hub, accounts: Accounts
) -> None:
    account = accounts.create()
    with httpx.Client(base_url=hub.url, timeout=30) as web:
        token = csrf_of(web.get("/sign-in").text)

        def attempt(email: str, password: str) -> tuple[httpx.Response, float]:
            started = time.monotonic()
            form = {"email": email, "password": password, "csrf_token": token}
            return web.post("/sign-in", data=form), time.monotonic() - started

        for email, password in [("nobody@example.com", PASSWORD)] + [
            (account.email, "not the password")
        ] * 5:
            refused, _ = attempt(email, password)
            assert refused.status_code == 401
            assert SIGN_IN_FAILED in refused.text

        throttled, took = attempt(account.email, account.password)
        assert throttled.status_code == 401
        assert SIGN_IN_FAILED in throttled.text
        assert took >= 1.0

        other = accounts.create()
        assert attempt(other.email, other.password)[0].status_code == 303


def test_the_session_cookie_is_http_only_lax_and_stored_only_as_a_digest(
    page: Page, hub: Hub, accounts: Accounts
) -> None:
    sign_in(page, accounts.create())
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "mp_session"]
    hub.issued.add(cookie["value"])
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["secure"] is False
    assert cookie["value"] not in dump(hub.database_url)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    with httpx.Client(base_url=hub.url, cookies={"mp_session": cookie["value"]}) as stale:
        assert stale.get("/inference").headers["location"] == "/sign-in?next=/inference"


def test_pages_forbid_scripts_and_frames_from_elsewhere(hub: Hub) -> None:
    page = httpx.get(hub.url + "/sign-in")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"


def test_the_cookies_are_secure_over_https(hub: Hub, accounts: Accounts) -> None:
    """Behind a TLS proxy (which says so in X-Forwarded-Proto) every cookie is Secure."""
    account = accounts.create()
    https = {"x-forwarded-proto": "https"}
    with httpx.Client(base_url=hub.url, headers=https) as web:
        form_page = web.get("/sign-in")
        assert "; Secure" in form_page.headers["set-cookie"]
        # httpx, rightly, keeps a Secure cookie off plain http: hand it over as the proxy would.
        seed = form_page.cookies["mp_seed"]
        form = {
            "email": account.email,
            "password": account.password,
            "csrf_token": csrf_of(form_page.text),
        }
        signed_in = web.post("/sign-in", data=form, headers={"cookie": f"mp_seed={seed}"})
    assert signed_in.status_code == 303
    cookie = signed_in.headers["set-cookie"]
    hub.issued.add(cookie.split(";")[0].split("=", 1)[1])
    assert cookie.startswith("mp_session=")
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "SameSite=lax" in cookie


def test_a_form_without_its_csrf_token_is_refused(hub: Hub, accounts: Accounts) -> None:
    account = accounts.create()
    other = accounts.create()
    with (
        signed_in_client(hub.url, account.email, account.password) as (web, token),
        signed_in_client(hub.url, other.email, other.password) as (_, strangers_token),
    ):
        for form in ({"name": "forged"}, {"name": "forged", "csrf_token": strangers_token}):
            refused = web.post("/inference/keys", data=form)
            assert refused.status_code == 403
            assert "did not come from this site" in refused.text
        assert "forged" not in web.get("/inference").text

        made = web.post("/inference/keys", data={"name": "genuine", "csrf_token": token})
        assert made.status_code == 200
        hub.issued.update(re.findall(r"mp_[0-9A-Za-z]{38}", made.text))
        assert "genuine" in web.get("/inference").text


def test_an_oversized_form_is_refused(hub: Hub, accounts: Accounts) -> None:
    account = accounts.create()
    with signed_in_client(hub.url, account.email, account.password) as (web, token):
        refused = web.post("/inference/keys", data={"name": "x" * 70_000, "csrf_token": token})
        assert refused.status_code == 400
        assert "at most 64 KiB" in refused.text
        assert "No model access keys yet." in web.get("/inference").text
