"""Panel dependencies that read as permissions: `SignedIn`, `KeyEditor`, `Owner`, `CheckedForm`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.datastructures import FormData

from modelport.api.context import request_id_of
from modelport.auth.member import Member
from modelport.auth.principal import Caller
from modelport.auth.users import require_owner
from modelport.errors import Forbidden, InvalidInput
from modelport.web import csrf
from modelport.web.panel import Panel
from modelport.web.routing import SignInRequired

MAX_FORM_BYTES = 64 * 1024
FORM_TOO_LARGE = f"A form may send at most {MAX_FORM_BYTES // 1024} KiB."
READ_ONLY = "You have the viewer role: you can look, but not change anything."


async def _panel(request: Request) -> Panel:
    panel: Panel = request.app.state.panel
    return panel


PanelDep = Annotated[Panel, Depends(_panel)]


async def _signed_in(request: Request, panel: PanelDep) -> Member:
    """The member behind the session cookie; SignInRequired if there is none."""
    token = request.cookies.get(csrf.SESSION_COOKIE)
    member = None
    if token:
        async with panel.hub.database.read() as unit:
            member = await panel.services.sessions(unit).resolve(token)
    if member is None:
        raise SignInRequired
    request.state.member = member
    return member


SignedIn = Annotated[Member, Depends(_signed_in)]


async def _key_editor(member: SignedIn) -> Member:
    if not member.principal.can("keys:write"):
        raise Forbidden(READ_ONLY)
    return member


async def _owner(member: SignedIn) -> Member:
    require_owner(member)
    return member


KeyEditor = Annotated[Member, Depends(_key_editor)]
Owner = Annotated[Member, Depends(_owner)]


async def _checked_form(request: Request, panel: PanelDep) -> FormData:
    """The posted form, once its CSRF field is shown to belong to this browser.
    InvalidInput for a body without a length or over `MAX_FORM_BYTES`, before reading it."""
    length = request.headers.get("content-length", "")
    if not length.isdigit() or int(length) > MAX_FORM_BYTES:
        raise InvalidInput(FORM_TOO_LARGE)
    form = await request.form()
    csrf.check(request, form.get(csrf.FIELD), panel.hub.digester)
    return form


CheckedForm = Annotated[FormData, Depends(_checked_form)]


def text(form: FormData, name: str) -> str:
    """A text field of the form; empty when missing."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def caller_of(request: Request, member: Member) -> Caller:
    """The member as the services' caller, with the address the audit log records."""
    client = request.client
    return Caller(
        principal=member.principal,
        client_addr=client.host if client else None,
        request_id=request_id_of(request.scope),
    )
