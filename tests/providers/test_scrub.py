"""What the hub passes on from an upstream loses its credential and anything shaped like a
secret, and stays valid JSON; ordinary text is left as it is."""

from __future__ import annotations

import orjson

from modelport.core.secrets import MODEL_KEY_PREFIX, generate
from modelport.providers.scrub import Scrubber

CREDENTIAL = 'upstream-key-with-"quotes"-0123456789'


def test_the_credential_is_cut_as_written_and_as_json_escapes_it() -> None:
    scrubber = Scrubber(CREDENTIAL)
    answer = orjson.dumps({"error": {"message": f"bad key {CREDENTIAL}"}})
    assert CREDENTIAL.encode() not in scrubber.scrub(answer)
    assert orjson.loads(scrubber.scrub(answer)) == {"error": {"message": "bad key [redacted]"}}
    assert scrubber.scrub(f"plain {CREDENTIAL}".encode()) == b"plain [redacted]"


def test_provider_keys_bearer_tokens_and_ours_are_cut_prefixed_or_not() -> None:
    ours = generate(MODEL_KEY_PREFIX)
    text = (
        f"sk-ant-api03-{'x' * 30} dop_v1_{'a' * 64} Bearer abcdefghijklmnopqrstuvwxyz "
        f"{ours} /keys/{ours[len(MODEL_KEY_PREFIX) :]}"
    )
    scrubbed = Scrubber(None).scrub(text.encode()).decode()
    assert scrubbed.split() == ["[redacted]"] * 4 + ["/keys/[redacted]"]


def test_ordinary_text_is_left_as_it_is() -> None:
    chunk = orjson.dumps(
        {"id": "chatcmpl-1", "choices": [{"delta": {"content": "Ask a skeptic: sk- no."}}]}
    )
    assert Scrubber(CREDENTIAL).scrub(chunk) is chunk
