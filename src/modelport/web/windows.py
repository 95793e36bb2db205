"""The panel's one dialog: its content is fetched by htmx, refused forms come back into it,
and a successful change closes it."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from modelport.errors import InvalidInput
from modelport.web.pages import is_htmx
from modelport.web.panel import Panel
from modelport.web.routing import Rejected, redirect

CLOSE_WINDOW = {"hx-trigger-after-settle": json.dumps({"close-modal": True})}
INTO_WINDOW = {"hx-retarget": "#modal-body", "hx-reswap": "innerHTML"}


def window(
    request: Request, panel: Panel, template: str, context: dict[str, Any], fallback: str
) -> Response:
    """The window's content; a browser that asks for it without htmx goes to `fallback`."""
    if not is_htmx(request):
        return redirect(request, fallback)
    return panel.pages.render(request, template, {"errors": {}, **context})


def refused(
    request: Request, panel: Panel, template: str, context: dict[str, Any], exc: InvalidInput
) -> Rejected:
    """The window again, in place of the open one, with the error next to its field."""
    errors = {exc.field or "name": exc.message}
    response = panel.pages.render(
        request, template, {**context, "errors": errors}, status=422, headers=INTO_WINDOW
    )
    return Rejected(response)


def changed(
    request: Request, panel: Panel, template: str, block: str, context: dict[str, Any]
) -> Response:
    """The changed section of the page, and the order to close the window."""
    return panel.pages.render(request, template, context, block=block, headers=CLOSE_WINDOW)
