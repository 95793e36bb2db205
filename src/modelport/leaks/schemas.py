"""Wire shapes of secret scanning reports, the revoke-leaked API and the team's settings."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from modelport.leaks.service import MAX_URL, WEBHOOK_PATTERN, Finding

MAX_SECRETS = 100
MAX_SECRET_LENGTH = 256


class GitHubReportItem(BaseModel):
    """One secret GitHub found: GitHub's secret scanning partner payload."""

    model_config = ConfigDict(extra="ignore")

    token: str = Field(max_length=MAX_SECRET_LENGTH)
    type: str = Field(max_length=200)
    url: str | None = Field(default=None, description="Where the secret was found.")
    source: str | None = Field(default=None, description="e.g. content, commit, issue.")


GitHubReport = TypeAdapter(list[GitHubReportItem])


class GitHubAnswerItem(BaseModel):
    """GitHub's expected answer for one reported secret."""

    token_raw: str
    token_type: str
    label: Literal["true_positive", "false_positive"]

    @classmethod
    def of(cls, item: GitHubReportItem, finding: Finding) -> GitHubAnswerItem:
        label: Literal["true_positive", "false_positive"] = (
            "false_positive" if finding is None else "true_positive"
        )
        return cls(token_raw=item.token, token_type=item.type, label=label)


class RevokeLeakedBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    secrets: list[str] = Field(
        min_length=1,
        max_length=MAX_SECRETS,
        description=f"Secrets your own scanners found, at most {MAX_SECRETS}.",
    )
    url: str | None = Field(
        default=None, max_length=2048, description="Where they were found, for the audit log."
    )


class LeakedSecretResult(BaseModel):
    """What one secret was. Another team's key is revoked too, but not named."""

    hint: str = Field(description="The secret's last four characters, to tell results apart.")
    status: Literal["revoked", "not_a_live_key"]
    api_key_uuid: uuid.UUID | None = Field(
        description="Your team's key it was; null when not yours or not a key."
    )
    name: str | None = Field(description="That key's name; null when not yours or not a key.")

    @classmethod
    def of(cls, secret: str, finding: Finding, team_id: uuid.UUID) -> LeakedSecretResult:
        key = finding
        mine = key is not None and key.team_id == team_id
        return cls(
            hint="…" + secret[-4:],
            status="not_a_live_key" if key is None else "revoked",
            api_key_uuid=key.id if mine and key is not None else None,
            name=key.name if mine and key is not None else None,
        )


class RevokeLeakedResponse(BaseModel):
    results: list[LeakedSecretResult] = Field(description="One per secret, in order.")


class TeamSettings(BaseModel):
    webhook_url: str | None = Field(
        description="Where the team is told of a leaked key (a JSON POST); null: nowhere."
    )


class TeamSettingsResponse(BaseModel):
    team_settings: TeamSettings


class TeamSettingsBody(BaseModel):
    model_config = ConfigDict(extra="ignore")

    # Documented, not enforced here: the service checks it, with a message saying what is wrong.
    webhook_url: str | None = Field(
        description="An http(s) URL (host name or IPv4 address), or null to clear it.",
        json_schema_extra={"pattern": WEBHOOK_PATTERN, "maxLength": MAX_URL},
    )
