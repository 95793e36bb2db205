"""Leaked keys over /v2: GitHub's secret scanning reports, a team's own reports, and the
team settings that say where the team is told."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from pydantic import ValidationError
from starlette.responses import Response

from modelport.api.context import request_id_of
from modelport.api.v2_errors import ERROR_RESPONSES, describe_validation, error_response
from modelport.core.scanning_signature import is_signed
from modelport.errors import InvalidInput, Unauthenticated
from modelport.hub.deps import (
    ComponentsDep,
    KeysReader,
    KeysWriter,
    ReadUnit,
    ServicesDep,
    WriteUnit,
)
from modelport.leaks.schemas import (
    GitHubAnswerItem,
    GitHubReport,
    LeakedSecretResult,
    RevokeLeakedBody,
    RevokeLeakedResponse,
    TeamSettings,
    TeamSettingsBody,
    TeamSettingsResponse,
)
from modelport.leaks.service import LeakService, Reporter

router = APIRouter(tags=["Leaked keys"])

GITHUB_ACTOR = "github-secret-scanning"
REVOKE_LEAKED = "/v2/gen-ai/models/api_keys/revoke_leaked"
UNSIGNED = "The report is not signed by a known GitHub secret scanning key."


async def _writing(unit: WriteUnit, services: ServicesDep) -> LeakService:
    return services.leaks(unit)


async def _reading(unit: ReadUnit, services: ServicesDep) -> LeakService:
    return services.leaks(unit)


WriteLeaks = Annotated[LeakService, Depends(_writing)]
ReadLeaks = Annotated[LeakService, Depends(_reading)]


@router.post(
    "/v2/gen-ai/secret-scanning/github",
    operation_id="genai_github_secret_scanning_report",
    summary="GitHub's secret scanning partner endpoint: revoke (or report) leaked keys",
    description=(
        "Authenticated by GitHub's signature (`Github-Public-Key-Identifier`, "
        "`Github-Public-Key-Signature`: ECDSA P-256, SHA-256, over the raw body), checked "
        "against the keys the operator configured; not by a token. The body is GitHub's list "
        'of `{"token", "type", "url", "source"}`; the answer is its list of '
        '`{"token_raw", "token_type", "label"}`.'
    ),
    responses=ERROR_RESPONSES,
    openapi_extra={"security": []},  # GitHub's signature, not a bearer token
)
async def github_report(
    request: Request,
    hub: ComponentsDep,
    services: ServicesDep,
    key_identifier: Annotated[str | None, Header(alias="Github-Public-Key-Identifier")] = None,
    signature: Annotated[str | None, Header(alias="Github-Public-Key-Signature")] = None,
) -> list[GitHubAnswerItem]:
    body = await request.body()
    if key_identifier is None or signature is None:
        raise Unauthenticated(UNSIGNED)
    public_key = await hub.scanning_keys.key(key_identifier)
    if public_key is None or not is_signed(public_key, signature, body):
        raise Unauthenticated(UNSIGNED)
    try:
        items = GitHubReport.validate_json(body)
    except ValidationError as exc:
        raise InvalidInput(describe_validation(exc.errors())) from None
    revoke = hub.settings.leaked_keys == "revoke"
    client = request.client
    reporter = Reporter(
        GITHUB_ACTOR,
        client_addr=client.host if client else None,
        request_id=request_id_of(request.scope),
    )
    answers: list[GitHubAnswerItem] = []
    async with hub.database.write() as unit:
        leaks = services.leaks(unit)
        for item in items:
            [finding] = await leaks.report([item.token], reporter, url=item.url, revoke=revoke)
            answers.append(GitHubAnswerItem.of(item, finding))
    return answers


@router.post(
    REVOKE_LEAKED,
    operation_id="genai_revoke_leaked_model_api_keys",
    summary="Revoke keys your own scanners found leaked",
    description=(
        "Each secret that is a live key is revoked at once, whichever team's it is (a leaked "
        "secret is dangerous to whoever holds it); the answer names only your team's keys."
    ),
    responses=ERROR_RESPONSES,
)
async def revoke_leaked(
    body: RevokeLeakedBody, caller: KeysWriter, leaks: WriteLeaks
) -> RevokeLeakedResponse:
    reporter = Reporter(
        caller.principal.actor,
        team_id=caller.team_id,
        client_addr=caller.client_addr,
        request_id=caller.request_id,
    )
    findings = await leaks.report(body.secrets, reporter, url=body.url, revoke=True)
    return RevokeLeakedResponse(
        results=[
            LeakedSecretResult.of(secret, finding, caller.team_id)
            for secret, finding in zip(body.secrets, findings, strict=True)
        ]
    )


@router.api_route(
    REVOKE_LEAKED,
    methods=["GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"],
    include_in_schema=False,
)
async def revoke_leaked_other_methods(request: Request) -> Response:
    """405 naming POST alone: otherwise the keys' `/{api_key_uuid}` routes would take the
    path for a key's uuid and answer a GET with "not a UUID"."""
    return error_response(request, 405, "Method Not Allowed", {"allow": "POST"})


@router.get(
    "/v2/gen-ai/team/settings",
    operation_id="genai_get_team_settings",
    summary="The team's settings: where it is told of leaked keys",
    responses=ERROR_RESPONSES,
)
async def get_settings(caller: KeysReader, leaks: ReadLeaks) -> TeamSettingsResponse:
    url = await leaks.webhook_url(caller.team_id)
    return TeamSettingsResponse(team_settings=TeamSettings(webhook_url=url))


@router.patch(
    "/v2/gen-ai/team/settings",
    operation_id="genai_update_team_settings",
    summary="Set the team's webhook URL (null clears it)",
    responses=ERROR_RESPONSES,
)
async def update_settings(
    body: TeamSettingsBody, caller: KeysWriter, leaks: WriteLeaks
) -> TeamSettingsResponse:
    url = await leaks.set_webhook_url(caller, body.webhook_url)
    return TeamSettingsResponse(team_settings=TeamSettings(webhook_url=url))
