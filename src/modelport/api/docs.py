"""`/docs`: Swagger UI from the hub's own copy of its assets (`static/swagger/`), so the page
works where the hub has no internet access; FastAPI's default loads them from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import HTMLResponse
from starlette.staticfiles import StaticFiles

ASSETS = Path(__file__).parent / "static" / "swagger"
DOCS_URL = "/docs"
ASSETS_URL = DOCS_URL + "/static"


def install(app: FastAPI) -> None:
    """Serve the page at `/docs` and its assets under `/docs/static/`."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS), name="swagger")

    @app.get(DOCS_URL, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon-32x32.png",
            # Swagger UI's validator badge would send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None},
        )
