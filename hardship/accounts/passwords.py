"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app

_hashers: dict[str, PasswordHasher] = {
    "default": PasswordHasher(),
    # the test suite's profile: same algorithm, cheap parameters
    "fast": PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
}

#: verified against for unknown users so that both paths cost the same
_DUMMY = _hashers["default"].hash("unknown-user-dummy-password")


def _hasher() -> PasswordHasher:
    return _hashers.get(current_app.config.get("ARGON2_PROFILE", "default"), _hashers["default"])


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher().verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
