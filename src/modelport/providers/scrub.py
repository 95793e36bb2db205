"""Upstream text on its way to a client loses the credential and anything shaped like a secret.

An upstream may echo what it was sent (its own API key in an error message, a key pasted
into a prompt and repeated back). Whatever the hub passes on from an upstream goes through
`Scrubber.scrub`: the upstream's credential, as written and as JSON escapes it, anything
shaped like a provider's key or a bearer token, and our own secrets (prefixed or bare, as
`core.redaction` finds them in logs) become `[redacted]`. Applied to JSON text, the
replacement keeps it valid JSON: the patterns match no quote or backslash.
"""

from __future__ import annotations

import re

import orjson

from modelport.core import redaction

REDACTED = redaction.REDACTED.encode()
SECRET_SHAPED = re.compile(
    rb"\bsk-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic (sk-ant-...), DeepSeek, ...
    rb"|\bdop_v1_[0-9a-f]{32,}"  # DigitalOcean
    rb"|\bAKIA[0-9A-Z]{16}\b"  # AWS access key ids
    rb"|\bAIza[0-9A-Za-z_-]{30,}"  # Google API keys
    rb"|\bgh[pousr]_[0-9A-Za-z]{30,}"  # GitHub tokens
    rb"|\bxox[abprs]-[0-9A-Za-z-]{10,}"  # Slack tokens
    rb"|(?i:\bbearer\s+)[0-9A-Za-z._~+/-]{16,}=*"  # a bearer credential in prose
)
TELLTALES = re.compile(rb"sk-|dop_v1_|AKIA|AIza|gh[pousr]_|xox|earer|EARER")
"""Literal parts of every pattern: text holding none of them skips `SECRET_SHAPED`, which
costs several times as much (docs/benchmarks.md, Design decisions)."""


class Scrubber:
    """Redacts one upstream's credentials (its key, secret header values) and every
    secret-shaped token."""

    def __init__(self, *credentials: str | None) -> None:
        forms: list[bytes] = []
        for credential in credentials:
            if credential:
                written = credential.encode()
                escaped = orjson.dumps(credential)[1:-1]
                forms += [written] if escaped == written else [written, escaped]
        self._credentials = tuple(forms)

    def scrub(self, text: bytes) -> bytes:
        """`text` with the credential and secret-shaped tokens replaced by `[redacted]`."""
        for form in self._credentials:
            if form in text:
                text = text.replace(form, REDACTED)
        text = redaction.redact_bytes(text)
        if TELLTALES.search(text) is None:
            return text
        return SECRET_SHAPED.sub(REDACTED, text)

    def scrub_text(self, text: str) -> str:
        """`scrub` for a str (an upstream's error message)."""
        return self.scrub(text.encode()).decode("utf-8", "replace")
