"""Who is calling, on whose behalf, with which rights."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

Scope = Literal["keys:read", "keys:write", "audit:read", "models:read", "usage:read"]

READ_SCOPES: frozenset[Scope] = frozenset({"keys:read", "audit:read", "models:read", "usage:read"})
WRITE_SCOPES: frozenset[Scope] = READ_SCOPES | {"keys:write"}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated control-plane caller: a token or a signed-in user."""

    team_id: uuid.UUID
    team_name: str
    actor: str
    """How the audit log and `created_by` name the caller, e.g. `token:ci`."""
    scopes: frozenset[Scope]

    def can(self, scope: Scope) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Caller:
    """A principal plus where the request came from, for the audit log."""

    principal: Principal
    client_addr: str | None = None
    request_id: str | None = None

    @property
    def team_id(self) -> uuid.UUID:
        return self.principal.team_id
