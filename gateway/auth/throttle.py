"""Backoff after failed sign-ins, per account and per address, in place of locking an account.

A lock after N wrong codes let anyone who knew an email lock its owner out for as long as they kept trying, and its
distinct answer (423) told which emails exist. Instead each key has a count of recent failures: after the free
ones, every further failure doubles the wait before the next attempt is even checked (429 with ``Retry-After``).
The account's wait is capped low (a minute by default), so others can slow its owner down but not shut them out,
and password plus TOTP leave a guesser nothing to gain at one try a minute; an address's wait grows longer (it is
the guesser's, whatever account it tries). Accounts are keyed by a digest of the email as typed, known or not, so
unknown emails and wrong passwords get the same answers in the same order. Failures are forgotten after a quiet
while; a success clears its account's count, never its address's.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from gateway.auth.models import LoginThrottle
from gateway.config import Settings
from gateway.exceptions import RateLimited

logger = logging.getLogger(__name__)
security_log = logging.getLogger("gateway.security")
TOO_MANY = "too many failed attempts: wait before trying again"
PURGE_ONE_IN = 100


@dataclass(frozen=True)
class Policy:
    free: int  # failures that cost nothing
    base_seconds: float  # the wait after the first failure beyond them; it doubles with each further one
    max_seconds: float

    def wait(self, failures: int) -> float:
        if failures <= self.free:
            return 0.0
        doubled: float = self.base_seconds * 2.0 ** min(failures - self.free - 1, 32)
        return min(doubled, self.max_seconds)


@dataclass(frozen=True)
class Throttle:
    key: str
    policy: Policy


def _now() -> datetime:
    return datetime.now(UTC)


def account(settings: Settings, email: str) -> Throttle:
    digest = hashlib.sha256(email.strip().lower().encode()).hexdigest()[:40]
    policy = Policy(
        settings.login_free_failures_per_account,
        settings.login_backoff_base_seconds,
        settings.login_backoff_max_account_seconds,
    )
    return Throttle(f"account:{digest}", policy)


def address(settings: Settings, ip: str) -> Throttle:
    policy = Policy(
        settings.login_free_failures_per_address,
        settings.login_backoff_base_seconds,
        settings.login_backoff_max_address_seconds,
    )
    return Throttle(f"address:{ip[:100]}", policy)


def step_up(settings: Settings, user_id: object) -> Throttle:
    """Codes proved by a signed-in person (step-up): throttled like the account's sign-in."""
    policy = Policy(
        settings.login_free_failures_per_account,
        settings.login_backoff_base_seconds,
        settings.login_backoff_max_account_seconds,
    )
    return Throttle(f"step-up:{user_id}", policy)


def check(session: Session, throttles: Sequence[Throttle]) -> None:
    """Refuse (429) while any of ``throttles`` is in its wait; the credentials are not even looked at."""
    now = _now()
    rows = session.scalars(select(LoginThrottle).where(LoginThrottle.key.in_([t.key for t in throttles])))
    waits = [(row.blocked_until - now).total_seconds() for row in rows if row.blocked_until and row.blocked_until > now]
    if waits:
        raise RateLimited(retry_after=math.ceil(max(waits)), detail=TOO_MANY)


def _claim(session: Session, key: str, now: datetime) -> LoginThrottle:
    """The key's row, created if absent and locked for this transaction (concurrent failures count each)."""
    dialect = session.get_bind().dialect.name
    values = {"key": key, "failures": 0, "last_failure_at": now, "blocked_until": None}
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(LoginThrottle).values(**values).on_conflict_do_nothing(index_elements=["key"]))
    locked = select(LoginThrottle).where(LoginThrottle.key == key).with_for_update()
    return session.scalars(locked.execution_options(populate_existing=True)).one()


def fail(session: Session, settings: Settings, throttles: Sequence[Throttle]) -> None:
    """Count a failure against each throttle and start its wait (in the caller's transaction)."""
    now = _now()
    forget_before = now - timedelta(seconds=settings.login_failure_memory_seconds)
    if secrets.randbelow(PURGE_ONE_IN) == 0:  # rows of keys quiet for a while go, whoever filled the table
        session.execute(delete(LoginThrottle).where(LoginThrottle.last_failure_at < forget_before))
    for throttle in throttles:
        row = _claim(session, throttle.key, now)
        if row.last_failure_at < forget_before:
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        wait = throttle.policy.wait(row.failures)
        row.blocked_until = now + timedelta(seconds=wait) if wait else None
        if wait:
            security_log.warning("%s: %d failures, next attempt in %.0f s", throttle.key, row.failures, wait)


def clear(session: Session, throttles: Sequence[Throttle]) -> None:
    session.execute(delete(LoginThrottle).where(LoginThrottle.key.in_([t.key for t in throttles])))
