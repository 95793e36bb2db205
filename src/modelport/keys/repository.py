"""All SQL for model access keys. Never commits.

Every change is one UPDATE ... RETURNING on the columns it changes, so a rename racing a
regenerate loses neither, and concurrent regenerates serialise on the row.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Result,
    Table,
    Update,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from modelport.auth.repository import ADJUST_KEY_COUNT
from modelport.core.addresses import Networks, texts
from modelport.core.digest import Digest
from modelport.db.tables import KeyCreditTopUp, ModelKey, Team, UsageRecord
from modelport.keys.limits import (
    UNCHANGED,
    KeyLimits,
    KeyLimitsUpdate,
    Unchanged,
    stored_networks,
)


@dataclass(frozen=True, slots=True)
class VerifiedKeyRow:
    """What the verifier needs about a live key, read by digest."""

    id: uuid.UUID
    team_id: uuid.UUID
    team_name: str
    models: list[str] | None
    limits: KeyLimits
    secret_expires_at: datetime | None = None
    """Set when the digest is the key's previous one: the end of its overlap."""


# Statements of the key operations, built once: building one cost more CPU than running it
# (docs/benchmarks.md, "Keys"). Bound parameters are named unlike any column, since an UPDATE
# would set a column named by one.
_LIVE_KEY = (
    ModelKey.id == bindparam("p_key_id"),
    ModelKey.team_id == bindparam("p_team_id"),
    ModelKey.deleted_at.is_(None),
)
_SET_LIVE_KEY = update(ModelKey).where(*_LIVE_KEY).returning(ModelKey)
_KEYS = cast(Table, ModelKey.__table__)
_INSERT_KEY = insert(_KEYS).values({c: bindparam(f"k_{c.key}") for c in _KEYS.columns})
_COUNTED = ADJUST_KEY_COUNT.cte("counted")
"""The team's count of live keys, moved in the same statement as the key on PostgreSQL (a
data-modifying WITH): one round trip fewer for create and delete. SQLite has no such WITH:
there it is a statement of its own, in the same transaction."""
_LOCKED_DIGESTS = (
    select(ModelKey.digest, ModelKey.previous_digest).where(*_LIVE_KEY).with_for_update()
)
# deleted_at leads the order though it is NULL in every row read: PostgreSQL walks
# ix_model_keys_team_live (team_id, deleted_at, created_at, id) in order only if the ORDER BY
# names it (`IS NULL` is no equality to its planner). Without it, it reads and sorts every
# live key of the team (docs/benchmarks.md, Design decisions).
_LIVE_PAGE = (
    select(ModelKey)
    .where(ModelKey.team_id == bindparam("p_team_id"), ModelKey.deleted_at.is_(None))
    .offset(bindparam("p_offset"))
    .limit(bindparam("p_limit"))
)
_NEWEST_FIRST = _LIVE_PAGE.order_by(
    ModelKey.deleted_at.desc(), ModelKey.created_at.desc(), ModelKey.id.desc()
)
_OLDEST_FIRST = _LIVE_PAGE.order_by(
    ModelKey.deleted_at.asc(), ModelKey.created_at.asc(), ModelKey.id.asc()
)
_FIRST_PAGE = (
    select(
        ModelKey,
        select(Team.live_key_count).where(Team.id == bindparam("p_team_id")).scalar_subquery(),
    )
    .where(ModelKey.team_id == bindparam("p_team_id"), ModelKey.deleted_at.is_(None))
    .order_by(ModelKey.deleted_at.desc(), ModelKey.created_at.desc(), ModelKey.id.desc())
    .limit(bindparam("p_limit"))
)


_CHANGED = {"synchronize_session": False, "populate_existing": True}
"""A key this session loaded earlier is refreshed in place by an UPDATE ... RETURNING."""


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, key: ModelKey) -> None:
        """Insert the key and count it among its team's live keys."""
        row = {f"k_{column.key}": getattr(key, column.key) for column in _KEYS.columns}
        await self._counting(_INSERT_KEY, row, key.team_id, +1, {})

    async def remove(self, team_id: uuid.UUID, key_id: uuid.UUID, **values: Any) -> ModelKey | None:
        """As `change`, and no longer count the key among its team's live keys."""
        statement = _SET_LIVE_KEY.values(values)
        result = await self._counting(
            statement, {"p_key_id": key_id, "p_team_id": team_id}, team_id, -1, _CHANGED
        )
        key: ModelKey | None = result.scalar_one_or_none()
        return key

    async def _counting(
        self,
        statement: Insert | Update,
        params: dict[str, Any],
        team_id: uuid.UUID,
        delta: int,
        options: Mapping[str, Any],
    ) -> Result[Any]:
        """Run `statement` and move the team's count of live keys by `delta`.

        No key of `params` may name a column of teams: the WITH's UPDATE would set it.
        """
        counted = {"p_team_id": team_id, "p_delta": delta}
        if self._session.bind is not None and self._session.bind.dialect.name == "postgresql":
            return await self._session.execute(
                statement.add_cte(_COUNTED), {**params, **counted}, execution_options=options
            )
        result = await self._session.execute(statement, params, execution_options=options)
        await self._session.execute(ADJUST_KEY_COUNT, counted)
        return result

    async def live(self, team_id: uuid.UUID, key_id: uuid.UUID) -> ModelKey | None:
        result = await self._session.execute(
            select(ModelKey).where(
                ModelKey.id == key_id, ModelKey.team_id == team_id, ModelKey.deleted_at.is_(None)
            )
        )
        return result.scalar_one_or_none()

    async def belongs(self, team_id: uuid.UUID, key_id: uuid.UUID) -> bool:
        """Whether the key is this team's, deleted or not."""
        result = await self._session.execute(
            select(ModelKey.id).where(ModelKey.id == key_id, ModelKey.team_id == team_id)
        )
        return result.scalar_one_or_none() is not None

    async def by_ids(self, team_id: uuid.UUID, key_ids: Collection[uuid.UUID]) -> list[ModelKey]:
        """This team's keys among `key_ids`, deleted ones included."""
        if not key_ids:
            return []
        result = await self._session.execute(
            select(ModelKey).where(ModelKey.team_id == team_id, ModelKey.id.in_(key_ids))
        )
        return list(result.scalars())

    async def live_page(
        self, team_id: uuid.UUID, *, offset: int, limit: int, oldest_first: bool
    ) -> list[ModelKey]:
        """Live keys of a team, newest first, read from whichever end is nearer."""
        if limit == 0:
            return []
        result = await self._session.execute(
            _OLDEST_FIRST if oldest_first else _NEWEST_FIRST,
            {"p_team_id": team_id, "p_offset": offset, "p_limit": limit},
        )
        rows = list(result.scalars())
        return rows[::-1] if oldest_first else rows

    async def first_page(self, team_id: uuid.UUID, limit: int) -> tuple[list[ModelKey], int] | None:
        """The newest `limit` live keys of a team and its count of live keys, read together
        in one statement; None if it has no live key (nothing then tells the count)."""
        result = await self._session.execute(_FIRST_PAGE, {"p_team_id": team_id, "p_limit": limit})
        rows = result.all()
        if not rows:
            return None
        return [key for key, _ in rows], rows[0][1]

    async def change(self, team_id: uuid.UUID, key_id: uuid.UUID, **values: Any) -> ModelKey | None:
        """Set `values` on a live key of this team; the updated row, or None if there is none.

        A key this session loaded earlier is refreshed in place, so that no one holding it
        (or listing the keys after) sees the values from before the change.
        """
        return await self._set(team_id, key_id, values)

    async def _set(
        self, team_id: uuid.UUID, key_id: uuid.UUID, values: Mapping[Any, Any]
    ) -> ModelKey | None:
        result = await self._session.execute(
            _SET_LIVE_KEY.values(values),
            {"p_key_id": key_id, "p_team_id": team_id},
            execution_options=_CHANGED,
        )
        return result.scalar_one_or_none()

    async def change_name_and_limits(
        self, team_id: uuid.UUID, key_id: uuid.UUID, name: str | Unchanged, limits: KeyLimitsUpdate
    ) -> ModelKey | None:
        """Set the name (unless UNCHANGED) and the limits the update changes; as `change`."""
        given = {
            ModelKey.name: name,
            ModelKey.expires_at: limits.expires_at,
            ModelKey.monthly_spend_limit_picousd: limits.monthly_spend_picousd,
            ModelKey.rpm_limit: limits.rpm_limit,
            ModelKey.tpm_limit: limits.tpm_limit,
            ModelKey.allowed_ips: _texts(limits.allowed_ips),
        }
        changed = {column: value for column, value in given.items() if value is not UNCHANGED}
        return await self._set(team_id, key_id, changed)

    async def locked_digests(
        self, team_id: uuid.UUID, key_id: uuid.UUID
    ) -> tuple[Digest, Digest | None] | None:
        """The live key's digest and its previous one (`keys/overlap.py`, expired or not; None
        if none), with its row locked until the transaction ends; None if there is no such key.

        PostgreSQL takes a row lock, so concurrent regenerates see each other's digests;
        SQLite's write transaction already holds the database lock.
        """
        result = await self._session.execute(
            _LOCKED_DIGESTS, {"p_key_id": key_id, "p_team_id": team_id}
        )
        row = result.one_or_none()
        if row is None:
            return None
        current, previous = row
        if current is None:
            return None
        return Digest(current), None if previous is None else Digest(previous)

    async def verify_by_digest(self, digest: Digest, now: datetime) -> VerifiedKeyRow | None:
        """The live key whose current digest is `digest`, or whose previous one is and was
        still accepted at `now`; None if there is none."""
        presented = or_(
            ModelKey.digest == digest,
            and_(ModelKey.previous_digest == digest, ModelKey.previous_expires_at > now),
        )
        result = await self._session.execute(
            select(
                ModelKey.id,
                ModelKey.team_id,
                Team.name,
                ModelKey.models,
                ModelKey.expires_at,
                ModelKey.monthly_spend_limit_picousd,
                ModelKey.rpm_limit,
                ModelKey.tpm_limit,
                ModelKey.allowed_ips,
                ModelKey.digest,
                ModelKey.previous_expires_at,
                ModelKey.credit_picousd,
            )
            .join(Team, Team.id == ModelKey.team_id)
            .where(presented, ModelKey.deleted_at.is_(None))
        )
        row = result.one_or_none()
        if row is None:
            return None
        (
            key_id,
            team_id,
            team_name,
            models,
            expires_at,
            spend,
            rpm,
            tpm,
            allowed_ips,
            current,
            until,
            credit,
        ) = row
        limits = KeyLimits(
            expires_at,
            spend,
            rpm,
            tpm,
            allowed_ips=stored_networks(allowed_ips),
            credit_picousd=credit,
        )
        secret_until = None if current == digest else until
        return VerifiedKeyRow(key_id, team_id, team_name, models, limits, secret_until)

    async def touch(self, used: dict[uuid.UUID, datetime]) -> None:
        """Record last use for several keys at once; never moves a time backwards."""
        for key_id, at in used.items():
            await self._session.execute(
                update(ModelKey)
                .where(ModelKey.id == key_id)
                .where((ModelKey.last_used_at.is_(None)) | (ModelKey.last_used_at < at))
                .values(last_used_at=at)
            )

    async def add_credit(
        self, team_id: uuid.UUID, key_id: uuid.UUID, top_up: KeyCreditTopUp
    ) -> ModelKey | None:
        """Write the top-up and add it to the live key's granted credit in one UPDATE; the
        key, or None if there is no such key (and nothing is written)."""
        key = await self._set(
            team_id,
            key_id,
            {
                ModelKey.credit_picousd: func.coalesce(ModelKey.credit_picousd, 0)
                + top_up.amount_picousd
            },
        )
        if key is not None:
            self._session.add(top_up)
        return key

    async def credit_spent(self, key_id: uuid.UUID) -> int:
        """Picodollars the key's usage rows cost since its first top-up; 0 without one."""
        first = (
            select(func.min(KeyCreditTopUp.at))
            .where(KeyCreditTopUp.key_id == key_id)
            .scalar_subquery()
        )
        result = await self._session.execute(
            select(func.coalesce(func.sum(UsageRecord.cost_picousd), 0)).where(
                UsageRecord.key_id == key_id, UsageRecord.created_at >= first
            )
        )
        return int(result.scalar_one())


def _texts(networks: Networks | Unchanged | None) -> list[str] | Unchanged | None:
    """An allow-list as its column holds it."""
    return networks if networks is None or isinstance(networks, Unchanged) else texts(networks)
