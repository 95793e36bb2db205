"""How panel routes answer failures: as pages, never as the API's JSON errors."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from modelport.api.v2_errors import status_of
from modelport.errors import ModelportError
from modelport.web.pages import is_htmx
from modelport.web.panel import Panel

TITLES = {
    400: "That did not work",
    403: "Not allowed",
    404: "Not found",
    503: "Try again shortly",
}
NO_SUCH_PAGE = "There is no such page. It may have been deleted."
NOT_THE_PANELS = ("/v1", "/v2", "/healthz", "/readyz", "/metrics", "/openapi.json", "/docs")
"""Paths of the APIs and the operations endpoints: their unknown paths answer as they do."""


class SignInRequired(Exception):
    """No valid session: the browser goes to the sign-in page, and comes back after."""


class Rejected(Exception):
    """A form answered with `response` (itself, with its errors). Raised rather than
    returned, so that the request's unit of work rolls back whatever the service began."""

    def __init__(self, response: Response) -> None:
        super().__init__("form rejected")
        self.response = response


def redirect(request: Request, url: str) -> Response:
    """A 303 to `url`; for htmx, which would follow it silently, an `HX-Redirect` instead."""
    if is_htmx(request):
        return Response(status_code=200, headers={"hx-redirect": url})
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, status: int, message: str) -> Response:
    """The error as a page, or, for htmx, as the body of the panel's dialog."""
    panel: Panel = request.app.state.panel
    context = {"title": TITLES.get(status, "Something went wrong"), "message": message}
    if is_htmx(request):
        headers = {"hx-retarget": "#modal-body", "hx-reswap": "innerHTML"}
        return panel.pages.render(
            request, "message.html", context, block="dialog", status=status, headers=headers
        )
    return panel.pages.render(request, "message.html", context, status=status)


class PanelRoute(APIRoute):
    """Turns a missing session into a trip to sign-in, and modelport's errors into pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handle(request)
            except Rejected as rejected:
                return rejected.response
            except SignInRequired:
                return redirect(request, "/sign-in?next=" + quote(request.url.path))
            except RequestValidationError:
                return error_page(request, 404, NO_SUCH_PAGE)
            except ModelportError as exc:
                return error_page(request, status_of(exc), exc.message)

        return guarded


def owns(path: str) -> bool:
    """Whether `path` is the panel's to answer: anything outside `NOT_THE_PANELS`."""
    return not any(path == root or path.startswith(root + "/") for root in NOT_THE_PANELS)


def not_found_pages(fallback: ASGIApp) -> ASGIApp:
    """The app's answer when no route matches: a "Not found" page for the panel's paths,
    `fallback` (the API's JSON 404) for the rest."""

    async def not_found(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not owns(scope["path"]):
            await fallback(scope, receive, send)
            return
        response = error_page(Request(scope, receive), 404, NO_SUCH_PAGE)
        await response(scope, receive, send)

    return not_found
