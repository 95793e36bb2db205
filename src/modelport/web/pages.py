"""Renders the panel's templates, whole or one block, with the panel's security headers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from modelport.core.digest import Digester
from modelport.core.money import usd
from modelport.web import csrf
from modelport.web.cookies import set_seed

SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


def day(value: date | None) -> str:
    """A date as `Nov 27, 2026`; an em dash for none."""
    return "—" if value is None else f"{value:%b} {value.day}, {value.year}"


def moment(value: datetime | None) -> str:
    """A time to the minute, in UTC; `Never` for none."""
    return "Never" if value is None else f"{day(value)}, {value:%H:%M} UTC"


def money(picousd: int) -> str:
    """Picodollars as exact dollars, at least to the cent: `$0.50`, `$0.0000125`."""
    whole, _, fraction = usd(picousd).partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def number(value: int) -> str:
    return f"{value:,}"


def price(value: Decimal) -> str:
    """A catalog price, exact, at least to the cent: `$2.00`, `$0.075`."""
    whole, _, fraction = f"{value.normalize():f}".partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def sentence(message: str) -> str:
    """A service's message as a sentence: capitalised, with a full stop."""
    if not message:
        return message
    text = message[0].upper() + message[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


class Pages:
    """The template environment; `render` answers a request with a page or one block."""

    def __init__(self, digester: Digester) -> None:
        self._digester = digester
        self._env = Environment(
            loader=PackageLoader("modelport.web", "templates"),
            autoescape=select_autoescape(default=True),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            day=day, moment=moment, sentence=sentence, money=money, number=number, price=price
        )
        # Macros are a global, so that a block rendered alone can use them too.
        self._env.globals["ui"] = self._env.get_template("_macros.html").make_module()

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        block: str | None = None,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        """The template (or only `block` of it) as a response. Sets the CSRF seed cookie
        when the browser had none."""
        page = self._env.get_template(template)
        values = {
            "member": getattr(request.state, "member", None),
            "csrf_token": csrf.token_for(request, self._digester),
            "csrf_field": csrf.FIELD,
            "path": request.url.path,
            **context,
        }
        if block is None:
            html = page.render(values)
        else:
            html = "".join(page.blocks[block](page.new_context(values)))
        response = HTMLResponse(html, status_code=status, headers={**SECURITY_HEADERS})
        for name, value in (headers or {}).items():
            response.headers[name] = value
        seed = csrf.new_seed(request)
        if seed is not None:
            set_seed(request, response, seed)
        return response
