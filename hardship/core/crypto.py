"""Personal-data protection (SPEC 3.8): AEAD encryption at rest and an HMAC blind index.

Keys come from configuration, never from the database:

* ``PII_KEYS`` = ``k2:<base64 32 bytes>,k1:<...>``: AES-256-GCM keys; the first encrypts, all
  decrypt. A ciphertext is ``<key id>:<base64(nonce | ciphertext+tag)>``, and the column name
  is bound in as associated data, so a value cannot be moved to another column.
* ``PII_INDEX_KEY``: the HMAC-SHA256 key of the blind index over normalised ID numbers (exact
  search and the one-person-one-archive rule). Independent of ``PII_KEYS``, so rotating those
  leaves every index valid; it must never change once data exists.

Rotation: put a new key first in ``PII_KEYS`` and keep the old ones after it: new values are
written with the new key and old values stay readable. Then ``flask --app wsgi hardship rotate-pii`` re-encrypts every
value with the new key (batched, restartable); after it reports nothing left, the old key can be
dropped. The blind index does not change on rotation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app


class PiiKeyError(RuntimeError):
    pass


@lru_cache(maxsize=8)
def _parse_keys(spec: str) -> tuple[str, dict[str, bytes]]:
    keys: dict[str, bytes] = {}
    order: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        key_id, _, b64 = part.partition(":")
        raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
        if len(raw) != 32 or not key_id.isalnum():
            raise PiiKeyError("PII_KEYS entries must be <id>:<base64 of 32 bytes>")
        keys[key_id] = raw
        order.append(key_id)
    if not order:
        raise PiiKeyError("PII_KEYS is empty")
    return order[0], keys


def _keys():
    return _parse_keys(current_app.config["PII_KEYS"])


@lru_cache(maxsize=16)
def _aead(key: bytes) -> AESGCM:
    return AESGCM(key)


def encrypt(plaintext: str | None, column: str) -> str | None:
    if plaintext is None or plaintext == "":
        return None
    key_id, keys = _keys()
    nonce = os.urandom(12)
    ct = _aead(keys[key_id]).encrypt(nonce, plaintext.encode(), column.encode())
    return f"{key_id}:{base64.b64encode(nonce + ct).decode()}"


def decrypt(token: str | None, column: str) -> str | None:
    if not token:
        return None
    key_id, _, b64 = token.partition(":")
    _current, keys = _keys()
    if key_id not in keys:
        raise PiiKeyError(f"no key {key_id!r} in PII_KEYS to decrypt {column}")
    blob = base64.b64decode(b64)
    return _aead(keys[key_id]).decrypt(blob[:12], blob[12:], column.encode()).decode()


def encrypt_bytes(data: bytes, column: str) -> bytes:
    """Like :func:`encrypt` for binary content (an uploaded file): ``<key id>:`` + nonce + ciphertext."""
    key_id, keys = _keys()
    nonce = os.urandom(12)
    return key_id.encode() + b":" + nonce + _aead(keys[key_id]).encrypt(nonce, bytes(data), column.encode())


def decrypt_bytes(blob: bytes, column: str) -> bytes:
    key_id, _, rest = bytes(blob).partition(b":")
    _current, keys = _keys()
    if key_id.decode() not in keys:
        raise PiiKeyError(f"no key {key_id.decode()!r} in PII_KEYS to decrypt {column}")
    return _aead(keys[key_id.decode()]).decrypt(rest[:12], rest[12:], column.encode())


def current_key_id() -> str:
    return _keys()[0]


def needs_rotation(token: str | None) -> bool:
    return bool(token) and token.partition(":")[0] != _keys()[0]


def _index_key() -> bytes:
    return _derive_index_key(current_app.config["PII_INDEX_KEY"])


@lru_cache(maxsize=8)
def _derive_index_key(secret: str) -> bytes:
    return hashlib.sha256(b"hardship-blind-index:" + secret.encode()).digest()


def blind_index(normalised: str) -> str:
    """HMAC-SHA256 of a normalised identifier, hex; equal inputs give equal indexes."""
    return hmac.new(_index_key(), normalised.encode(), hashlib.sha256).hexdigest()
