"""Takes the README's screenshots of the panel: `make screenshots`.

A hub on a scratch SQLite database with the shipped catalog (two providers given demo
credentials, so that they show as available); keys made through the panel; this month's
usage written straight into the database, since no real provider is called.
"""

from __future__ import annotations

import random
import sys
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from modelport.auth.repository import TeamRepository
from modelport.catalog.loader import load_catalog
from modelport.config import Settings, environment_value
from modelport.core.clock import utcnow
from modelport.core.pricing import Tokens
from modelport.db.engine import Database
from modelport.keys.repository import KeyRepository
from modelport.usage.period import month_start
from modelport.usage.repository import UsageRepository
from modelport.usage.row import UsageRow
from tests.support.databases import sqlite_url
from tests.support.hub import Hub
from tests.support.loop import BackgroundLoop
from tests.web.accounts import Accounts
from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, create_key, sign_in

TEAM = "acme"
DEMO_ENV = {"OPENAI_API_KEY": "sk-demo", "DIGITALOCEAN_MODEL_ACCESS_KEY": "demo"}
TRAFFIC = {  # key name: (model, requests a day)
    "web-app": ("gpt-4.1-mini", 40),
    "batch-jobs": ("llama3.3-70b-instruct", 25),
    "staging": ("gpt-4o-mini", 8),
}
NOON, MINUTE = timedelta(hours=12), timedelta(minutes=1)
LIMITS = {  # key name: its limits, as typed into the create window
    "staging": {"Expires at (UTC)": f"{utcnow() + timedelta(days=45):%Y-%m-%d}T18:00"},
    "batch-jobs": {"Monthly spend limit (USD)": "150", "Requests per minute": "120"},
}
COMPARE = ["gpt-4.1-mini", "anthropic-claude-3.5-haiku", "llama3.3-70b-instruct"]


async def write_usage(url: str) -> None:
    """A month so far of plausible traffic, one row per request."""
    database = Database(Settings(database_url=url).sqlalchemy_url)
    models = load_catalog(None, environment_value)
    draw, now = random.Random(7), utcnow()
    try:
        async with database.write() as unit:
            team = await TeamRepository(unit.session).by_name(TEAM)
            assert team is not None
            keys = await KeyRepository(unit.session).live_page(
                team.id, offset=0, limit=10, oldest_first=False
            )
            rows = []
            for key in keys:
                model_id, per_day = TRAFFIC[key.name]
                model = models.find(model_id)
                assert model is not None
                caches = model.entry.cached_input_price_per_million is not None
                day = month_start(now)
                while day < now:
                    for _ in range(draw.randint(per_day // 2, per_day)):
                        prompt, completion = draw.randint(200, 3000), draw.randint(50, 900)
                        # Now and then a repeated system prompt, where the upstream caches.
                        cached = draw.choice((0, 0, prompt // 2)) if caches else 0
                        cost = model.prices.cost(Tokens(prompt, completion, cached))
                        rows.append(
                            UsageRow(
                                str(uuid.uuid4()),
                                team.id,
                                key.id,
                                model_id,
                                prompt,
                                completion,
                                cost,
                                "ok",
                                False,
                                300,
                                min(day + NOON, now - MINUTE),
                                cached_prompt_tokens=cached,
                            )
                        )
                    day += timedelta(days=1)
            await UsageRepository(unit.session).insert_once(rows)
    finally:
        await database.dispose()


def shoot(page: Page, hub: Hub, loop: BackgroundLoop, out: Path) -> None:
    sign_in(page, Accounts(hub, loop).create("owner", team=TEAM))
    for name, limits in LIMITS.items():
        create_key(page, hub, name, limits=limits)
    page.reload()
    page.get_by_role("button", name="Create model access key").first.click()
    window = page.get_by_role("dialog", name="Add model access key")
    window.get_by_label("Key name").fill("web-app")
    window.get_by_label("GPT-4.1 mini gpt-4.1-mini").check()
    window.get_by_label("Tokens per minute").fill("200000")
    window.evaluate("dialog => dialog.scrollTo(0, 0)")  # from its title down, as it opened
    page.screenshot(path=out / "create-window.png")
    window.get_by_role("button", name="Add model access key").click()
    page.get_by_label("Secret of web-app").wait_for()
    page.screenshot(path=out / "create-secret.png")

    loop.run(write_usage(hub.database_url))
    page.reload()
    page.screenshot(path=out / "keys.png")
    page.goto("/catalog/compare?" + "&".join(f"models={m}" for m in COMPARE))
    page.screenshot(path=out / "catalog-compare.png", full_page=True)
    page.goto("/usage?by=key")
    page.screenshot(path=out / "usage.png", full_page=True)


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    loop = BackgroundLoop()
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        root = Path(folder)
        hub = Hub(sqlite_url(root), root / "hub", loop, DEMO_ENV)
        hub.start()
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(base_url=hub.url, viewport={"width": 1280, "height": 760})
            shoot(context.new_page(), hub, loop, out)
        finally:
            browser.close()
            hub.stop()
            loop.close()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots"))
