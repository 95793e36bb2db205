"""Our secrets are cut out of log text with their prefix or without; everything else stays."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelport.core import secrets as secret_format
from modelport.core.redaction import REDACTED, redact

BASE62 = string.digits + string.ascii_letters
NOT_BASE62 = st.characters(blacklist_characters=BASE62)


def bare(prefix: str) -> str:
    """A new secret's body and checksum, without the prefix."""
    return secret_format.generate(prefix)[len(prefix) :]


@pytest.mark.parametrize("prefix", secret_format.PREFIXES)
def test_a_secret_is_cut_out_with_or_without_its_prefix(prefix: str) -> None:
    secret = secret_format.generate(prefix)
    body = secret[len(prefix) :]
    assert redact(f"/v2/keys/{secret}") == f"/v2/keys/{REDACTED}"
    assert redact(f"/v2/keys/{body}/usage") == f"/v2/keys/{REDACTED}/usage"
    assert redact(f'{{"model": "{body}", "detail": "key={body}."}}') == (
        f'{{"model": "{REDACTED}", "detail": "key={REDACTED}."}}'
    )
    assert redact(body) == REDACTED


def test_a_body_right_after_a_json_escape_is_cut_out() -> None:
    body = bare(secret_format.MODEL_KEY_PREFIX)
    for escape in ("\\n", "\\t", "\\r", "\\u001b", "\\u0000", "\\\\", '\\"'):
        assert redact(f'"line{escape}{body}"') == f'"line{escape}{REDACTED}"'
    new_bodies = iter(lambda: bare(secret_format.MODEL_KEY_PREFIX), None)
    looks_escaped = next(body for body in new_bodies if body.startswith("n"))
    assert redact(f'"a literal backslash\\\\{looks_escaped}"').endswith(f'\\{REDACTED}"')


def test_a_random_run_without_our_checksum_is_kept() -> None:
    body = bare(secret_format.MODEL_KEY_PREFIX)
    wrong = body[:-1] + ("a" if body[-1] != "a" else "b")
    assert redact(f"/v1/models/{wrong}") == f"/v1/models/{wrong}"
    made_up = "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8s9"
    assert len(made_up) == 38
    assert redact(made_up) == made_up


@pytest.mark.parametrize(
    "text",
    [
        "/v2/gen-ai/models/api_keys/0b7c1e8a-3f0e-4d9a-9a57-1f0c5b9e2d11/usage",
        "/v1/chat/completions",
        "a digest 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "usage write failed; will retry (OperationalError)",
        "",
        "生产密钥 🔑 \\n \\u001b",
    ],
)
def test_ordinary_text_is_kept(text: str) -> None:
    assert redact(text) == text


def test_a_prefixed_secret_cut_short_or_mistyped_is_still_cut_out() -> None:
    token = secret_format.generate(secret_format.API_TOKEN_PREFIX)
    assert redact(f"Bearer {token[:30]}") == f"Bearer {REDACTED}"
    assert redact(f"x{token[:-1]}Z y") == f"x{REDACTED} y"


@given(
    before=st.text(max_size=40),
    left=NOT_BASE62,
    right=NOT_BASE62,
    after=st.text(max_size=40),
    prefix=st.sampled_from(secret_format.PREFIXES),
)
def test_a_bounded_body_never_survives_whatever_surrounds_it(
    before: str, left: str, right: str, after: str, prefix: str
) -> None:
    body = bare(prefix)
    assert body not in redact(before + left + body + right + after)


@given(st.text(BASE62, min_size=38, max_size=38))
def test_random_38_character_runs_are_kept(run: str) -> None:
    assert redact(f"/v1/models/{run}") == f"/v1/models/{run}"


@given(st.text(max_size=200))
def test_text_without_a_long_base62_run_is_returned_as_it_is(text: str) -> None:
    longest = max((len(run) for run in _runs(text)), default=0)
    if longest < 20:
        assert redact(text) == text


def _runs(text: str) -> list[str]:
    return "".join(char if char in BASE62 else " " for char in text).split()
