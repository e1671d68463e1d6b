"""Idempotency keys on POST (header ``Idempotency-Key``): a retried request gets the first answer again.

The body's digest is taken by the size-limit middleware (which buffers the body); the lookup happens once the
caller is authenticated (keys are per caller); the answer is stored by the HTTP middleware with the audit entry.
"""

from __future__ import annotations

import hashlib
import re
import threading

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import Request

from gateway.db.models import IdempotencyRecord
from gateway.exceptions import Conflict, IdempotencyKeyReused, IdempotentReplay, InvalidRequest

HEADER = "idempotency-key"
KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Answers that carry secrets shown once (tokens, API keys): never stored; a replay is refused instead.
SECRET_BEARING = ("/v1/auth/", "/v1/oauth/", "/v1/clients", "/v1/webhooks")
# Keys whose first request is still running (per process): a duplicate meanwhile gets 409, never a second run.
_in_flight: set[tuple[str, str]] = set()
_in_flight_lock = threading.Lock()


class IdempotencyInFlight(Conflict):
    title = "A request with this Idempotency-Key is still in progress"
    type_slug = "idempotency-in-flight"


def request_key(request: Request, *, strict: bool = True) -> str | None:
    """The POST's idempotency key; a malformed one raises (``strict``) or counts as absent."""
    if request.method != "POST":
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
        return
    release(request)
    if record.fingerprint != fingerprint(request):
        raise IdempotencyKeyReused(f"key {key!r} was used for a different request")
    if record.body is None:
        raise IdempotencyKeyReused(f"key {key!r} was already processed; its answer is shown only once")
    raise IdempotentReplay(record.status_code, record.media_type, record.body)


def remember(session: Session, request: Request, actor: str, status: int, media_type: str, body: bytes) -> None:
    key = request_key(request, strict=False)
    if key is None or status >= 500 or status == 429 or getattr(request.state, "idempotency_in_flight", False):
        return
    secret = request.url.path.startswith(SECRET_BEARING) or request.url.path.endswith("/invitations")  # tokens
    stored = None if secret else body
    try:
        with session.begin_nested():
            session.add(
                IdempotencyRecord(
                    actor=actor,
                    key=key,
                    fingerprint=fingerprint(request),
                    status_code=status,
                    media_type=media_type,
                    body=stored,
                )
            )
    except IntegrityError:  # a concurrent duplicate was stored first
        pass


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
