"""The Serverless inference page: its Model Access Keys section and the key windows.

The windows (create, rename, limits, regenerate, delete) are fetched into the page's one dialog.
A change answers with the section re-rendered, and closes the window; a refused change
answers with the window re-rendered, its error next to the field.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from modelport.auth.member import Member
from modelport.core.clock import utcnow
from modelport.core.paging import PageRequest, page_count
from modelport.core.secrets import PlainSecret
from modelport.db.tables import ModelKey
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput
from modelport.hub.deps import ReadUnit, WriteUnit
from modelport.keys.limits import parse_top_up
from modelport.keys.overlap import old_secret_expires_at
from modelport.usage.period import month_start
from modelport.web.deps import CheckedForm, KeyEditor, PanelDep, SignedIn, caller_of, text
from modelport.web.limit_fields import (
    LimitTexts,
    changed_limits,
    in_panel_words,
    shown,
    summary,
    typed,
)
from modelport.web.panel import Panel
from modelport.web.routing import PanelRoute
from modelport.web.windows import changed, refused, window

router = APIRouter(route_class=PanelRoute, include_in_schema=False)

PAGE = "/inference"
KeyId = Annotated[uuid.UUID, Path()]
NOT_THE_NAME = "That is not the key's name: type it exactly as shown."


@dataclass(frozen=True, slots=True)
class Revealed:
    """A secret shown once, in the section that answers its create or regenerate."""

    key_id: uuid.UUID
    secret: PlainSecret


async def _section(
    panel: Panel,
    unit: UnitOfWork,
    member: Member,
    page: int = 1,
    *,
    revealed: Revealed | None = None,
    notice: str | None = None,
) -> dict[str, Any]:
    wanted = PageRequest.parse(page, None)
    listing = await panel.services.keys(unit).page(member.team_id, wanted)
    spend = await _spend(panel, unit, member)
    now = utcnow()
    return {
        "keys": listing.items,
        "spend": spend,
        "limits": {key.id: summary(key, spend.get(key.id, 0), now) for key in listing.items},
        "old_secrets": {key.id: old_secret_expires_at(key, now) for key in listing.items},
        "page": wanted.page,
        "pages": page_count(listing.total, wanted.per_page),
        "can_edit": member.principal.can("keys:write"),
        "revealed": revealed,
        "notice": notice,
    }


async def _spend(panel: Panel, unit: UnitOfWork, member: Member) -> dict[uuid.UUID, int]:
    """This month's spend of each of the team's keys that spent anything, in picodollars."""
    return await panel.services.usage(unit).spend_by_key(member.team_id, month_start(utcnow()))


@router.get(PAGE)
async def inference_page(
    request: Request,
    member: SignedIn,
    panel: PanelDep,
    unit: ReadUnit,
    page: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    context = await _section(panel, unit, member, page)
    context["base_url"] = str(request.base_url).rstrip("/")
    context["leaks"] = await panel.services.leaks(unit).recent(member.team_id)
    return panel.pages.render(request, "inference.html", context)


@router.get(PAGE + "/keys/new")
async def create_window(request: Request, _: KeyEditor, panel: PanelDep) -> Response:
    context = _create_context(panel, "", [], shown(None))
    return window(request, panel, "keys/create.html", context, PAGE)


@router.post(PAGE + "/keys")
async def create_key(
    request: Request, member: KeyEditor, form: CheckedForm, panel: PanelDep, unit: WriteUnit
) -> Response:
    name, models = text(form, "name"), [m for m in form.getlist("models") if isinstance(m, str)]
    entered = typed(form)
    try:
        key, secret = await panel.services.keys(unit).create(
            caller_of(request, member), name, models or None, changed_limits(None, entered)
        )
    except InvalidInput as exc:
        context = _create_context(panel, name, models, entered)
        raise refused(request, panel, "keys/create.html", context, in_panel_words(exc)) from None
    revealed = Revealed(key.id, secret)
    context = await _section(panel, unit, member, revealed=revealed, notice="Key created.")
    return changed(request, panel, "inference.html", "keys", context)


def _create_context(
    panel: Panel, name: str, chosen: list[str], entered: LimitTexts
) -> dict[str, Any]:
    return {
        "name": name,
        "chosen": chosen,
        "choices": panel.hub.catalog.all(),
        "limits": entered,
        "spent": None,
    }


@router.get(PAGE + "/keys/{key_id}/rename")
async def rename_window(
    request: Request, key_id: KeyId, member: KeyEditor, panel: PanelDep, unit: ReadUnit
) -> Response:
    key = await panel.services.keys(unit).get(member.team_id, key_id)
    return window(request, panel, "keys/rename.html", {"key": key, "name": key.name}, PAGE)


@router.post(PAGE + "/keys/{key_id}/rename")
async def rename_key(
    request: Request,
    key_id: KeyId,
    member: KeyEditor,
    form: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    keys, name = panel.services.keys(unit), text(form, "name")
    try:
        key = await keys.rename(caller_of(request, member), key_id, name)
    except InvalidInput as exc:
        context = {"key": await keys.get(member.team_id, key_id), "name": name}
        raise refused(request, panel, "keys/rename.html", context, exc) from None
    notice = f"Key renamed to {key.name}."
    context = await _section(panel, unit, member, notice=notice)
    return changed(request, panel, "inference.html", "keys", context)


async def _limits_context(
    panel: Panel, unit: UnitOfWork, member: Member, key: ModelKey, entered: LimitTexts
) -> dict[str, Any]:
    spent = (await _spend(panel, unit, member)).get(key.id, 0)
    return {"key": key, "limits": entered, "spent": spent}


@router.get(PAGE + "/keys/{key_id}/limits")
async def limits_window(
    request: Request, key_id: KeyId, member: KeyEditor, panel: PanelDep, unit: ReadUnit
) -> Response:
    key = await panel.services.keys(unit).get(member.team_id, key_id)
    context = await _limits_context(panel, unit, member, key, shown(key))
    return window(request, panel, "keys/limits.html", context, PAGE)


@router.post(PAGE + "/keys/{key_id}/limits")
async def update_limits(
    request: Request,
    key_id: KeyId,
    member: KeyEditor,
    form: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    """Changes the limits whose fields differ from what the window showed; none is no change."""
    keys, entered = panel.services.keys(unit), typed(form)
    key = await keys.get(member.team_id, key_id)
    try:
        changes = changed_limits(key, entered)
        if not changes.empty:
            key = await keys.update(caller_of(request, member), key_id, limits=changes)
    except InvalidInput as exc:
        context = await _limits_context(panel, unit, member, key, entered)
        raise refused(request, panel, "keys/limits.html", context, in_panel_words(exc)) from None
    notice = f"Limits of {key.name} {'unchanged' if changes.empty else 'updated'}."
    context = await _section(panel, unit, member, notice=notice)
    return changed(request, panel, "inference.html", "keys", context)


async def _credit_context(
    panel: Panel, unit: UnitOfWork, key: ModelKey, amount: str = ""
) -> dict[str, Any]:
    return {"key": key, "credit": await panel.services.keys(unit).credit(key), "amount": amount}


@router.get(PAGE + "/keys/{key_id}/credit")
async def credit_window(
    request: Request, key_id: KeyId, member: KeyEditor, panel: PanelDep, unit: ReadUnit
) -> Response:
    key = await panel.services.keys(unit).get(member.team_id, key_id)
    context = await _credit_context(panel, unit, key)
    return window(request, panel, "keys/credit.html", context, PAGE)


@router.post(PAGE + "/keys/{key_id}/credit")
async def top_up_credit(
    request: Request,
    key_id: KeyId,
    member: KeyEditor,
    form: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    """Adds the amount typed to the key's prepaid credit (audited, as through the API)."""
    keys, amount = panel.services.keys(unit), text(form, "amount_usd").strip().removeprefix("$")
    try:
        key, _ = await keys.top_up(caller_of(request, member), key_id, parse_top_up(amount))
    except InvalidInput as exc:
        context = await _credit_context(panel, unit, await keys.get(member.team_id, key_id), amount)
        said = InvalidInput(exc.message.replace("amount_usd", "The amount", 1), field="amount_usd")
        raise refused(request, panel, "keys/credit.html", context, said) from None
    notice = f"Credit of {key.name} topped up by ${amount}."
    context = await _section(panel, unit, member, notice=notice)
    return changed(request, panel, "inference.html", "keys", context)


def _confirm_context(key: ModelKey, action: str, typed: str = "") -> dict[str, Any]:
    if action == "regenerate":
        return {
            "key": key,
            "action": action,
            "typed": typed,
            "mismatch": NOT_THE_NAME,
            "title": "Regenerate model access key",
            "submit": "Regenerate access key",
            "warning": "The current secret stops working at once. Apps that use it fail "
            "until you give them the new one.",
        }
    return {
        "key": key,
        "action": action,
        "typed": typed,
        "mismatch": NOT_THE_NAME,
        "title": "Delete model access key",
        "submit": "Delete access key",
        "warning": "The key is deleted for good, and every app that uses it loses access at once.",
    }


@router.get(PAGE + "/keys/{key_id}/{action}")
async def confirm_window(
    request: Request,
    key_id: KeyId,
    action: Annotated[str, Path(pattern="^(regenerate|delete)$")],
    member: KeyEditor,
    panel: PanelDep,
    unit: ReadUnit,
) -> Response:
    key = await panel.services.keys(unit).get(member.team_id, key_id)
    return window(request, panel, "keys/confirm.html", _confirm_context(key, action), PAGE)


async def _confirmed(
    request: Request,
    panel: Panel,
    unit: UnitOfWork,
    member: Member,
    key_id: uuid.UUID,
    action: str,
    typed: str,
) -> None:
    """Raises Rejected (the window, with its error) unless `typed` is the key's name."""
    key = await panel.services.keys(unit).get(member.team_id, key_id)
    if typed != key.name:
        error = InvalidInput(NOT_THE_NAME, field="confirm")
        raise refused(
            request, panel, "keys/confirm.html", _confirm_context(key, action, typed), error
        )


@router.post(PAGE + "/keys/{key_id}/regenerate")
async def regenerate_key(
    request: Request,
    key_id: KeyId,
    member: KeyEditor,
    form: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    await _confirmed(request, panel, unit, member, key_id, "regenerate", text(form, "confirm"))
    key, secret = await panel.services.keys(unit).regenerate(caller_of(request, member), key_id)
    revealed = Revealed(key.id, secret)
    notice = f"Key {key.name} has a new secret."
    context = await _section(panel, unit, member, revealed=revealed, notice=notice)
    return changed(request, panel, "inference.html", "keys", context)


@router.post(PAGE + "/keys/{key_id}/delete")
async def delete_key(
    request: Request,
    key_id: KeyId,
    member: KeyEditor,
    form: CheckedForm,
    panel: PanelDep,
    unit: WriteUnit,
) -> Response:
    await _confirmed(request, panel, unit, member, key_id, "delete", text(form, "confirm"))
    key = await panel.services.keys(unit).delete(caller_of(request, member), key_id)
    notice = f"Key {key.name} deleted."
    context = await _section(panel, unit, member, notice=notice)
    return changed(request, panel, "inference.html", "keys", context)
