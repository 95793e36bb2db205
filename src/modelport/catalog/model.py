"""One catalog entry, validated; what the gateway, the API and the panel know of a model."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from modelport.catalog.deployment import (
    Deployment,
    DeploymentDefaults,
    DeploymentEntry,
    DialectName,
    http_url,
)
from modelport.core.money import picousd_per_token
from modelport.core.pricing import Prices

ModelType = Literal["chat", "embedding"]

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
    """The upstream's name for the model (the id when unset); deployments may say otherwise."""
    deployments: list[DeploymentEntry] = Field(default_factory=list)
    """Its upstreams; without any, the model's own `base_url` and `api_key_env` are its one."""
    context_window: int = Field(gt=0)
    max_output_tokens: int | None = Field(default=None, gt=0)
    capabilities: list[str] = Field(default_factory=list)
    modalities: Modalities = Field(default_factory=Modalities)
    usecases: list[ModelUsecase] | None = None
    dialect: DialectName = "openai"
    """The upstreams' wire format, unless a deployment says otherwise."""
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
        return http_url(value)

    @model_validator(mode="after")
    def _upstreams(self) -> CatalogEntry:
        own = (self.base_url, self.base_url_env, self.api_key_env)
        if self.deployments:
            if any(value is not None for value in own):
                raise ValueError(
                    "give base_url, base_url_env and api_key_env in each deployment, "
                    "not beside deployments"
                )
            names = [d.name or str(n) for n, d in enumerate(self.deployments, start=1)]
            if len(names) != len(set(names)):
                raise ValueError(
                    "two deployments have the same name (an unnamed one is named by its place)"
                )
        elif (self.base_url is None) == (self.base_url_env is None):
            raise ValueError("give exactly one of base_url and base_url_env")
        elif self.dialect == "azure":
            raise ValueError("an azure model needs [[models.deployments]] with an api_version")
        for deployment in self.deployment_entries():
            self._check_dialect(
                deployment.dialect or self.dialect,
                self.native_responses
                if deployment.native_responses is None
                else deployment.native_responses,
                deployment.api_version,
            )
        return self

    def _check_dialect(
        self, dialect: DialectName, native_responses: bool, version: str | None
    ) -> None:
        if dialect == "anthropic" and self.type != "chat":
            raise ValueError("an anthropic-dialect model must be a chat model")
        if native_responses and (dialect != "openai" or self.type != "chat"):
            raise ValueError("native_responses is for openai-dialect chat models")
        if (dialect == "azure") != (version is not None):
            raise ValueError("api_version is for azure deployments, and each one needs it")

    def deployment_entries(self) -> list[DeploymentEntry]:
        """The deployments as written; a model with no `deployments` is its own one."""
        if self.deployments:
            return self.deployments
        return [
            DeploymentEntry(
                base_url=self.base_url,
                base_url_env=self.base_url_env,
                api_key_env=self.api_key_env,
            )
        ]

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
    deployments: tuple[Deployment, ...]
    prices: Prices

    @classmethod
    def resolve(cls, entry: CatalogEntry, env: Callable[[str], str | None]) -> CatalogModel:
        """The entry with its deployments' URLs and credentials looked up through `env`."""
        defaults = DeploymentDefaults(
            entry.upstream_model or entry.id, entry.dialect, entry.native_responses
        )
        deployments = tuple(
            Deployment.resolve(entry.id, position, written, defaults, env)
            for position, written in enumerate(entry.deployment_entries(), start=1)
        )
        return cls(entry=entry, deployments=deployments, prices=entry.prices)

    @property
    def unavailable_reason(self) -> str | None:
        """Why no deployment can serve it, or None. Only a shared deployment's reason is
        given: a dedicated one's would name another team's settings."""
        if any(deployment.available for deployment in self.deployments):
            return None
        shared = [d for d in self.deployments if not d.teams]
        return shared[0].unavailable_reason if shared else "not configured"

    def serving(self, team: str) -> list[Deployment]:
        """The configured deployments `team`'s keys may reach: its dedicated ones (only those
        when one is exclusive, configured or not), then the shared ones."""
        dedicated = [d for d in self.deployments if team in d.teams]
        mine = [d for d in dedicated if d.available]
        if any(d.exclusive for d in dedicated):
            return mine
        return mine + [d for d in self.deployments if d.available and not d.teams]

    def reaches(self, team: str) -> bool:
        """Whether any deployment, configured or not, is for `team`'s keys (shared or its own)."""
        return any(d.serves(team) for d in self.deployments)

    def dedicated_to(self, team: str) -> list[Deployment]:
        """The deployments dedicated to `team` (configured or not)."""
        return [d for d in self.deployments if team in d.teams]

    @property
    def id(self) -> str:
        return self.entry.id

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def max_output_tokens(self) -> int:
        return self.entry.max_output_tokens or self.entry.context_window

    @property
    def usecases(self) -> list[ModelUsecase]:
        return self.entry.usecases or USECASES_BY_TYPE[self.entry.type]
