"""Idempotency keys on state-changing requests (header ``Idempotency-Key``): a retry gets the first answer again.

Exactly once: the route's work, its answer and its audit entry are committed in one database transaction
(``settle``): the route's write session is held (``gateway.db.held``) from the moment a keyed request is
authenticated, so a crash at any point leaves either nothing (the retry does the work) or the work with its
answer (the retry gets that answer). The body's digest is taken by the size-limit middleware (which buffers the
body); the lookup happens once the caller is authenticated (keys are per caller). While the first request runs,
a duplicate gets 409 with Retry-After; a duplicate in another process that got past that check loses on the
record's unique key and sends the first answer instead of its own (its work is rolled back).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request

from gateway.db.held import HoldableSession
from gateway.db.models import IdempotencyRecord
from gateway.exceptions import Conflict, IdempotencyKeyReused, IdempotentReplay, InvalidRequest

logger = logging.getLogger(__name__)
HEADER = "idempotency-key"
KEYED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TTL_HOURS = 24  # records older than this are purged (gateway.kyc.upkeep.purge_stale); then a key may be reused
RETRY_AFTER_SECONDS = 1
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Answers that carry secrets shown once (tokens, API keys): never stored; a replay is refused instead.
SECRET_BEARING = ("/v1/auth/", "/v1/oauth/", "/v1/clients", "/v1/webhooks")
# Keys whose first request is still running (per process): a duplicate meanwhile gets 409, never a second run.
_in_flight: set[tuple[str, str]] = set()
_in_flight_lock = threading.Lock()


class IdempotencyInFlight(Conflict):
    title = "A request with this Idempotency-Key is still in progress"
    type_slug = "idempotency-in-flight"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(RETRY_AFTER_SECONDS)}


def request_key(request: Request, *, strict: bool = True) -> str | None:
    """The request's idempotency key; a malformed one raises (``strict``) or counts as absent."""
    if request.method not in KEYED_METHODS:
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_PATTERN.fullmatch(key):
        if strict:
            raise InvalidRequest("Idempotency-Key: 1 to 64 characters of A-Z a-z 0-9 _ . : -")
        return None
    return key


def fingerprint(request: Request) -> str:
    """Method, path and body digest: the same key must name the same request."""
    digest = str(request.scope.get("state", {}).get("body_sha256", ""))
    return hashlib.sha256(f"{request.method}\n{request.url.path}\n{digest}".encode()).hexdigest()


def replay_if_seen(session: Session, request: Request, actor: str) -> None:
    """Raise IdempotentReplay with the stored answer, or IdempotencyKeyReused if the key named another request."""
    key = request_key(request)
    if key is None:
        return
    # Claim first, then look in a fresh snapshot: a first request stores its answer before it releases the
    # claim, so a duplicate either finds the claim taken (409) or sees the stored answer.
    _claim(request, actor, key)
    session.rollback()
    record = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.actor == actor, IdempotencyRecord.key == key)
    ).scalar_one_or_none()
    if record is None:
        _hold(request)
        return
    release(request)
    if record.fingerprint != fingerprint(request):
        raise IdempotencyKeyReused(f"key {key!r} was used for a different request")
    if record.body is None:
        raise IdempotencyKeyReused(f"key {key!r} was already processed; its answer is shown only once")
    raise IdempotentReplay(record.status_code, record.media_type, record.body)


def _hold(request: Request) -> None:
    """From here on this request's write sessions commit only with its answer (see ``settle``)."""
    request.state.idempotency_hold = True
    for session in getattr(request.state, "write_sessions", []):
        hold_if_keyed(request, session)


def hold_if_keyed(request: Request, session: Session) -> None:
    """Hold ``session`` (a write session) when the request is a keyed one being processed for the first time."""
    if getattr(request.state, "idempotency_hold", False) and isinstance(session, HoldableSession):
        session.hold()


def storable(request: Request, status: int) -> bool:
    """Answers a retry gets again: not 5xx or 429 (nothing was done; the key stays free), nor the 409 of a
    duplicate in flight (the first request's answer is the one to keep)."""
    if not getattr(request.state, "idempotency_hold", False):  # no key, or the key's answer was found stored
        return False
    return status < 500 and status != 429 and not getattr(request.state, "idempotency_in_flight", False)


def settle(
    held: HoldableSession,
    request: Request,
    *,
    actor: str,
    status: int,
    answer: tuple[str, bytes] | None,
    audit: Callable[[Session], None],
) -> IdempotentReplay | None:
    """Commit the held work with its answer and audit entry, in one transaction; or, for an answer that is not
    kept (5xx, 429), undo the work and record only the audit entry. Returns the stored first answer when a
    concurrent duplicate committed first (this request's work is then undone)."""
    keep = answer is not None and storable(request, status)
    try:
        if keep:
            held.discard_uncommitted()
        held.release_hold()
        if not keep:
            held.rollback()
        else:
            assert answer is not None
            key = request_key(request, strict=False)
            assert key is not None
            secret = request.url.path.startswith(SECRET_BEARING) or request.url.path.endswith("/invitations")  # tokens
            stored = None if secret else answer[1]
            held.add(
                IdempotencyRecord(
                    actor=actor,
                    key=key,
                    fingerprint=fingerprint(request),
                    status_code=status,
                    media_type=answer[0],
                    body=stored,
                )
            )
            try:
                held.flush()
            except IntegrityError:  # another process stored this key's answer first: ours is undone
                held.rollback()
                logger.warning(
                    "duplicate %s %s under key %r: its work undone, the first answer sent",
                    request.method,
                    request.url.path,
                    key,
                )
                replay = _stored_answer(held, request, actor, key)
                audit(held)
                held.commit()
                return replay
        audit(held)
        held.commit()
        return None
    finally:
        held.close()


def _stored_answer(session: Session, request: Request, actor: str, key: str) -> IdempotentReplay:
    record = session.execute(
        select(IdempotencyRecord).where(IdempotencyRecord.actor == actor, IdempotencyRecord.key == key)
    ).scalar_one()
    body = record.body if record.body is not None else b'{"detail": "already processed; shown only once"}'
    return IdempotentReplay(record.status_code, record.media_type, body)


def _claim(request: Request, actor: str, key: str) -> None:
    with _in_flight_lock:
        if (actor, key) in _in_flight:
            request.state.idempotency_in_flight = True  # its answer must not be remembered under the key
            raise IdempotencyInFlight(f"key {key!r} is being processed; retry later")
        _in_flight.add((actor, key))
    request.state.idempotency_claim = (actor, key)


def release(request: Request) -> None:
    """Called once the answer is stored (or the request failed): the key is free for replays."""
    claim = getattr(request.state, "idempotency_claim", None)
    if claim is not None:
        request.state.idempotency_claim = None  # once only: a later request may hold the same key by then
        with _in_flight_lock:
            _in_flight.discard(claim)
