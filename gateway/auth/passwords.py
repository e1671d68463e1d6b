"""argon2id password hashing with rehash when the configured parameters rise."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.config import Settings


def hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
        type=Type.ID,
    )


def hash_password(settings: Settings, password: str) -> str:
    return hasher(settings).hash(password)


def verify_password(settings: Settings, stored: str, password: str) -> tuple[bool, str | None]:
    """Return (ok, new_hash): ``new_hash`` is set when the stored hash used weaker parameters."""
    ph = hasher(settings)
    try:
        ph.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False, None
    if ph.check_needs_rehash(stored):
        return True, ph.hash(password)
    return True, None


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def burn_time(settings: Settings, password: str) -> None:
    """Spend a verification's worth of time for an unknown user, so timing does not reveal who exists."""
    key = (settings.argon2_time_cost, settings.argon2_memory_cost_kib, settings.argon2_parallelism)
    if key not in _DUMMY_HASHES:
        _DUMMY_HASHES[key] = hash_password(settings, "reponet-dummy-password")
    verify_password(settings, _DUMMY_HASHES[key], password)
