"""The rules for leaked keys: a reported secret that is a live key is revoked (or, if the
operator chose, only reported), the event is audited with where it was found, and the key's
team is told: in the panel, and at its webhook when it has one.

A secret is looked up by its digest, never kept. Revocation is the key service's delete, so
the revocation ledger makes every replica refuse the key once this commits.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from modelport.audit.service import AuditService
from modelport.auth.principal import Caller, Principal
from modelport.core import secrets as secret_format
from modelport.core.clock import utcnow
from modelport.core.digest import Digester
from modelport.db.tables import AuditEvent, ModelKey
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput, NotFound
from modelport.keys.service import KeyService
from modelport.leaks.repository import LeakRepository

LEAK_REVOKED = "key.leak_revoke"
LEAK_REPORTED = "key.leak_report"
LEAK_ACTIONS = (LEAK_REVOKED, LEAK_REPORTED)
BANNER_DAYS = 14
"""How long the panel shows a leak."""
MAX_URL = 2048
WEBHOOK_PATTERN = r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#][!-~]*)?$"
"""An http(s) URL on a host name or IPv4 address, printable ASCII only."""
OTHER_TEAM_REPORTER = "leak-report"
"""The actor another team's key is revoked as: the reporting team is not named to it."""

Action = Literal["revoked", "reported"]
Notify = Callable[[str, Mapping[str, object]], None]
"""Sends a JSON payload to a webhook URL in the background (`infra.webhooks`)."""


@dataclass(frozen=True, slots=True)
class Reporter:
    """Who reports a leak: GitHub, or one of a team's credentials."""

    actor: str
    team_id: uuid.UUID | None = None
    client_addr: str | None = None
    request_id: str | None = None


Finding = ModelKey | None
"""What a reported secret turned out to be: the live key it was (whichever team's), or None."""


class LeakService:
    def __init__(
        self, unit: UnitOfWork, keys: KeyService, digester: Digester, notify: Notify
    ) -> None:
        self._unit = unit
        self._keys = keys
        self._repo = LeakRepository(unit.session)
        self._audit = AuditService(unit)
        self._digester = digester
        self._notify = notify

    async def report(
        self, secrets: Sequence[str], reporter: Reporter, *, url: str | None, revoke: bool
    ) -> list[Finding]:
        """One finding per secret, in order; a secret given twice is handled once."""
        done: dict[str, Finding] = {}
        for secret in secrets:
            if secret not in done:
                done[secret] = await self._one(secret, reporter, url, revoke)
        return [done[secret] for secret in secrets]

    async def _one(self, secret: str, reporter: Reporter, url: str | None, revoke: bool) -> Finding:
        if not secret_format.is_well_formed(secret_format.MODEL_KEY_PREFIX, secret):
            return None
        key = await self._repo.live_key(self._digester.digest(secret), utcnow())
        if key is None:
            return None
        own = reporter.team_id is None or reporter.team_id == key.team_id
        caller = Caller(
            Principal(
                team_id=key.team_id,
                team_name="",
                actor=reporter.actor if own else OTHER_TEAM_REPORTER,
                scopes=frozenset(),
            ),
            client_addr=reporter.client_addr if own else None,
            request_id=reporter.request_id,
        )
        action: Action = "reported"
        if revoke:
            try:
                key = await self._keys.delete(caller, key.id)
            except NotFound:
                return None  # revoked meanwhile, by a report racing this one
            action = "revoked"
        where = None if url is None else url[:MAX_URL]
        await self._audit.record(
            caller,
            LEAK_REVOKED if revoke else LEAK_REPORTED,
            target_id=key.id,
            target_name=key.name,
            detail=where,
        )
        await self._tell_team(key, action, where)
        return key

    async def _tell_team(self, key: ModelKey, action: Action, url: str | None) -> None:
        """POST to the team's webhook once this commits: never the secret, never awaited."""
        webhook = await self._repo.webhook_url(key.team_id)
        if webhook is None:
            return
        payload: dict[str, object] = {
            "event": "api_key.leaked",
            "action": action,
            "api_key_uuid": str(key.id),
            "name": key.name,
            "hint": "…" + key.hint,
            "url": url,
            "at": utcnow().isoformat(),
        }
        self._unit.after_commit(lambda: self._notify(webhook, payload))

    async def recent(self, team_id: uuid.UUID) -> list[AuditEvent]:
        """The team's leaks of the last `BANNER_DAYS` days, newest first, for the panel."""
        since = utcnow() - timedelta(days=BANNER_DAYS)
        return await self._repo.events_since(team_id, LEAK_ACTIONS, since, limit=5)

    async def webhook_url(self, team_id: uuid.UUID) -> str | None:
        return await self._repo.webhook_url(team_id)

    async def set_webhook_url(self, caller: Caller, url: str | None) -> str | None:
        """Set (or, with None, clear) the team's webhook; InvalidInput unless http(s)."""
        checked = None if url is None else _valid_webhook(url)
        await self._repo.set_webhook_url(caller.team_id, checked)
        await self._audit.record(caller, "team.webhook", detail=None if checked is None else "set")
        return checked


def _valid_webhook(url: str) -> str:
    if len(url) > MAX_URL:
        raise InvalidInput(f"webhook_url is longer than {MAX_URL} characters", field="webhook_url")
    if re.fullmatch(WEBHOOK_PATTERN, url) is None:
        raise InvalidInput(
            "webhook_url must be an http:// or https:// URL on a host name or IPv4 address",
            field="webhook_url",
        )
    return url
