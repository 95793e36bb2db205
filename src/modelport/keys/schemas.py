"""Wire shapes of the key API, field for field as DigitalOcean's `apiModelAPIKeyInfo`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

from modelport.api.paging import Links, Meta
from modelport.core.names import NAME_PATTERN, NOT_BLANK_PATTERN
from modelport.core.secrets import PlainSecret
from modelport.db.tables import ModelKey


class ApiKeyInfo(BaseModel):
    """A model access key as the API shows it: never its secret."""

    uuid: uuid.UUID
    name: str
    created_at: datetime
    created_by: str
    deleted_at: datetime | None = Field(
        default=None, description="Set once the key is deleted; absent before."
    )
    hint: str = Field(description="The last four characters of the secret.", examples=["…x9Qz"])
    last_used_at: datetime | None = Field(
        description="Last time the data plane accepted this key (to the minute); null if never."
    )
    models: list[str] | None = Field(
        description="The model ids this key may call; null means every model."
    )

    @model_serializer(mode="wrap")
    def _omit_unset_deleted_at(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if data.get("deleted_at") is None:
            data.pop("deleted_at", None)
        return data

    @classmethod
    def of(cls, key: ModelKey) -> ApiKeyInfo:
        return cls(
            uuid=key.id,
            name=key.name,
            created_at=key.created_at,
            created_by=key.created_by,
            deleted_at=key.deleted_at,
            hint="…" + key.hint,
            last_used_at=key.last_used_at,
            models=key.models,
        )


class ApiKeyInfoWithSecret(ApiKeyInfo):
    """The key with its secret: only in the create and regenerate responses."""

    secret_key: str = Field(description="The secret. Shown once; store it now.")

    @classmethod
    def issued(cls, key: ModelKey, secret: PlainSecret) -> ApiKeyInfoWithSecret:
        return cls(**ApiKeyInfo.of(key).__dict__, secret_key=secret)


# The name and model id patterns are documented, not enforced here: the service checks them,
# with messages that say what is wrong.
ModelId = Annotated[str, Field(json_schema_extra={"pattern": NOT_BLANK_PATTERN})]
ModelIds = Annotated[list[ModelId], Field(json_schema_extra={"minItems": 1})]


class CreateKeyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(
        description="1 to 64 characters after trimming; no control characters.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    models: ModelIds | None = Field(
        default=None, description="Limit the key to these model ids; absent means every model."
    )


class UpdateKeyBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    api_key_uuid: str | None = Field(default=None, description="Must match the path if given.")
    name: str = Field(
        description="The new name: 1 to 64 characters after trimming; no control characters.",
        json_schema_extra={"pattern": NAME_PATTERN},
    )


class ApiKeyResponse(BaseModel):
    api_key_info: ApiKeyInfo


class ApiKeyWithSecretResponse(BaseModel):
    api_key_info: ApiKeyInfoWithSecret


class ApiKeyListResponse(BaseModel):
    api_key_infos: list[ApiKeyInfo]
    links: Links
    meta: Meta
