"""The services routes and the panel call, each built in the caller's unit of work.

`Services` is built once, in `create_app`, from the running components; /v2 routes get it
through `ServicesDep`, the panel through its `Panel`. It is the one place a service is built
for a request, so both surfaces always build them alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from modelport.audit.service import AuditService
from modelport.auth.invitations import InvitationService
from modelport.auth.passwords import Passwords
from modelport.auth.service import TokenService
from modelport.auth.sessions import SessionService
from modelport.auth.throttle import SignInThrottle
from modelport.auth.users import UserService
from modelport.components import Components
from modelport.db.uow import UnitOfWork
from modelport.keys.service import KeyService
from modelport.leaks.service import LeakService
from modelport.usage.service import UsageService


@dataclass(frozen=True, slots=True)
class Services:
    hub: Components
    passwords: Passwords

    @property
    def session_lifetime(self) -> timedelta:
        return timedelta(hours=self.hub.settings.session_hours)

    def keys(self, unit: UnitOfWork) -> KeyService:
        hub = self.hub
        return KeyService(
            unit, hub.digester, hub.ledger, hub.lease, hub.verifier, hub.catalog.ids()
        )

    def leaks(self, unit: UnitOfWork) -> LeakService:
        return LeakService(unit, self.keys(unit), self.hub.digester, self.hub.webhooks.send)

    def audit(self, unit: UnitOfWork) -> AuditService:
        return AuditService(unit)

    def usage(self, unit: UnitOfWork) -> UsageService:
        return UsageService(unit)

    def tokens(self, unit: UnitOfWork) -> TokenService:
        return TokenService(unit, self.hub.digester)

    def sessions(self, unit: UnitOfWork) -> SessionService:
        throttle = SignInThrottle(self.hub.rate_limiter, self.hub.digester)
        return SessionService(
            unit, self.hub.digester, self.passwords, throttle, self.session_lifetime
        )

    def people(self, unit: UnitOfWork) -> UserService:
        return UserService(unit, self.passwords)

    def invitations(self, unit: UnitOfWork) -> InvitationService:
        return InvitationService(unit, self.hub.digester, self.passwords)
