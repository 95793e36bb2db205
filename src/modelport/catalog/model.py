"""One catalog entry, validated; what the gateway, the API and the panel know of a model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelport.core.money import picousd_per_token
from modelport.core.pricing import Prices

ModelType = Literal["chat", "embedding"]
Dialect = Literal["openai", "anthropic"]
"""The wire format the upstream speaks: OpenAI-compatible, or Anthropic's Messages API."""

ModelUsecase = Literal[
    "MODEL_USECASE_UNKNOWN",
    "MODEL_USECASE_AGENT",
    "MODEL_USECASE_FINETUNED",
    "MODEL_USECASE_KNOWLEDGEBASE",
    "MODEL_USECASE_GUARDRAIL",
    "MODEL_USECASE_REASONING",
    "MODEL_USECASE_SERVERLESS",
    "MODEL_USECASE_EVALUATION_JUDGE",
    "MODEL_USECASE_CODING",
    "MODEL_USECASE_AUDIO",
    "MODEL_USECASE_RERANKING",
    "MODEL_USECASE_TEXT",
]
"""DigitalOcean's `apiModelUsecase` enum: the API lists a model's use cases in it."""

USECASES_BY_TYPE: dict[str, list[ModelUsecase]] = {
    "chat": ["MODEL_USECASE_SERVERLESS", "MODEL_USECASE_AGENT"],
    "embedding": ["MODEL_USECASE_SERVERLESS", "MODEL_USECASE_KNOWLEDGEBASE"],
}


class Modalities(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    input: list[str] = Field(default_factory=lambda: ["text"])
    output: list[str] = Field(default_factory=lambda: ["text"])


class CatalogEntry(BaseModel):
    """A `[[models]]` entry of the catalog file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
    name: str = Field(min_length=1, max_length=128)
    provider: str = Field(min_length=1, max_length=64)
    type: ModelType
    description: str = ""
    base_url: str | None = None
    base_url_env: str | None = None
    api_key_env: str | None = None
    upstream_model: str | None = None
    context_window: int = Field(gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    capabilities: list[str] = Field(default_factory=list)
    modalities: Modalities = Field(default_factory=Modalities)
    usecases: list[ModelUsecase] | None = None
    dialect: Dialect = "openai"
    native_responses: bool = False
    """Whether the upstream serves OpenAI's `/responses` itself (else the hub translates)."""
    input_price_per_million: Decimal
    output_price_per_million: Decimal = Decimal(0)
    cached_input_price_per_million: Decimal | None = None
    """For prompt tokens read from the upstream's cache; the input price when unset."""
    cache_write_price_per_million: Decimal | None = None
    """For prompt tokens written to the upstream's cache; the input price when unset."""

    @field_validator(
        "input_price_per_million",
        "output_price_per_million",
        "cached_input_price_per_million",
        "cache_write_price_per_million",
    )
    @classmethod
    def _exact_price(cls, value: Decimal | None) -> Decimal | None:
        if value is not None:
            picousd_per_token(value)  # raises ValueError with the reason
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return None if value is None else value.rstrip("/")

    @model_validator(mode="after")
    def _one_base_url(self) -> CatalogEntry:
        if (self.base_url is None) == (self.base_url_env is None):
            raise ValueError("give exactly one of base_url and base_url_env")
        return self

    @model_validator(mode="after")
    def _dialect_serves_type(self) -> CatalogEntry:
        if self.dialect == "anthropic" and self.type != "chat":
            raise ValueError("an anthropic-dialect model must be a chat model")
        if self.native_responses and (self.dialect != "openai" or self.type != "chat"):
            raise ValueError("native_responses is for openai-dialect chat models")
        return self

    @property
    def prices(self) -> Prices:
        """Picodollars per token; the cache prices default to the input price."""
        input_price = picousd_per_token(self.input_price_per_million)
        cached = self.cached_input_price_per_million
        write = self.cache_write_price_per_million
        return Prices(
            input=input_price,
            output=picousd_per_token(self.output_price_per_million),
            cached_input=input_price if cached is None else picousd_per_token(cached),
            cache_write=input_price if write is None else picousd_per_token(write),
        )


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """A catalog entry resolved against this server's environment, prices in picodollars."""

    entry: CatalogEntry
    base_url: str | None
    api_key: str | None = field(repr=False)
    """The upstream credential. Never logged, never shown."""
    unavailable_reason: str | None
    prices: Prices

    @classmethod
    def resolve(cls, entry: CatalogEntry, env: Callable[[str], str | None]) -> CatalogModel:
        """The entry with its URL and credential looked up through `env`."""
        base_url = entry.base_url
        if entry.base_url_env is not None:
            base_url = env(entry.base_url_env)
            base_url = base_url.rstrip("/") if base_url else None
        api_key = env(entry.api_key_env) if entry.api_key_env else None
        reason = None
        if base_url is None:
            reason = f"not configured: set {entry.base_url_env} to its server's /v1 URL"
        elif entry.api_key_env and not api_key:
            reason = f"not configured: set {entry.api_key_env} to the provider's API key"
        return cls(
            entry=entry,
            base_url=base_url,
            api_key=api_key,
            unavailable_reason=reason,
            prices=entry.prices,
        )

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def upstream_model(self) -> str:
        return self.entry.upstream_model or self.entry.id

    @property
    def max_output_tokens(self) -> int:
        return self.entry.max_output_tokens or self.entry.context_window

    @property
    def usecases(self) -> list[ModelUsecase]:
        return self.entry.usecases or USECASES_BY_TYPE[self.entry.type]
