"""Personal-data protection (SPEC 3.8): AEAD encryption at rest and an HMAC blind index.

Keys come from configuration, never from the database:

* ``PII_KEYS`` = ``k2:<base64 32 bytes>,k1:<...>``: AES-256-GCM keys; the first encrypts, all
  decrypt. A value is ``<key id>:r:<base64(nonce | ciphertext+tag)>``, bound as associated data
  to its table and column (a label such as ``households.card``) and to its row (the row's
  ``row_key``, random, set at insert, unique): a value copied onto another row or into another
  column fails to decrypt (:class:`PiiBindingError`), it never shows the other person's data.
  Values written before the row binding (``<key id>:<base64>``, bound to the column only) stay
  readable until ``rotate-pii`` rewrites them bound (it rewrites every value not written with
  the current key or not bound).
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
import secrets
from functools import lru_cache

from cryptography.exceptions import InvalidTag
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


class PiiBindingError(PiiKeyError):
    """An encrypted value that does not belong where it was read (another row's or another column's)."""


#: marks a value bound to its row (``<key id>:r:<base64>``; base64 has no ``:``)
_BOUND = "r:"


def new_row_key() -> str:
    """A row's key for the binding: 32 random hex digits."""
    return secrets.token_hex(16)


def _bound_to(column: str, row_key: str) -> bytes:
    if not row_key:
        raise PiiKeyError(f"no row key to bind {column} to")
    return f"{column}\x00{row_key}".encode()


def encrypt(plaintext: str | None, column: str, row_key: str) -> str | None:
    """``plaintext`` encrypted with the current key, bound to ``column`` (``table.column``) and ``row_key``."""
    if plaintext is None or plaintext == "":
        return None
    key_id, keys = _keys()
    nonce = os.urandom(12)
    ct = _aead(keys[key_id]).encrypt(nonce, plaintext.encode(), _bound_to(column, row_key))
    return f"{key_id}:{_BOUND}{base64.b64encode(nonce + ct).decode()}"


def decrypt(token: str | None, column: str, row_key: str) -> str | None:
    """The plaintext of a value read from ``column`` of the row whose key is ``row_key``; raises
    :class:`PiiBindingError` when the value was written for another row or column."""
    if not token:
        return None
    key_id, _, rest = token.partition(":")
    _current, keys = _keys()
    if key_id not in keys:
        raise PiiKeyError(f"no key {key_id!r} in PII_KEYS to decrypt {column}")
    bound = rest.startswith(_BOUND)
    blob = base64.b64decode(rest[len(_BOUND):] if bound else rest)
    try:
        plain = _aead(keys[key_id]).decrypt(blob[:12], blob[12:], _bound_to(column, row_key) if bound
                                            else column.encode())
    except InvalidTag:
        raise PiiBindingError(f"the encrypted {column} of row {row_key} was not written for this row and "
                              "column (copied from elsewhere?) or is damaged; it is not shown") from None
    return plain.decode()


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


def current_prefix() -> str:
    """How every value written now begins: the current key's id and the row-binding mark."""
    return f"{_keys()[0]}:{_BOUND}"


def needs_rotation(token: str | None) -> bool:
    """Whether ``token`` was written with an older key or before the row binding."""
    return bool(token) and not token.startswith(current_prefix())


def _index_key() -> bytes:
    return _derive_index_key(current_app.config["PII_INDEX_KEY"])


@lru_cache(maxsize=8)
def _derive_index_key(secret: str) -> bytes:
    return hashlib.sha256(b"hardship-blind-index:" + secret.encode()).digest()


def blind_index(normalised: str) -> str:
    """HMAC-SHA256 of a normalised identifier, hex; equal inputs give equal indexes."""
    return hmac.new(_index_key(), normalised.encode(), hashlib.sha256).hexdigest()
