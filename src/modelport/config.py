"""The one settings object. Nothing else in modelport reads the environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from modelport.core.addresses import Networks, parse_networks

SECRET_FILE = "server-secret"  # noqa: S105 (a file name)
MIN_SECRET_LENGTH = 32
MAX_WORKERS = 64
MIN_WORKER_TIMEOUT = 5.0
ENV_FILE = ".env"
"""Read from the working folder; a variable set in the real environment wins over it."""
FROM_FILE = ("secret", "database_url", "redis_url", "metrics_token", "token")
"""Settings that may hold a password, and so may be given as `MODELPORT_<NAME>_FILE`: the
path of a file holding the value (a Docker or systemd secret)."""


class Settings(BaseSettings):
    """Every setting, from `MODELPORT_*` environment variables; validated at start."""

    model_config = SettingsConfigDict(
        env_prefix="MODELPORT_",
        env_file=ENV_FILE,
        frozen=True,
        extra="ignore",
        hide_input_in_errors=True,  # an error must not print a secret setting back
    )

    data_dir: Path = Path(".modelport")
    database_url: str | None = None
    redis_url: str | None = None
    secret: SecretStr | None = None
    environment: Literal["development", "production"] = "development"

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=MAX_WORKERS)
    """Processes serving the one port (`MODELPORT_WORKERS`, `serve --workers`): a number, or
    `auto` for this machine's cores. One is a single process, as before; more share their
    limits and revocations through the parent (docs/design/workers.md)."""
    worker_timeout: float = Field(30.0, ge=0)
    """Seconds a worker's event loop may go without a turn before the parent kills it with -9
    and starts another (`MODELPORT_WORKER_TIMEOUT`); 0: never. With more than one worker only;
    at least 5: on a loaded machine a worker that is only slow must not be taken for hung."""
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_file: Path | None = None
    log_format: Literal["json", "text"] = "json"
    """`text` for readable lines in a developer's terminal (`MODELPORT_LOG_FORMAT`)."""

    url: str = "http://127.0.0.1:8080"
    """Where the CLI's API commands send requests (`MODELPORT_URL`)."""
    token: SecretStr | None = None
    """The API token the CLI's API commands present (`MODELPORT_TOKEN`)."""
    context: str | None = None
    """The CLI context (hub URL and token stored by `modelport auth init`) to use, when
    `--context` is not given (`MODELPORT_CONTEXT`); the current one when unset."""

    catalog: Path | None = None
    """The model catalog file (TOML); the shipped one when unset."""
    upstream_connect_timeout: float = Field(5.0, gt=0)
    upstream_read_timeout: float = Field(300.0, gt=0)
    """Longest silence allowed between bytes from an upstream (streams included)."""
    upstream_max_connections: int = Field(4096, ge=1)
    """Upstream connections in use at once per origin (scheme, host, port); a catalog
    deployment may set its own. Past it a request waits up to the connect timeout, then 503."""
    upstream_max_body_bytes: int = Field(64 * 1_048_576, ge=1024)
    """The largest upstream answer read whole, and server-sent event, after decompression."""
    https_proxy: str | None = Field(
        None, validation_alias=AliasChoices("HTTPS_PROXY", "https_proxy")
    )
    """The forward proxy for https upstreams (a CONNECT tunnel); the standard variable."""
    http_proxy: str | None = Field(None, validation_alias=AliasChoices("HTTP_PROXY", "http_proxy"))
    """The forward proxy for plain http upstreams; the standard variable."""
    no_proxy: str | None = Field(None, validation_alias=AliasChoices("NO_PROXY", "no_proxy"))
    """Hosts, domains, addresses and networks reached without a proxy; the standard variable."""
    webhooks_allow_private: bool = False
    """Whether team webhooks may reach loopback, private and link-local addresses (off: a
    team's owner cannot make the hub call its own network)."""
    max_attempts: int = Field(3, ge=1, le=10)
    """Deployments a request may try before it fails: the first and its failovers."""
    request_deadline_seconds: float = Field(60.0, gt=0)
    """No failover starts once a request has run this long."""
    upstream_ca_file: Path | None = None
    """More certificate authorities (a PEM bundle) to trust for https upstreams, besides the
    system's (`MODELPORT_UPSTREAM_CA_FILE`); for a provider or gateway with a private CA."""
    cooldown_failures: int = Field(3, ge=1)
    cooldown_window_seconds: float = Field(60.0, gt=0)
    cooldown_seconds: float = Field(30.0, gt=0)
    """A deployment failing `cooldown_failures` times within `cooldown_window_seconds` is
    skipped for `cooldown_seconds` (`infra/cooldown.py`)."""
    max_inference_request_bytes: int = Field(8 * 1_048_576, ge=1024)
    shutdown_grace_seconds: float = Field(30.0, ge=0)
    """How long requests in flight may run on after SIGTERM before they are cut and billed
    for what they delivered (`MODELPORT_SHUTDOWN_GRACE_SECONDS`)."""

    api_rate_limit_per_minute: int = Field(250, ge=1)
    max_request_bytes: int = Field(1_048_576, ge=1024)
    db_pool_size: int = Field(10, ge=1)
    session_hours: int = Field(12, ge=1, le=24 * 30)
    """How long a control panel sign-in lasts (`MODELPORT_SESSION_HOURS`)."""
    metrics_token: SecretStr | None = None
    """When set, `GET /metrics` needs it as a bearer token (`MODELPORT_METRICS_TOKEN`)."""
    trusted_proxies: str = ""
    """Comma-separated addresses and CIDR ranges of the proxies in front of the hub
    (`MODELPORT_TRUSTED_PROXIES`): from those peers only, `X-Forwarded-For` names the client
    and `X-Forwarded-Proto` the scheme. Empty: no proxy is trusted, the peer is the client."""
    responses_retention_days: int = Field(30, ge=1, le=3650)
    """How long a stored `/v1/responses` response and its input items are kept, counted from
    when it was created (`MODELPORT_RESPONSES_RETENTION_DAYS`); then it is purged."""
    secret_scanning_keys_file: Path | None = None
    """GitHub's secret scanning public keys, in GitHub's JSON format: reports signed by one
    of them may revoke keys (`MODELPORT_SECRET_SCANNING_KEYS_FILE`; README, Leaked keys)."""
    secret_scanning_keys_url: str | None = None
    """Where to fetch those keys again when a report names one not known yet, e.g.
    https://api.github.com/meta/public_keys/secret_scanning
    (`MODELPORT_SECRET_SCANNING_KEYS_URL`)."""
    leaked_keys: Literal["revoke", "report"] = "revoke"
    """What a secret scanning report does to a live key: revoke it, or only tell its team
    (`MODELPORT_LEAKED_KEYS`)."""

    # OpenTelemetry's own standard variables (no MODELPORT_ prefix): whether and where traces
    # go (`modelport.tracing`; its exporter reads the other OTEL_* variables itself).
    otel_exporter_otlp_endpoint: str | None = Field(
        None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT"
    )
    otel_traces_exporter: str | None = Field(None, validation_alias="OTEL_TRACES_EXPORTER")
    otel_exporter_otlp_protocol: str | None = Field(
        None, validation_alias="OTEL_EXPORTER_OTLP_PROTOCOL"
    )
    otel_sdk_disabled: bool = Field(False, validation_alias="OTEL_SDK_DISABLED")

    secret_file: Path | None = None
    database_url_file: Path | None = None
    redis_url_file: Path | None = None
    metrics_token_file: Path | None = None
    token_file: Path | None = None

    @model_validator(mode="before")
    @classmethod
    def _read_files(cls, data: object) -> object:
        """`MODELPORT_X_FILE` names a file that holds X's value, less its trailing newline."""
        if not isinstance(data, dict):
            return data
        values = dict(data)
        for name in FROM_FILE:
            path = values.get(f"{name}_file")
            if path in (None, ""):
                continue
            variable = f"MODELPORT_{name.upper()}"
            if values.get(name) not in (None, ""):
                raise ValueError(f"give {variable} or {variable}_FILE, not both")
            try:
                value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
            except (OSError, UnicodeDecodeError) as exc:
                why = getattr(exc, "strerror", None) or "not UTF-8 text"
                raise ValueError(f"{variable}_FILE: cannot read {path}: {why}") from None
            if not value:
                # A secret mounted wrong must not quietly unset the setting (an open /metrics,
                # a database of its own, no Redis).
                raise ValueError(f"{variable}_FILE: {path} is empty")
            values[name] = value
        return values

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("sqlite", "postgres")):
            raise ValueError("must be a sqlite:/// or postgresql:// URL")
        # Imported here: SQLAlchemy costs every CLI command ~0.1 s to import, and the API
        # commands (keys, models, usage) never touch a database.
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            make_url(value)
        except ArgumentError:
            raise ValueError("is not a database URL (sqlite:///path, postgresql://...)") from None
        return value

    @field_validator(
        "metrics_token",
        "upstream_ca_file",
        "secret_scanning_keys_file",
        "secret_scanning_keys_url",
        "https_proxy",
        "http_proxy",
        "no_proxy",
        "otel_exporter_otlp_endpoint",
        "otel_traces_exporter",
        "otel_exporter_otlp_protocol",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("workers", mode="before")
    @classmethod
    def _auto_workers(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        if value.strip().lower() == "auto":
            return cores()
        if not value.strip().isdigit():
            raise ValueError("must be a number of processes, or auto")
        return value

    @field_validator("worker_timeout")
    @classmethod
    def _timeout_or_never(cls, value: float) -> float:
        if 0 < value < MIN_WORKER_TIMEOUT:
            raise ValueError(f"must be 0 (never) or at least {MIN_WORKER_TIMEOUT:g} seconds")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: str) -> str:
        parse_networks(_items(value), what="trusted proxies")  # refuses a bad one at start
        return value

    @property
    def trusted_proxy_networks(self) -> Networks:
        return parse_networks(_items(self.trusted_proxies), what="trusted proxies")

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL with the async driver SQLAlchemy needs."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'modelport.db').resolve()}"
        for plain, driver in (
            ("sqlite://", "sqlite+aiosqlite://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(plain):
                return driver + url[len(plain) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def server_secret(self) -> bytes:
        """The HMAC key for every stored digest; generated into the data dir on first start.

        Raises ValueError when the configuration is unsafe: a short secret, or a shared
        database (several replicas) without an explicit `MODELPORT_SECRET`, since each replica
        would generate a different one and no key would verify across them.
        """
        if self.secret is not None:
            value = self.secret.get_secret_value()
            if len(value) < MIN_SECRET_LENGTH:
                raise ValueError(f"MODELPORT_SECRET must be at least {MIN_SECRET_LENGTH} chars")
            return value.encode("utf-8")
        if not self.is_sqlite:
            raise ValueError("MODELPORT_SECRET must be set when the database is shared")
        return _load_or_create_secret(self.data_dir / SECRET_FILE)


def cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container's cpuset
    narrows), at most `MAX_WORKERS`."""
    affinity = getattr(os, "sched_getaffinity", None)  # Linux; elsewhere, every core
    usable = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    return max(1, min(MAX_WORKERS, usable))


def describe(error: ValidationError) -> str:
    """A settings error on one line, naming each bad variable (never its value)."""
    problems = []
    for item in error.errors():
        message = item["msg"].removeprefix("Value error, ")
        names = [str(part) for part in item["loc"]]
        problems.append(f"{_variable('_'.join(names))}: {message}" if names else message)
    return "; ".join(problems)


def _variable(field: str) -> str:
    """The environment variable a setting is read from (a standard one keeps its own name)."""
    info = Settings.model_fields.get(field)
    if info is None:  # pydantic names a field read by its alias by that alias
        return field.upper()
    alias = info.validation_alias
    if isinstance(alias, str):
        return alias
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return f"MODELPORT_{field.upper()}"


def environment_value(name: str) -> str | None:
    """A variable the catalog names (an upstream credential or URL), from the environment or
    else the `.env` file; None if unset or empty."""
    return os.environ.get(name) or dotenv_values(ENV_FILE).get(name) or None


def cli_config_file() -> Path:
    """Where the CLI keeps its contexts: `$XDG_CONFIG_HOME/modelport/config.toml`, by
    default `~/.config/modelport/config.toml`."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "modelport" / "config.toml"


def _items(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _load_or_create_secret(path: Path) -> bytes:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # the data folder: see db/files.py
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text().strip()
        if len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"{path} holds a server secret that is too short") from None
        return value.encode("utf-8")
    with os.fdopen(fd, "w") as handle:
        value = secrets.token_urlsafe(48)
        handle.write(value + "\n")
    return value.encode("utf-8")
