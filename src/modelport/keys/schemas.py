"""Wire shapes of the key API, field for field as DigitalOcean's `apiModelAPIKeyInfo`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictFloat, StrictInt
from pydantic.json_schema import SkipJsonSchema

from modelport.api.paging import Paged
from modelport.api.wire import Omitted
from modelport.core.addresses import MAX_NETWORKS, NETWORK_PATTERN
from modelport.core.clock import utcnow
from modelport.core.money import usd
from modelport.core.names import NAME_PATTERN, NOT_BLANK_PATTERN
from modelport.core.secrets import PlainSecret
from modelport.db.tables import ModelKey
from modelport.keys.limits import (
    AMOUNT_PATTERN,
    MAX_MONTHLY_SPEND_USD,
    MAX_PER_MINUTE,
    MAX_TOP_UP_USD,
    UNCHANGED,
    KeyLimitsUpdate,
    Unchanged,
    parse_top_up,
)
from modelport.keys.overlap import MAX_OVERLAP_SECONDS, old_secret_expires_at
from modelport.keys.service import KeyCredit


class ApiKeyInfo(BaseModel):
    """A model access key as the API shows it: never its secret."""

    uuid: uuid.UUID
    name: str
    created_at: datetime
    created_by: str
    deleted_at: Omitted[datetime] = Field(
        default=None, description="Set once the key is deleted; absent before."
    )
    hint: str = Field(description="The last four characters of the secret.", examples=["…x9Qz"])
    last_used_at: datetime | None = Field(
        description="Last time the data plane accepted this key (to the minute); null if never."
    )
    models: list[str] | None = Field(
        description="The model ids this key may call; null means every model."
    )
    expires_at: datetime | None = Field(description="When the key stops working; null: never.")
    monthly_spend_limit: str | None = Field(
        description="USD a calendar month (UTC) may cost, as a decimal string; null: no limit."
    )
    rpm_limit: int | None = Field(description="Requests per minute; null: no limit.")
    tpm_limit: int | None = Field(description="Tokens per minute; null: no limit.")
    allowed_ips: list[str] | None = Field(
        description="The IPv4 and IPv6 addresses and CIDR ranges the key may be used from "
        "(a single address as /32 or /128); null: anywhere.",
    )
    old_secret_expires_at: Omitted[datetime] = Field(
        default=None,
        description="While a regenerate's overlap runs: when the old secret stops working. "
        "Absent otherwise. Not in DigitalOcean's schema.",
    )
    credit: str | None = Field(
        description="Prepaid USD granted by top-ups in all, as a decimal string; it never "
        "resets. null: not limited by credit. What is left: GET .../{uuid}/credit.",
    )

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
            expires_at=key.expires_at,
            monthly_spend_limit=None
            if key.monthly_spend_limit_picousd is None
            else usd(key.monthly_spend_limit_picousd),
            rpm_limit=key.rpm_limit,
            tpm_limit=key.tpm_limit,
            allowed_ips=key.allowed_ips,
            old_secret_expires_at=old_secret_expires_at(key, utcnow()),
            credit=None if key.credit_picousd is None else usd(key.credit_picousd),
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


def _whole(value: object) -> object:
    """JSON Schema counts 12.0 as an integer, so the API does too; "12" and true stay refused."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Documented bounds; `keys.limits` checks them, with messages that say what is wrong.
Amount = Annotated[
    StrictFloat, Field(json_schema_extra={"minimum": 0, "maximum": MAX_MONTHLY_SPEND_USD})
]
"""A number (a JSON true or false is not one)."""
AmountText = Annotated[str, Field(json_schema_extra={"pattern": AMOUNT_PATTERN})]
PerMinute = Annotated[
    StrictInt,
    BeforeValidator(_whole),
    Field(json_schema_extra={"minimum": 1, "maximum": MAX_PER_MINUTE}),
]

AllowedIps = Annotated[
    list[Annotated[str, Field(json_schema_extra={"pattern": NETWORK_PATTERN, "maxLength": 64})]],
    Field(json_schema_extra={"minItems": 1, "maxItems": MAX_NETWORKS}),
]
"""Documented bounds; `keys.limits` checks each entry, with a message naming the bad one."""


class KeyLimitsBody(BaseModel):
    """Per-key limits; give a field to set it, null to clear it, leave it out to keep it."""

    expires_at: datetime | None = Field(default=None, description="A future date-time.")
    monthly_spend_limit: AmountText | Amount | None = Field(
        default=None,
        description='USD per calendar month (UTC), e.g. "25.00"; at most 12 decimal places.',
    )
    rpm_limit: PerMinute | None = Field(default=None, description="Requests per minute.")
    tpm_limit: PerMinute | None = Field(default=None, description="Tokens per minute.")
    allowed_ips: AllowedIps | None = Field(
        default=None,
        description="Accept requests only from these IPv4/IPv6 addresses and CIDR ranges, "
        'e.g. ["10.0.0.0/8", "2001:db8::/32"]; null: from anywhere.',
    )

    def limits(self) -> KeyLimitsUpdate:
        """The limits the caller gave, checked (InvalidInput); absent ones stay as they are."""
        return KeyLimitsUpdate.given(
            expires_at=self._given("expires_at"),
            monthly_spend_limit=self._given("monthly_spend_limit"),
            rpm_limit=self._given("rpm_limit"),
            tpm_limit=self._given("tpm_limit"),
            allowed_ips=self._given("allowed_ips"),
        )

    def _given(self, name: str) -> object:
        return getattr(self, name) if name in self.model_fields_set else UNCHANGED


LIMIT_FIELDS = tuple(KeyLimitsBody.model_fields)


NAME_RULE = (
    "1 to 64 characters after trimming; no control characters, bidirectional controls "
    "or zero-width characters."
)


class CreateKeyBody(KeyLimitsBody):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(
        description=NAME_RULE,
        json_schema_extra={"pattern": NAME_PATTERN},
    )
    models: ModelIds | None = Field(
        default=None, description="Limit the key to these model ids; absent means every model."
    )


class UpdateKeyBody(KeyLimitsBody):
    model_config = ConfigDict(
        extra="ignore",
        # Something must change: a name or a limit.
        json_schema_extra={"anyOf": [{"required": [f]} for f in ("name", *LIMIT_FIELDS)]},
    )

    api_key_uuid: str | None = Field(default=None, description="Must match the path if given.")
    # Absent keeps the name; null is refused, so the document does not offer it.
    name: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A new name: " + NAME_RULE,
        json_schema_extra={"pattern": NAME_PATTERN},
    )

    def new_name(self) -> str | Unchanged | None:
        """The name the caller gave (None is refused by the service), or UNCHANGED."""
        return self.name if "name" in self.model_fields_set else UNCHANGED


class RegenerateKeyBody(BaseModel):
    """Optional: DigitalOcean's regenerate sends no body, and is immediate."""

    model_config = ConfigDict(extra="ignore")

    # The bounds are documented here and checked by `keys.overlap`, with a message that says so.
    overlap_seconds: Annotated[StrictInt, BeforeValidator(_whole)] = Field(
        default=0,
        description="Keep the old secret working this many seconds more (at most a day); "
        "0, the default, stops it at once.",
        json_schema_extra={"minimum": 0, "maximum": MAX_OVERLAP_SECONDS},
    )


class ApiKeyResponse(BaseModel):
    api_key_info: ApiKeyInfo


class ApiKeyWithSecretResponse(BaseModel):
    api_key_info: ApiKeyInfoWithSecret


class ApiKeyListResponse(Paged):
    api_key_infos: list[ApiKeyInfo]


class TopUpBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    amount_usd: AmountText | Amount = Field(
        description=f'USD to add, e.g. "10.50": more than 0, at most {MAX_TOP_UP_USD}, '
        "at most 6 decimal places."
    )

    def amount(self) -> int:
        """The amount in picodollars, checked (InvalidInput naming `amount_usd`)."""
        return parse_top_up(self.amount_usd)


class KeyCreditInfo(BaseModel):
    """A key's prepaid credit, exact decimal strings in USD."""

    granted: str = Field(description="Top-ups in all.")
    spent: str = Field(description="What the key's requests cost since its first top-up.")
    remaining: str = Field(
        description="granted - spent; below 0 only by requests in flight when it ran out."
    )

    @classmethod
    def of(cls, credit: KeyCredit) -> KeyCreditInfo:
        return cls(
            granted=usd(credit.granted),
            spent=usd(credit.spent),
            remaining=_signed_usd(credit.remaining),
        )


class ApiKeyCreditResponse(BaseModel):
    api_key_info: ApiKeyInfo
    credit: KeyCreditInfo


def _signed_usd(picousd: int) -> str:
    return usd(picousd) if picousd >= 0 else "-" + usd(-picousd)
