"""Wire shapes of the catalog API: DigitalOcean's `apiModelPublic`, plus what a hub adds."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from modelport.api.paging import Paged
from modelport.api.wire import Omitted
from modelport.catalog.model import CatalogModel, ModelUsecase

Usecase = Literal[
    "MODEL_USECASE_UNKNOWN",
    "MODEL_USECASE_AGENT",
    "MODEL_USECASE_FINETUNED",
    "MODEL_USECASE_KNOWLEDGEBASE",
    "MODEL_USECASE_GUARDRAIL",
    "MODEL_USECASE_REASONING",
    "MODEL_USECASE_SERVERLESS",
]

ModelProvider = Literal[
    "MODEL_PROVIDER_DIGITALOCEAN", "MODEL_PROVIDER_ANTHROPIC", "MODEL_PROVIDER_OPENAI"
]

# DigitalOcean's enum names only these providers; others go in `provider_name` alone.
_PROVIDER_ENUM: dict[str, ModelProvider] = {
    "digitalocean": "MODEL_PROVIDER_DIGITALOCEAN",
    "anthropic": "MODEL_PROVIDER_ANTHROPIC",
    "openai": "MODEL_PROVIDER_OPENAI",
}


class Modalities(BaseModel):
    input: list[str]
    output: list[str]


class Pricing(BaseModel):
    """USD per million tokens. Shown as numbers, as the reference does; billed exactly.
    A cache price the model does not set is left out: the input price applies."""

    input_price_per_million: float
    output_price_per_million: float
    cache_read_input_price_per_million: Omitted[float] = Field(
        default=None, description="For prompt tokens read from the upstream's prompt cache."
    )
    cache_write_input_price_per_million: Omitted[float] = Field(
        default=None,
        description="For prompt tokens written to the upstream's prompt cache, whatever "
        "their lifetime.",
    )


class DedicatedDeployment(BaseModel):
    """A deployment reserved for the caller's team (other teams' are never shown)."""

    name: str
    region: str | None
    exclusive: bool = Field(description="Whether the team's keys use only its dedicated ones.")
    available: bool = Field(description="Whether it is configured on this hub.")


class ModelPublic(BaseModel):
    id: str
    name: str
    description: str
    type: str
    capabilities: list[str]
    context_window: str = Field(description="Maximum tokens, as a string (int64).")
    modalities: Modalities
    pricing: Pricing
    provider: Omitted[ModelProvider] = Field(
        default=None,
        description="DigitalOcean's provider enum; absent where it does not name the provider.",
    )
    provider_name: str = Field(description="The provider, as the catalog names it.")
    usecases: list[ModelUsecase]
    max_output_tokens: int
    model_availability: str = "serverless"
    is_foundational: bool = False
    available: bool = Field(description="Whether this hub can serve the model now.")
    unavailable_reason: str | None = Field(description="Why not, when it cannot.")
    dedicated_deployments: list[DedicatedDeployment] = Field(
        default_factory=list, description="The deployments reserved for the caller's team."
    )

    @classmethod
    def of(cls, model: CatalogModel, team: str) -> ModelPublic:
        """The model as `team` sees it: its dedicated deployments, and whether any
        deployment serves it."""
        entry = model.entry
        reason = model.unavailable_reason
        if reason is None and not model.serving(team):
            reason = "no configured deployment serves this team"
        dedicated = [
            DedicatedDeployment(
                name=d.name, region=d.region, exclusive=d.exclusive, available=d.available
            )
            for d in model.dedicated_to(team)
        ]
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
            available=reason is None,
            unavailable_reason=reason,
            dedicated_deployments=dedicated,
        )


def _number(price: Decimal | None) -> float | None:
    return None if price is None else float(price)


class ModelListResponse(Paged):
    models: list[ModelPublic]
