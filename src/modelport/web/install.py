"""Mounts the panel on the hub's app: its pages at `/`, its static files at `/static`, and a
"Not found" page for the paths it owns that no route serves."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from modelport.components import Components
from modelport.hub.services import Services
from modelport.web import account_routes, catalog_routes, keys_routes, team_routes, usage_routes
from modelport.web.pages import Pages
from modelport.web.panel import Panel
from modelport.web.routing import not_found_pages

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, hub: Components, services: Services) -> None:
    app.state.panel = Panel(hub, services, Pages(hub.digester))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for routes in (account_routes, keys_routes, catalog_routes, usage_routes, team_routes):
        app.include_router(routes.router)
    app.router.default = not_found_pages(app.router.default)
