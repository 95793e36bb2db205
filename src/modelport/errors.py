"""The error tree. Services raise these; each API family renders them in one handler.

    ModelportError
    ├── InvalidInput          the request is malformed or breaks a rule (400)
    ├── Unauthenticated       no credential, or one that does not verify (401)
    │   └── KeyExpired        a model access key past its expiry (401)
    ├── Forbidden             a valid credential without the right to do this (403)
    │   └── AddressNotAllowed a model access key used from outside its allowed_ips (403)
    ├── NotFound              no such thing for this caller, including other teams' (404)
    ├── RateLimited           over a request, token or spend limit (429)
    ├── OutOfCredit           a key's prepaid credit is spent (402)
    ├── StorageUnavailable    the database cannot be reached (503)
    ├── ShuttingDown          the server is draining before it stops (503)
    ├── ModelUnavailable      the model exists but cannot be served now (503)
    └── UpstreamError         the upstream provider failed (502)
        ├── UpstreamTimeout   the upstream provider did not answer in time (504)
        └── UpstreamBusy      too many requests to that upstream at once (503)

Nothing here knows about HTTP: the mapping to status codes lives at each boundary.
"""

from __future__ import annotations


class ModelportError(Exception):
    """Base of every error modelport raises on purpose. `message` is safe to show a caller;
    `retry_after`, when set, is whole seconds until a retry can succeed."""

    retry_after: int | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ModelportError):
    """The request is malformed or breaks a rule.

    `field` names the offending input and `code` a machine-readable reason, when known.
    """

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


class Unauthenticated(ModelportError):
    """No credential was presented, or it does not verify."""


class KeyExpired(Unauthenticated):
    """A model access key that has passed its `expires_at`."""


class Forbidden(ModelportError):
    """The caller is known but may not do this."""


class AddressNotAllowed(Forbidden):
    """A model access key used from an address outside its `allowed_ips`."""


class NotFound(ModelportError):
    """No such resource for this caller (other teams' resources are reported the same way).

    `code` names what was not found, for APIs that say so (`model_not_found`), when known.
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class RateLimited(ModelportError):
    """Over a limit; it always says when to retry."""

    retry_after: int

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class OutOfCredit(ModelportError):
    """A key with prepaid credit has spent it; a top-up lets it continue."""


class StorageUnavailable(ModelportError):
    """The database cannot be reached; the request changed nothing."""


class ShuttingDown(ModelportError):
    """The server is draining before it stops; another replica can serve the request."""


class ModelUnavailable(ModelportError):
    """The model is in the catalog but cannot be served (for example, no credential)."""


class UpstreamError(ModelportError):
    """The upstream provider failed or answered with an error."""


class UpstreamTimeout(UpstreamError):
    """The upstream provider did not connect or answer within the configured timeout."""


class UpstreamBusy(UpstreamError):
    """Every connection allowed to the upstream was in use for as long as connecting may take;
    the request was not sent, so another replica or deployment can serve it."""
