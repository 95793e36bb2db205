"""`/docs` renders the API with no network but the hub: Swagger UI's script, stylesheet and
icon come from the hub, and the page asks nothing of any other host."""

from __future__ import annotations

from playwright.sync_api import Page, Route, expect

from tests.support.hub import Hub


def test_the_docs_render_from_the_hub_alone(page: Page, hub: Hub) -> None:
    elsewhere: list[str] = []
    from_hub: list[str] = []

    def only_the_hub(route: Route) -> None:
        url = route.request.url
        if url.startswith(hub.url + "/"):
            from_hub.append(url.removeprefix(hub.url))
            route.continue_()
        else:
            elsewhere.append(url)
            route.abort("internetdisconnected")

    page.route("**/*", only_the_hub)
    page.goto("/docs")
    chat = page.locator(".opblock", has=page.locator("[data-path='/v1/chat/completions']"))
    expect(chat).to_have_count(1)
    expect(chat).to_have_css("border-radius", "4px")  # the stylesheet applies
    expect(page.locator("[data-path='/v2/gen-ai/models/api_keys']").first).to_be_visible()
    assert {"/docs/static/swagger-ui-bundle.js", "/docs/static/swagger-ui.css"} <= set(from_hub)
    assert "/openapi.json" in from_hub
    assert elsewhere == []
