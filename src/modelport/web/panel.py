"""The panel's long-lived state, and the services it builds per unit of work."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from modelport.auth.invitations import InvitationService
from modelport.auth.passwords import Passwords
from modelport.auth.service import TokenService
from modelport.auth.sessions import SessionService
from modelport.auth.throttle import SignInThrottle
from modelport.auth.users import UserService
from modelport.components import Components
from modelport.db.uow import UnitOfWork
from modelport.keys.service import KeyService
from modelport.usage.service import UsageService
from modelport.web.pages import Pages


@dataclass(frozen=True, slots=True)
class Panel:
    hub: Components
    passwords: Passwords
    pages: Pages

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.hub.settings.session_hours)

    def sessions(self, unit: UnitOfWork) -> SessionService:
        throttle = SignInThrottle(self.hub.rate_limiter, self.hub.digester)
        return SessionService(
            unit, self.hub.digester, self.passwords, throttle, self.session_lifetime
        )

    def keys(self, unit: UnitOfWork) -> KeyService:
        return self.hub.keys(unit)

    def people(self, unit: UnitOfWork) -> UserService:
        return UserService(unit, self.passwords)

    def invitations(self, unit: UnitOfWork) -> InvitationService:
        return InvitationService(unit, self.hub.digester, self.passwords)

    def tokens(self, unit: UnitOfWork) -> TokenService:
        return TokenService(unit, self.hub.digester)

    def usage(self, unit: UnitOfWork) -> UsageService:
        return UsageService(unit)
