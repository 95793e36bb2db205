"""Sign-in, sign-out, and the one-time links that create accounts (setup and invitations)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from modelport.errors import InvalidInput, Unauthenticated
from modelport.hub.deps import ReadUnit, WriteUnit
from modelport.web import cookies, csrf
from modelport.web.deps import CheckedForm, PanelDep, text
from modelport.web.panel import Panel
from modelport.web.routing import PanelRoute, Rejected, redirect

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

HOME = "/inference"
PASSWORDS_DIFFER = "the two passwords are not the same"


def _local(target: str | None) -> str:
    """Where to go after sign-in: a path on this site, never another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return HOME


@router.get("/")
async def root(request: Request) -> Response:
    return redirect(request, HOME)


@router.get("/sign-in")
async def sign_in_page(
    request: Request, panel: PanelDep, next: Annotated[str | None, Query()] = None
) -> Response:
    return panel.pages.render(request, "sign_in.html", {"next": _local(next), "email": ""})


@router.post("/sign-in")
async def sign_in(request: Request, panel: PanelDep, form: CheckedForm) -> Response:
    """Two units of work: checking the password (slow on purpose) only reads, so on SQLite
    it never holds the write lock; the session is written after."""
    email, target = text(form, "email"), _local(text(form, "next"))
    client = request.client.host if request.client else None
    try:
        async with panel.hub.database.read() as unit:
            member = await panel.services.sessions(unit).authenticate(
                email, text(form, "password"), client
            )
    except Unauthenticated as exc:
        context = {"next": target, "email": email, "error": exc.message}
        return panel.pages.render(request, "sign_in.html", context, status=401)
    async with panel.hub.database.write() as unit:
        token = await panel.services.sessions(unit).start(member)
    return _signed_in(request, panel, token, target)


def _signed_in(request: Request, panel: Panel, token: str, target: str) -> Response:
    response = redirect(request, target)
    cookies.set_session(
        request, response, token, int(panel.services.session_lifetime.total_seconds())
    )
    return response


@router.post("/sign-out")
async def sign_out(request: Request, panel: PanelDep, _: CheckedForm, unit: WriteUnit) -> Response:
    token = request.cookies.get(csrf.SESSION_COOKIE)
    if token:
        await panel.services.sessions(unit).sign_out(token)
    response = redirect(request, "/sign-in")
    cookies.clear_session(request, response)
    return response


@router.get("/setup")
@router.get("/join")
async def join_page(
    request: Request, panel: PanelDep, unit: ReadUnit, code: Annotated[str, Query()] = ""
) -> Response:
    invitation = await panel.services.invitations(unit).describe(code)
    context = {"invitation": invitation, "code": code, "errors": {}, "email": ""}
    return panel.pages.render(request, "join.html", context)


@router.post("/setup")
@router.post("/join")
async def join(request: Request, panel: PanelDep, form: CheckedForm, unit: WriteUnit) -> Response:
    """Create the account the link allows, and sign it in."""
    invitations = panel.services.invitations(unit)
    code, email, password = text(form, "code"), text(form, "email"), text(form, "password")
    invitation = await invitations.describe(code)
    try:
        if password != text(form, "confirm"):
            raise InvalidInput(PASSWORDS_DIFFER, field="confirm")
        member = await invitations.accept(code, email, password)
    except InvalidInput as exc:
        context = {
            "invitation": invitation,
            "code": code,
            "email": email,
            "errors": {exc.field or "email": exc.message},
        }
        raise Rejected(panel.pages.render(request, "join.html", context, status=422)) from None
    token = await panel.services.sessions(unit).start(member)
    return _signed_in(request, panel, token, HOME)
