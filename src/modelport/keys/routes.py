"""The DigitalOcean-compatible key lifecycle API: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from modelport.api.paging import page_request
from modelport.api.v2_errors import ERROR_RESPONSES
from modelport.core.paging import PageRequest
from modelport.errors import InvalidInput
from modelport.hub.deps import KeysReader, KeysWriter, ReadUnit, ServicesDep, WriteUnit
from modelport.keys.schemas import (
    ApiKeyCreditResponse,
    ApiKeyInfo,
    ApiKeyInfoWithSecret,
    ApiKeyListResponse,
    ApiKeyResponse,
    ApiKeyWithSecretResponse,
    CreateKeyBody,
    KeyCreditInfo,
    RegenerateKeyBody,
    TopUpBody,
    UpdateKeyBody,
)
from modelport.keys.service import KeyService

router = APIRouter(prefix="/v2/gen-ai/models/api_keys", tags=["Model access keys"])


async def _reading(unit: ReadUnit, services: ServicesDep) -> KeyService:
    return services.keys(unit)


async def _writing(unit: WriteUnit, services: ServicesDep) -> KeyService:
    return services.keys(unit)


ReadKeys = Annotated[KeyService, Depends(_reading)]
WriteKeys = Annotated[KeyService, Depends(_writing)]
KeyId = Annotated[uuid.UUID, Path(description="The key's uuid.")]

_NEW_KEY = {"api_key_uuid": "$response.body#/api_key_info/uuid"}
CREATED_LINKS = {
    name: {"operationId": operation, "parameters": _NEW_KEY}
    for name, operation in (
        ("GetKey", "genai_get_model_api_key"),
        ("RenameKey", "genai_update_model_api_key"),
        ("RegenerateKey", "genai_regenerate_model_api_key"),
        ("DeleteKey", "genai_delete_model_api_key"),
    )
}
"""OpenAPI links from a created key to what can be done with it next."""


@router.post(
    "",
    operation_id="genai_create_model_api_key",
    summary="Create a model access key; the response holds its secret, once",
    responses={**ERROR_RESPONSES, 200: {"links": CREATED_LINKS}},
)
async def create_key(
    body: CreateKeyBody, caller: KeysWriter, keys: WriteKeys
) -> ApiKeyWithSecretResponse:
    key, secret = await keys.create(caller, body.name, body.models, body.limits())
    return ApiKeyWithSecretResponse(api_key_info=ApiKeyInfoWithSecret.issued(key, secret))


@router.get(
    "",
    operation_id="genai_list_model_api_keys",
    summary="List model access keys, newest first",
    responses=ERROR_RESPONSES,
)
async def list_keys(
    request: Request,
    caller: KeysReader,
    keys: ReadKeys,
    wanted: Annotated[PageRequest, Depends(page_request)],
) -> ApiKeyListResponse:
    page = await keys.page(caller.team_id, wanted)
    return ApiKeyListResponse.of(
        request, wanted, page, api_key_infos=[ApiKeyInfo.of(k) for k in page.items]
    )


@router.get(
    "/{api_key_uuid}",
    operation_id="genai_get_model_api_key",
    summary="Get one model access key",
    responses=ERROR_RESPONSES,
)
async def get_key(api_key_uuid: KeyId, caller: KeysReader, keys: ReadKeys) -> ApiKeyResponse:
    return ApiKeyResponse(api_key_info=ApiKeyInfo.of(await keys.get(caller.team_id, api_key_uuid)))


@router.put(
    "/{api_key_uuid}",
    operation_id="genai_update_model_api_key",
    summary="Rename a key, or change its limits (expiry, monthly spend, requests/tokens a minute)",
    responses=ERROR_RESPONSES,
)
async def rename_key(
    api_key_uuid: KeyId, body: UpdateKeyBody, caller: KeysWriter, keys: WriteKeys
) -> ApiKeyResponse:
    if body.api_key_uuid is not None and _same_uuid(body.api_key_uuid) != api_key_uuid:
        raise InvalidInput("api_key_uuid in the body does not match the path", field="api_key_uuid")
    key = await keys.update(caller, api_key_uuid, name=body.new_name(), limits=body.limits())
    return ApiKeyResponse(api_key_info=ApiKeyInfo.of(key))


@router.put(
    "/{api_key_uuid}/regenerate",
    operation_id="genai_regenerate_model_api_key",
    summary="Give a key a new secret; the old one stops working at once, or after an overlap",
    responses=ERROR_RESPONSES,
)
async def regenerate_key(
    api_key_uuid: KeyId,
    caller: KeysWriter,
    keys: WriteKeys,
    body: RegenerateKeyBody | None = None,
) -> ApiKeyWithSecretResponse:
    overlap = 0 if body is None else body.overlap_seconds
    key, secret = await keys.regenerate(caller, api_key_uuid, overlap)
    return ApiKeyWithSecretResponse(api_key_info=ApiKeyInfoWithSecret.issued(key, secret))


@router.delete(
    "/{api_key_uuid}",
    operation_id="genai_delete_model_api_key",
    summary="Delete a model access key for good",
    responses=ERROR_RESPONSES,
)
async def delete_key(api_key_uuid: KeyId, caller: KeysWriter, keys: WriteKeys) -> ApiKeyResponse:
    return ApiKeyResponse(api_key_info=ApiKeyInfo.of(await keys.delete(caller, api_key_uuid)))


@router.get(
    "/{api_key_uuid}/credit",
    operation_id="genai_get_model_api_key_credit",
    summary="Get a key's prepaid credit: granted, spent and remaining",
    responses=ERROR_RESPONSES,
)
async def get_credit(
    api_key_uuid: KeyId, caller: KeysReader, keys: ReadKeys
) -> ApiKeyCreditResponse:
    key = await keys.get(caller.team_id, api_key_uuid)
    credit = await keys.credit(key)
    return ApiKeyCreditResponse(api_key_info=ApiKeyInfo.of(key), credit=KeyCreditInfo.of(credit))


@router.post(
    "/{api_key_uuid}/credit",
    operation_id="genai_top_up_model_api_key_credit",
    summary="Add prepaid credit to a key; a key out of credit gets 402 until topped up",
    responses=ERROR_RESPONSES,
)
async def top_up_credit(
    api_key_uuid: KeyId, body: TopUpBody, caller: KeysWriter, keys: WriteKeys
) -> ApiKeyCreditResponse:
    key, credit = await keys.top_up(caller, api_key_uuid, body.amount())
    return ApiKeyCreditResponse(api_key_info=ApiKeyInfo.of(key), credit=KeyCreditInfo.of(credit))


def _same_uuid(raw: str) -> uuid.UUID | None:
    """The body's uuid; DigitalOcean's examples quote it, so quotes are tolerated."""
    try:
        return uuid.UUID(raw.strip().strip('"'))
    except ValueError:
        return None
