"""The rules of the model access key lifecycle. No HTTP here; routes and the panel call it."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import partial

from modelport.audit.service import AuditService
from modelport.auth.principal import Caller
from modelport.auth.repository import TeamRepository
from modelport.core import secrets as secret_format
from modelport.core.addresses import texts
from modelport.core.clock import utcnow
from modelport.core.digest import Digest, Digester
from modelport.core.money import usd
from modelport.core.names import normalize_name
from modelport.core.paging import Page, PageRequest, window
from modelport.db.tables import KeyCreditTopUp, ModelKey
from modelport.db.uow import UnitOfWork
from modelport.errors import InvalidInput, NotFound
from modelport.infra.leases import CacheLease
from modelport.infra.revocations import RevocationLedger
from modelport.keys.limits import (
    MAX_CREDIT_PICOUSD,
    MAX_CREDIT_USD,
    NO_CHANGE,
    NO_LIMITS,
    UNCHANGED,
    KeyLimitsUpdate,
    Unchanged,
)
from modelport.keys.overlap import IMMEDIATE, checked_seconds, overlap
from modelport.keys.repository import KeyRepository
from modelport.keys.verifier import KeyVerifier

KEY_NOT_FOUND = "The resource you requested could not be found."


@dataclass(frozen=True, slots=True)
class KeyCredit:
    """A key's prepaid credit: granted by top-ups, spent by usage since the first one."""

    granted: int
    spent: int

    @property
    def remaining(self) -> int:
        """May be below 0 by what requests in flight when it ran out cost."""
        return self.granted - self.spent


class KeyService:
    """Create, list, rename, regenerate and delete a team's keys, in the caller's unit of work.

    Create and regenerate return `(key, secret)`: that return value is the secret's only way
    out. Everything else handles digests.
    """

    def __init__(
        self,
        unit: UnitOfWork,
        digester: Digester,
        ledger: RevocationLedger,
        lease: CacheLease,
        verifier: KeyVerifier,
        known_models: frozenset[str],
    ) -> None:
        self._unit = unit
        self._known_models = known_models
        self._keys = KeyRepository(unit.session)
        self._teams = TeamRepository(unit.session)
        self._audit = AuditService(unit)
        self._digester = digester
        self._ledger = ledger
        self._lease = lease
        self._verifier = verifier

    async def create(
        self,
        caller: Caller,
        name: str,
        models: Sequence[str] | None = None,
        limits: KeyLimitsUpdate = NO_CHANGE,
    ) -> tuple[ModelKey, secret_format.PlainSecret]:
        """A new key and its secret, with `limits` (a limit left unchanged is none);
        InvalidInput if the name or models are wrong."""
        given = limits.applied_to(NO_LIMITS)
        secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
        key = ModelKey(
            id=uuid.uuid4(),
            team_id=caller.team_id,
            name=_valid_name(name),
            digest=self._digester.digest(secret),
            hint=secret_format.hint(secret),
            models=self._valid_models(models),
            created_at=utcnow(),
            created_by=caller.principal.actor,
            expires_at=given.expires_at,
            monthly_spend_limit_picousd=given.monthly_spend_picousd,
            rpm_limit=given.rpm_limit,
            tpm_limit=given.tpm_limit,
            allowed_ips=None if given.allowed_ips is None else texts(given.allowed_ips),
        )
        await self._keys.add(key)
        await self._audit.record(caller, "key.create", target_id=key.id, target_name=key.name)
        return key, secret

    async def page(self, team_id: uuid.UUID, request: PageRequest) -> Page[ModelKey]:
        """One page of the team's live keys, newest first."""
        if request.offset == 0:  # the first page, the one most read, in one statement
            first = await self._keys.first_page(team_id, request.per_page)
            if first is not None:
                keys, total = first
                return Page(keys[:total], total)
        total = await self._teams.key_count(team_id)
        where = window(request, total)
        keys = await self._keys.live_page(
            team_id, offset=where.offset, limit=where.limit, oldest_first=where.reverse
        )
        return Page(keys, total)

    async def get(self, team_id: uuid.UUID, key_id: uuid.UUID) -> ModelKey:
        """A live key of this team; NotFound for unknown, deleted and other teams' keys."""
        key = await self._keys.live(team_id, key_id)
        if key is None:
            raise NotFound(KEY_NOT_FOUND)
        return key

    async def by_ids(self, team_id: uuid.UUID, key_ids: Collection[uuid.UUID]) -> list[ModelKey]:
        """This team's keys among `key_ids`, deleted ones included (usage outlives a key);
        other teams' ids are left out."""
        return await self._keys.by_ids(team_id, key_ids)

    async def ensure_owned(self, team_id: uuid.UUID, key_id: uuid.UUID) -> None:
        """NotFound unless the key is this team's, live or deleted (its usage outlives it)."""
        if not await self._keys.belongs(team_id, key_id):
            raise NotFound(KEY_NOT_FOUND)

    async def rename(self, caller: Caller, key_id: uuid.UUID, name: str) -> ModelKey:
        """The renamed key; InvalidInput for a bad name, NotFound for no such key."""
        return await self.update(caller, key_id, name=name)

    async def update(
        self,
        caller: Caller,
        key_id: uuid.UUID,
        *,
        name: str | Unchanged | None = UNCHANGED,
        limits: KeyLimitsUpdate = NO_CHANGE,
    ) -> ModelKey:
        """The key with a new `name` and `limits`, or either.

        Changing a limit makes every process re-read the key before trusting it again.
        InvalidInput for a bad name or no change, NotFound for no such key.
        """
        new_name = UNCHANGED if isinstance(name, Unchanged) else _valid_name(name)
        if new_name is UNCHANGED and limits.empty:
            raise InvalidInput("nothing to change: give a name or a limit")
        if not limits.empty:
            await self._distrust_cached(caller.team_id, key_id)
        key = await self._keys.change_name_and_limits(caller.team_id, key_id, new_name, limits)
        if key is None:
            raise NotFound(KEY_NOT_FOUND)
        action = "key.rename" if limits.empty else "key.update"
        await self._audit.record(caller, action, target_id=key.id, target_name=key.name)
        return key

    async def regenerate(
        self, caller: Caller, key_id: uuid.UUID, overlap_seconds: int = 0
    ) -> tuple[ModelKey, secret_format.PlainSecret]:
        """The key with a new secret. The old one is refused once this commits or, given
        `overlap_seconds`, from that many seconds later; the old secret of an earlier overlap
        is refused at once either way. InvalidInput for a bad overlap, NotFound."""
        seconds = checked_seconds(overlap_seconds)
        old = await self._distrust_cached(caller.team_id, key_id)
        secret = secret_format.generate(secret_format.MODEL_KEY_PREFIX)
        key = await self._keys.change(
            caller.team_id,
            key_id,
            digest=self._digester.digest(secret),
            hint=secret_format.hint(secret),
            **overlap(old, seconds, utcnow()).columns(),
        )
        if key is None:
            raise NotFound(KEY_NOT_FOUND)
        await self._audit.record(caller, "key.regenerate", target_id=key.id, target_name=key.name)
        return key, secret

    async def delete(self, caller: Caller, key_id: uuid.UUID) -> ModelKey:
        """The deleted key, `deleted_at` set; its secret is refused once this commits."""
        await self._distrust_cached(caller.team_id, key_id)
        key = await self._keys.remove(
            caller.team_id, key_id, deleted_at=utcnow(), digest=None, **IMMEDIATE.columns()
        )
        if key is None:
            raise NotFound(KEY_NOT_FOUND)
        await self._audit.record(caller, "key.delete", target_id=key.id, target_name=key.name)
        return key

    async def top_up(
        self, caller: Caller, key_id: uuid.UUID, amount: int
    ) -> tuple[ModelKey, KeyCredit]:
        """Add `amount` picodollars (checked: `limits.parse_top_up`) to the key's credit,
        audited; the key and its credit after. NotFound for no such key.

        Every process re-reads the key before trusting it again, as for a limit change.
        """
        await self._distrust_cached(caller.team_id, key_id)  # and locks the key's row
        current = await self._keys.live(caller.team_id, key_id)
        if current is not None and (current.credit_picousd or 0) + amount > MAX_CREDIT_PICOUSD:
            raise InvalidInput(
                f"amount_usd would take the key's credit past {MAX_CREDIT_USD} USD",
                field="amount_usd",
            )
        top_up = KeyCreditTopUp(
            key_id=key_id,
            amount_picousd=amount,
            at=utcnow(),
            actor=caller.principal.actor,
            request_id=caller.request_id,
        )
        key = await self._keys.add_credit(caller.team_id, key_id, top_up)
        if key is None:
            raise NotFound(KEY_NOT_FOUND)
        await self._audit.record(
            caller,
            "key.credit_topped_up",
            target_id=key.id,
            target_name=key.name,
            detail=f"+{usd(amount)} USD",
        )
        return key, await self.credit(key)

    async def credit(self, key: ModelKey) -> KeyCredit:
        """The key's credit now; granted 0 if it has none (see `credit_picousd`)."""
        return await _credit(self._keys, key)

    def _valid_models(self, models: Sequence[str] | None) -> list[str] | None:
        """The sorted, distinct model ids; InvalidInput if empty or not in the catalog."""
        if models is None:
            return None
        cleaned = sorted({m.strip() for m in models})
        if not cleaned or any(not m for m in cleaned):
            raise InvalidInput("models must be a non-empty list of model ids", field="models")
        unknown = [m for m in cleaned if m not in self._known_models]
        if unknown:
            raise InvalidInput(f"models not in the catalog: {', '.join(unknown)}", field="models")
        return cleaned

    async def _distrust_cached(self, team_id: uuid.UUID, key_id: uuid.UUID) -> Digest:
        """Lock the key's row and mark its current digest in the ledger, before the change commits.

        Marking first means no process trusts a cached verification of the key from the
        moment the change is visible: it asks the database, which refuses a revoked secret
        and gives the new limits. The old secret of an overlap (`keys/overlap.py`) is marked
        as well: a regenerate or a delete then refuses it on every replica at once, and new
        limits reach it too. Raises NotFound.
        """
        digests = await self._keys.locked_digests(team_id, key_id)
        if digests is None:
            raise NotFound(KEY_NOT_FOUND)
        for digest in digests:
            if digest is not None:
                await self._distrust(digest)
        return digests[0]

    async def _distrust(self, digest: Digest) -> None:
        """Mark `digest` and announce it to every replica's lease now. Once the transaction
        has ended, committed or rolled back, settle the mark (a cache fill that begins after
        it may be trusted again); once committed, also forget it here and wait until no
        replica can trust a cached verification of it (`docs/design/leases.md`): only then
        may the response go out. Rolled back, the lease's mark is released at once."""
        mark = await self._ledger.mark(digest)
        self._unit.after_end(partial(self._ledger.settle, digest, mark))
        announced = await self._lease.announce(digest)
        self._unit.after_commit(partial(self._verifier.forget, digest))
        self._unit.after_commit(partial(self._lease.settle, announced))
        self._unit.after_end(partial(self._lease.release, announced))  # after settle, if any


def _valid_name(raw: object) -> str:
    if not isinstance(raw, str):
        raise InvalidInput("name must be a string", field="name")
    try:
        return normalize_name(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="name") from None


async def _credit(keys: KeyRepository, key: ModelKey) -> KeyCredit:
    spent = 0 if key.credit_picousd is None else await keys.credit_spent(key.id)
    return KeyCredit(key.credit_picousd or 0, spent)


async def key_credit(unit: UnitOfWork, key: ModelKey) -> KeyCredit | None:
    """A key's prepaid credit, for `GET /v1/key`; None when it has none."""
    if key.credit_picousd is None:
        return None
    return await _credit(KeyRepository(unit.session), key)


async def live_key(unit: UnitOfWork, team_id: uuid.UUID, key_id: uuid.UUID) -> ModelKey:
    """A live key of this team, for readers that need none of KeyService's parts (the data
    plane's `GET /v1/key`); NotFound for unknown, deleted and other teams' keys."""
    key = await KeyRepository(unit.session).live(team_id, key_id)
    if key is None:
        raise NotFound(KEY_NOT_FOUND)
    return key
