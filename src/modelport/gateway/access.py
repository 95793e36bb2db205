"""Who is calling /v1, and with what: the model access key and the body.

Every /v1 endpoint starts here, metered or not (the pipeline, the model list, stored
responses, token counts).
"""

from __future__ import annotations

from starlette.types import Receive, Scope

from modelport import metrics
from modelport.api.context import bearer_token, request_id_of
from modelport.audit.refusals import RefusalAudit
from modelport.core.addresses import Networks, parse_address, within
from modelport.errors import AddressNotAllowed, Unauthenticated
from modelport.gateway.requests import header, read_body
from modelport.keys.verifier import KeyIdentity, KeyVerifier
from modelport.usage.recorder import UsageRecorder

NO_KEY = "You didn't provide an API key. Send 'Authorization: Bearer <model access key>'."
NO_KEY_ANTHROPIC = (
    "You didn't provide an API key. Send 'x-api-key: <model access key>' "
    "or 'Authorization: Bearer <model access key>'."
)


class Access:
    def __init__(
        self,
        verifier: KeyVerifier,
        recorder: UsageRecorder,
        refusals: RefusalAudit,
        *,
        max_body: int,
    ) -> None:
        self._verifier = verifier
        self._recorder = recorder
        self._refusals = refusals
        self._max_body = max_body

    async def authorize(self, scope: Scope, *, x_api_key: bool = False) -> KeyIdentity:
        """The key's identity; Unauthenticated (or KeyExpired) if it does not verify, and
        AddressNotAllowed if the client's address is outside the key's `allowed_ips`."""
        token = bearer_token(scope)
        if token is None and x_api_key:
            token = header(scope, b"x-api-key")
        if token is None:
            metrics.KEY_REFUSALS.labels("missing").inc()
            raise Unauthenticated(NO_KEY_ANTHROPIC if x_api_key else NO_KEY)
        identity = await self._verifier.verify(token)
        allowed = identity.limits.allowed_ips
        if allowed is not None:
            self._check_address(scope, identity, allowed)
        self._recorder.touch(identity.key_id)
        return identity

    def _check_address(self, scope: Scope, identity: KeyIdentity, allowed: Networks) -> None:
        """AddressNotAllowed, counted and audited, unless the client is in `allowed`. The
        client is the peer, or who a trusted proxy names (`api/forwarded.py`)."""
        client = scope.get("client")
        host: str | None = client[0] if client else None
        if within(None if host is None else parse_address(host), allowed):
            return
        metrics.KEY_REFUSALS.labels("address_not_allowed").inc()
        self._refusals.refused(identity.team_id, identity.key_id, host, request_id_of(scope))
        raise AddressNotAllowed(
            f"This model access key may not be used from {host or 'an unknown address'}: "
            "it accepts requests only from the addresses in its allowed_ips."
        )

    async def body(self, receive: Receive) -> bytes:
        """The request's body, up to the size /v1 accepts (see `read_body`)."""
        return await read_body(receive, self._max_body)
