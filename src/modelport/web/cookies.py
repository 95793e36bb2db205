"""The panel's cookies: HttpOnly, SameSite=Lax, and Secure whenever the page came over https."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from modelport.web.csrf import SEED_COOKIE, SESSION_COOKIE


def _set(request: Request, response: Response, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def set_session(request: Request, response: Response, token: str, max_age: int) -> None:
    _set(request, response, SESSION_COOKIE, token, max_age)


def set_seed(request: Request, response: Response, seed: str) -> None:
    _set(request, response, SEED_COOKIE, seed, None)


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
