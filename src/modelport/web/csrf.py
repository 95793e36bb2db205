"""CSRF protection for every panel form: a hidden field bound to the browser's cookie.

The field is HMAC(server secret, session token); before sign-in, HMAC of a random seed
cookie. A page on another site can neither read the cookie nor compute the field, so it
cannot forge a form post, and a form from another session does not fit this one.
"""

from __future__ import annotations

import hmac
import secrets

from starlette.requests import Request

from modelport.core.digest import Digester
from modelport.errors import Forbidden

SESSION_COOKIE = "mp_session"
SEED_COOKIE = "mp_seed"
FIELD = "csrf_token"
REFUSED = "This form has expired or did not come from this site. Reload the page and try again."


def _source(request: Request) -> str | None:
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        return "session:" + session
    seed = request.cookies.get(SEED_COOKIE) or getattr(request.state, "new_seed", None)
    return None if seed is None else "seed:" + seed


def token_for(request: Request, digester: Digester) -> str:
    """The form token for this browser. A browser with no cookie yet gets a new seed,
    which `new_seed` hands to the response."""
    source = _source(request)
    if source is None:
        request.state.new_seed = secrets.token_urlsafe(32)
        source = "seed:" + request.state.new_seed
    return digester.digest("csrf:" + source).hex()


def new_seed(request: Request) -> str | None:
    """The seed cookie this response must set, if `token_for` made one."""
    seed: str | None = getattr(request.state, "new_seed", None)
    return seed


def check(request: Request, submitted: object, digester: Digester) -> None:
    """Raises Forbidden unless `submitted` is this browser's form token."""
    source = _source(request)
    if source is None or not isinstance(submitted, str):
        raise Forbidden(REFUSED)
    expected = digester.digest("csrf:" + source).hex()
    if not hmac.compare_digest(submitted.encode(), expected.encode()):
        raise Forbidden(REFUSED)
