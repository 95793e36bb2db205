"""Tokens and people (owners only): API tokens, each shown once, and the team's users."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.responses import Response

from modelport.auth.member import ROLES, Member
from modelport.core.secrets import PlainSecret
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput, NotFound
from modelport.hub.deps import ReadUnit, WriteUnit
from modelport.web.deps import CheckedForm, Owner, PanelDep, caller_of, text
from modelport.web.panel import Panel
from modelport.web.routing import PanelRoute, Rejected
from modelport.web.windows import changed, refused, window

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

PAGE = "/team"
ItemId = Annotated[uuid.UUID, Path()]


@dataclass(frozen=True, slots=True)
class NewToken:
    name: str
    secret: PlainSecret


@dataclass(frozen=True, slots=True)
class NewInvite:
    email: str
    link: str


async def _tokens(
    panel: Panel,
    unit: UnitOfWork,
    member: Member,
    *,
    new_token: NewToken | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    tokens = await panel.services.tokens(unit).list(member.team_id)
    return {"tokens": tokens, "new_token": new_token, "token_notice": notice}


async def _people(
    panel: Panel,
    unit: UnitOfWork,
    member: Member,
    *,
    new_invite: NewInvite | None = None,
    notice: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "people": await panel.services.people(unit).of_team(member.team_id),
        "invitations": await panel.services.invitations(unit).pending(member),
        "roles": ROLES,
        "new_invite": new_invite,
        "people_notice": notice,
        "people_error": error,
    }


@router.get(PAGE)
async def team_page(request: Request, member: Owner, panel: PanelDep, unit: ReadUnit) -> Response:
    context = {**await _tokens(panel, unit, member), **await _people(panel, unit, member)}
    context |= _webhook(await panel.services.leaks(unit).webhook_url(member.team_id))
    return panel.pages.render(request, "team.html", context)


def _webhook(
    url: str | None, notice: str | None = None, error: str | None = None
) -> dict[str, Any]:
    return {"webhook_url": url, "webhook_notice": notice, "webhook_error": error}


@router.post(PAGE + "/webhook")
async def set_webhook(
    request: Request, member: Owner, form: CheckedForm, panel: PanelDep, unit: WriteUnit
) -> Response:
    given = text(form, "webhook_url").strip()
    try:
        url = await panel.services.leaks(unit).set_webhook_url(
            caller_of(request, member), given or None
        )
    except InvalidInput as exc:
        context = _webhook(given, error=exc.message)
        raise Rejected(
            panel.pages.render(request, "team.html", context, block="webhook", status=422)
        ) from None
    notice = "Webhook saved." if url else "Webhook removed: leaks show in the panel only."
    return changed(request, panel, "team.html", "webhook", _webhook(url, notice))


@router.get(PAGE + "/tokens/new")
async def token_window(request: Request, _: Owner, panel: PanelDep) -> Response:
    context = {"name": "", "read_only": False}
    return window(request, panel, "team/token_create.html", context, PAGE)


@router.post(PAGE + "/tokens")
async def create_token(
    request: Request, member: Owner, form: CheckedForm, panel: PanelDep, unit: WriteUnit
) -> Response:
    tokens, name, read_only = (
        panel.services.tokens(unit),
        text(form, "name"),
        bool(text(form, "read_only")),
    )
    team = await tokens.team(member.team_name)
    try:
        token, secret = await tokens.issue(
            team, name, read_only=read_only, created_by=member.principal.actor
        )
    except InvalidInput as exc:
        context = {"name": name, "read_only": read_only}
        raise refused(request, panel, "team/token_create.html", context, exc) from None
    context = await _tokens(panel, unit, member, new_token=NewToken(token.name, secret))
    return changed(request, panel, "team.html", "tokens", context)


@router.get(PAGE + "/tokens/{token_id}/revoke")
async def revoke_window(
    request: Request, token_id: ItemId, member: Owner, panel: PanelDep, unit: ReadUnit
) -> Response:
    tokens = await panel.services.tokens(unit).list(member.team_id)
    token = next((t for t in tokens if t.id == token_id), None)
    if token is None:
        raise NotFound("no such API token")
    return window(request, panel, "team/token_revoke.html", {"token": token}, PAGE)


@router.post(PAGE + "/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request,
    token_id: ItemId,
    member: Owner,
    _: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    await panel.services.tokens(unit).revoke(member.team_id, token_id)
    context = await _tokens(panel, unit, member, notice="Token revoked.")
    return changed(request, panel, "team.html", "tokens", context)


@router.get(PAGE + "/invitations/new")
async def invite_window(request: Request, _: Owner, panel: PanelDep) -> Response:
    context = {"email": "", "roles": ROLES, "chosen_role": "member"}
    return window(request, panel, "team/invite.html", context, PAGE)


@router.post(PAGE + "/invitations")
async def invite(
    request: Request, member: Owner, form: CheckedForm, panel: PanelDep, unit: WriteUnit
) -> Response:
    email, role = text(form, "email"), text(form, "role")
    try:
        invitation, code = await panel.services.invitations(unit).invite(member, email, role)
    except InvalidInput as exc:
        context = {"email": email, "roles": ROLES, "chosen_role": role}
        raise refused(request, panel, "team/invite.html", context, exc) from None
    link = f"{str(request.base_url).rstrip('/')}/join?code={code}"
    new_invite = NewInvite(invitation.email or email, link)
    context = await _people(panel, unit, member, new_invite=new_invite)
    return changed(request, panel, "team.html", "people", context)


@router.post(PAGE + "/invitations/{invitation_id}/cancel")
async def cancel_invitation(
    request: Request,
    invitation_id: ItemId,
    member: Owner,
    _: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    await panel.services.invitations(unit).cancel(member, invitation_id)
    context = await _people(panel, unit, member, notice="Invitation cancelled.")
    return changed(request, panel, "team.html", "people", context)


@router.post(PAGE + "/users/{user_id}/role")
async def set_role(
    request: Request,
    user_id: ItemId,
    member: Owner,
    form: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    try:
        user = await panel.services.people(unit).set_role(member, user_id, text(form, "role"))
    except InvalidInput as exc:
        context = await _people(panel, unit, member, error=exc.message)
        raise Rejected(
            panel.pages.render(request, "team.html", context, block="people", status=422)
        ) from None
    context = await _people(panel, unit, member, notice=f"{user.email} is now {user.role}.")
    return changed(request, panel, "team.html", "people", context)
