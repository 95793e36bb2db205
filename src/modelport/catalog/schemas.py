"""Wire shapes of the catalog API: DigitalOcean's `apiModelPublic`, plus what a hub adds."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, Field, WithJsonSchema

from modelport.api.paging import Links, Meta
from modelport.catalog.model import CatalogModel

Usecase = Literal[
    "MODEL_USECASE_UNKNOWN",
    "MODEL_USECASE_AGENT",
    "MODEL_USECASE_FINETUNED",
    "MODEL_USECASE_KNOWLEDGEBASE",
    "MODEL_USECASE_GUARDRAIL",
    "MODEL_USECASE_REASONING",
    "MODEL_USECASE_SERVERLESS",
]

# DigitalOcean's enum names only these providers; others go in `provider_name` alone.
_PROVIDER_ENUM = {
    "digitalocean": "MODEL_PROVIDER_DIGITALOCEAN",
    "anthropic": "MODEL_PROVIDER_ANTHROPIC",
    "openai": "MODEL_PROVIDER_OPENAI",
}


class Modalities(BaseModel):
    input: list[str]
    output: list[str]


def _unset(price: float | None) -> bool:
    return price is None


OptionalPrice = Annotated[float | None, WithJsonSchema({"type": "number"})]
"""A price that is left out when unset, never sent as null (nor documented as one)."""


class Pricing(BaseModel):
    """USD per million tokens. Shown as numbers, as the reference does; billed exactly.
    A cache price the model does not set is left out: the input price applies."""

    input_price_per_million: float
    output_price_per_million: float
    cache_read_input_price_per_million: OptionalPrice = Field(
        default=None,
        description="For prompt tokens read from the upstream's prompt cache.",
        exclude_if=_unset,
    )
    cache_write_input_price_per_million: OptionalPrice = Field(
        default=None,
        description="For prompt tokens written to the upstream's prompt cache, whatever "
        "their lifetime.",
        exclude_if=_unset,
    )


class ModelPublic(BaseModel):
    id: str
    name: str
    description: str
    type: str
    capabilities: list[str]
    context_window: str = Field(description="Maximum tokens, as a string (int64).")
    modalities: Modalities
    pricing: Pricing
    provider: str | None = Field(
        default=None, description="DigitalOcean's provider enum, where it names the provider."
    )
    provider_name: str = Field(description="The provider, as the catalog names it.")
    usecases: list[str]
    max_output_tokens: int
    model_availability: str = "serverless"
    is_foundational: bool = False
    available: bool = Field(description="Whether this hub can serve the model now.")
    unavailable_reason: str | None = Field(description="Why not, when it cannot.")

    @classmethod
    def of(cls, model: CatalogModel) -> ModelPublic:
        entry = model.entry
        return cls(
            id=entry.id,
            name=entry.name,
            description=entry.description,
            type=entry.type,
            capabilities=entry.capabilities,
            context_window=str(entry.context_window),
            modalities=Modalities(input=entry.modalities.input, output=entry.modalities.output),
            pricing=Pricing(
                input_price_per_million=float(entry.input_price_per_million),
                output_price_per_million=float(entry.output_price_per_million),
                cache_read_input_price_per_million=_number(entry.cached_input_price_per_million),
                cache_write_input_price_per_million=_number(entry.cache_write_price_per_million),
            ),
            provider=_PROVIDER_ENUM.get(entry.provider),
            provider_name=entry.provider,
            usecases=model.usecases,
            max_output_tokens=model.max_output_tokens,
            available=model.available,
            unavailable_reason=model.unavailable_reason,
        )


def _number(price: Decimal | None) -> float | None:
    return None if price is None else float(price)


class ModelListResponse(BaseModel):
    models: list[ModelPublic]
    links: Links
    meta: Meta
