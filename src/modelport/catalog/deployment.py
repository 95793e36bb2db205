"""Where a catalog model is served: its deployments, as written and as resolved.

A model has one or more deployments (`[[models.deployments]]`), each an upstream that serves
it: a base URL, a credential, the upstream's name for the model, its wire format, and how
the gateway should prefer it (`priority`, then `weight`). A deployment may be dedicated to
listed teams: their keys use it first (or only, `exclusive`), and no other team reaches it.
A model written with one upstream and no `deployments` has one deployment made of its own
fields (`CatalogEntry.deployment_entries`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DialectName = Literal["openai", "anthropic", "azure"]
"""The wire format a deployment speaks: OpenAI-compatible, Anthropic's Messages API, or Azure
OpenAI (the deployment name in the path, `api-version`, an `api-key` header)."""

Header = tuple[str, str]
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")
RESERVED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "accept-encoding",
        "authorization",
        "api-key",
        "x-api-key",
    }
)
"""Headers the hub writes itself: the request's framing and the upstream's credential."""


class FromEnv(BaseModel):
    """A header value read from an environment variable: `{ env = "NAME" }`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    env: str = Field(min_length=1)


class DeploymentEntry(BaseModel):
    """A `[[models.deployments]]` entry, as written. Unset fields take the model's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    """How metrics, logs and usage rows name it; its position (1, 2, ...) when unset."""
    base_url: str | None = None
    base_url_env: str | None = None
    api_key_env: str | None = None
    upstream_model: str | None = None
    """The upstream's name for the model; for Azure, the deployment name in the path."""
    dialect: DialectName | None = None
    native_responses: bool | None = None
    api_version: str | None = Field(default=None, pattern=r"^[0-9A-Za-z.-]+$")
    """Azure's `api-version` query parameter (azure deployments need it)."""
    weight: int = Field(default=1, ge=1, le=1000)
    """Share of the requests among deployments of the same priority."""
    priority: int = Field(default=1, ge=1, le=100)
    """1 is tried first; a deployment of priority 2 only when every priority 1 has failed."""
    region: str | None = Field(default=None, max_length=64)
    headers: dict[str, str | FromEnv] = Field(default_factory=dict)
    """Extra headers sent upstream; a value may be read from the environment."""
    timeout_seconds: float | None = Field(default=None, gt=0)
    """Longest silence from this upstream (connect excluded); the hub's default when unset."""
    max_connections: int | None = Field(default=None, ge=1)
    """Connections the hub may open to this deployment's server at once."""
    teams: list[str] = Field(default_factory=list)
    """Team names it is dedicated to: their keys use it first, other teams never."""
    exclusive: bool = False
    """With `teams`: those teams' keys use only dedicated deployments of this model."""

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("headers")
    @classmethod
    def _header_names(cls, value: dict[str, str | FromEnv]) -> dict[str, str | FromEnv]:
        for name, written in value.items():
            if not HEADER_NAME.match(name) or name.lower() in RESERVED_HEADERS:
                raise ValueError(f"{name!r} cannot be an extra header")
            if isinstance(written, str) and not _header_value(written):
                raise ValueError(f"the value of {name!r} is not a valid header value")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> DeploymentEntry:
        if (self.base_url is None) == (self.base_url_env is None):
            raise ValueError("give exactly one of base_url and base_url_env")
        if self.exclusive and not self.teams:
            raise ValueError("exclusive needs the teams it is reserved for")
        return self


def http_url(value: str | None) -> str | None:
    """The URL without its trailing slash; ValueError unless http(s)."""
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("must be an http:// or https:// URL")
    return None if value is None else value.rstrip("/")


@dataclass(frozen=True, slots=True)
class Deployment:
    """A deployment resolved against this server's environment."""

    id: str
    """`<model id>#<name>`: unique in the catalog, in metrics, logs and usage rows."""
    name: str
    base_url: str | None
    api_key: str | None = field(repr=False)
    """The upstream credential. Never logged, never shown."""
    headers: tuple[Header, ...] = field(repr=False)
    secrets: tuple[str, ...] = field(repr=False)
    """The credential and the header values read from the environment: what the hub takes
    out of whatever this upstream sends back (a literal header value is no secret)."""
    upstream_model: str
    dialect: DialectName
    native_responses: bool
    api_version: str | None
    weight: int
    priority: int
    region: str | None
    timeout: float | None
    max_connections: int | None
    teams: frozenset[str]
    exclusive: bool
    unavailable_reason: str | None

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None

    @property
    def dedicated(self) -> bool:
        return bool(self.teams)

    def serves(self, team: str) -> bool:
        """Whether `team`'s keys may reach this deployment."""
        return not self.teams or team in self.teams

    @classmethod
    def resolve(
        cls,
        model_id: str,
        position: int,
        entry: DeploymentEntry,
        defaults: DeploymentDefaults,
        env: Callable[[str], str | None],
    ) -> Deployment:
        """The entry with its URL, credential and headers looked up through `env`."""
        base_url = entry.base_url
        if entry.base_url_env is not None:
            base_url = env(entry.base_url_env)
            base_url = base_url.rstrip("/") if base_url else None
        api_key = env(entry.api_key_env) if entry.api_key_env else None
        headers, from_env, missing = _headers(entry.headers, env)
        reason = None
        if base_url is None:
            reason = f"not configured: set {entry.base_url_env} to its server's /v1 URL"
        elif not base_url.startswith(("http://", "https://")):
            reason = f"not configured: {entry.base_url_env} is not an http:// or https:// URL"
        elif entry.api_key_env and not api_key:
            reason = f"not configured: set {entry.api_key_env} to the provider's API key"
        elif api_key is not None and not _header_value(api_key):
            reason = f"not configured: {entry.api_key_env} is not a valid header value"
        elif missing:
            reason = f"not configured: set {missing} for its headers"
        elif not all(_header_value(value) for value in from_env):
            reason = "not configured: a header value from the environment is not a valid one"
        name = entry.name or str(position)
        return cls(
            id=f"{model_id}#{name}",
            name=name,
            base_url=base_url,
            api_key=api_key,
            headers=headers,
            secrets=tuple(value for value in (api_key, *from_env) if value),
            upstream_model=entry.upstream_model or defaults.upstream_model,
            dialect=entry.dialect or defaults.dialect,
            native_responses=(
                defaults.native_responses
                if entry.native_responses is None
                else entry.native_responses
            ),
            api_version=entry.api_version,
            weight=entry.weight,
            priority=entry.priority,
            region=entry.region,
            timeout=entry.timeout_seconds,
            max_connections=entry.max_connections,
            teams=frozenset(entry.teams),
            exclusive=entry.exclusive,
            unavailable_reason=reason,
        )


@dataclass(frozen=True, slots=True)
class DeploymentDefaults:
    """What a deployment takes from its model when it does not say."""

    upstream_model: str
    dialect: DialectName
    native_responses: bool


def _headers(
    written: dict[str, str | FromEnv], env: Callable[[str], str | None]
) -> tuple[tuple[Header, ...], list[str], str | None]:
    """The headers with their values looked up, the values that came from the environment,
    and the first variable that is unset."""
    headers: list[Header] = []
    from_env: list[str] = []
    for name, value in written.items():
        if isinstance(value, FromEnv):
            found = env(value.env)
            if not found:
                return (), [], value.env
            from_env.append(found)
            value = found
        headers.append((name, value))
    return tuple(headers), from_env, None


def _header_value(value: str) -> bool:
    """Whether `value` can go in an HTTP header as it is (no line break, Latin-1)."""
    return "\r" not in value and "\n" not in value and value.isprintable() and _latin1(value)


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True
