"""GitHub's secret scanning signatures: which public keys a report may be signed with, and
whether a report's signature is good.

GitHub signs the raw request body with ECDSA P-256 over SHA-256 and sends the DER signature
base64-encoded in `Github-Public-Key-Signature`, naming the key in
`Github-Public-Key-Identifier`. Its keys are published as
`{"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

PublicKeys = Mapping[str, ec.EllipticCurvePublicKey]
"""Key identifier -> P-256 public key."""


def parse_public_keys(document: bytes | str) -> dict[str, ec.EllipticCurvePublicKey]:
    """The P-256 keys of a GitHub public-keys document; ValueError if it is not one.

    Keys that are not P-256 are left out: a report signed with one is refused all the same.
    """
    try:
        entries = json.loads(document)["public_keys"]
    except (ValueError, KeyError, TypeError):
        raise ValueError('not a {"public_keys": [...]} document') from None
    if not isinstance(entries, list):
        raise ValueError("public_keys must be a list")
    keys: dict[str, ec.EllipticCurvePublicKey] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise ValueError("each public key must be an object")
        identifier, pem = entry.get("key_identifier"), entry.get("key")
        if not isinstance(identifier, str) or not isinstance(pem, str):
            raise ValueError("each public key needs key_identifier and key")
        try:
            key = load_pem_public_key(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ValueError(f"key {identifier!r} is not a PEM public key") from None
        if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
            keys[identifier] = key
    return keys


def is_signed(key: ec.EllipticCurvePublicKey, signature: str, body: bytes) -> bool:
    """Whether `signature` (base64 DER ECDSA, SHA-256) signs `body` under `key`."""
    try:
        der = base64.b64decode(signature, validate=True)
        key.verify(der, body, ec.ECDSA(hashes.SHA256()))
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True
