"""What a credential stands for (a login session with its user and organization, an API client), cached per
process under the database's auth generation.

Looking a credential up was the largest part of a cached read. Database triggers raise the generation on every
change that can end or narrow a credential (``gateway.auth.models.AuthGeneration``), whichever process or code
path makes it; every request reads the generation (one row by primary key, in the request's own read snapshot)
and uses a cached record only if it was read under that same generation. A logout, revocation or deactivation
committed anywhere is therefore refused by every process on its next request; time-dependent checks (expiry, the
client's address list, step-up age) still run on every request against the record.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from gateway.db.models import ApiClient, AuthSession, Organization, User

MAX_ENTRIES = 8192  # per process; the whole cache is dropped when full (it refills from one query per credential)
GENERATION = "SELECT value FROM auth_generation WHERE id = 1"


@dataclass(frozen=True)
class SessionRecord:
    """A login session as authentication needs it."""

    revoked: bool
    mfa_at: datetime
    organization_id: uuid.UUID
    role: str
    is_active: bool
    is_operator: bool


@dataclass(frozen=True)
class ClientRecord:
    """An API key or OAuth2 client as authentication needs it."""

    id: uuid.UUID
    organization_id: uuid.UUID
    kind: str
    scopes: tuple[str, ...]
    ip_allowlist: tuple[str, ...]
    expires_at: datetime
    revoked: bool


# Built once: session, user and organization in one query, as plain columns (no ORM objects).
_SESSION = (
    select(
        AuthSession.revoked_at,
        AuthSession.mfa_at,
        User.organization_id,
        User.role,
        User.is_active,
        Organization.is_operator,
    )
    .join(User, User.id == AuthSession.user_id)
    .join(Organization, Organization.id == User.organization_id)
    .where(AuthSession.id == bindparam("sid"), AuthSession.user_id == bindparam("uid"))
)
_CLIENT_COLUMNS = (
    ApiClient.id,
    ApiClient.organization_id,
    ApiClient.kind,
    ApiClient.scopes,
    ApiClient.ip_allowlist,
    ApiClient.expires_at,
    ApiClient.revoked_at,
)
_CLIENT_BY_SECRET = select(*_CLIENT_COLUMNS).where(ApiClient.secret_hash == bindparam("secret_hash"))
_CLIENT_BY_ID = select(*_CLIENT_COLUMNS).where(ApiClient.id == bindparam("cid"))

_Key = tuple[str, object]
_cache: dict[_Key, tuple[int, SessionRecord | ClientRecord]] = {}
_lock = threading.Lock()


def generation(session: Session) -> int:
    """The auth generation in the session's transaction (on the driver's cursor: a hit costs this one read)."""
    cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(GENERATION)
        row = cursor.fetchone()
    finally:
        cursor.close()
    return int(row[0]) if row else 0


def _cached(key: _Key, current: int) -> tuple[bool, SessionRecord | ClientRecord | None]:
    entry = _cache.get(key)
    if entry is not None and entry[0] == current:
        return True, entry[1]
    return False, None


def _store(key: _Key, current: int, record: SessionRecord | ClientRecord) -> None:
    with _lock:
        if len(_cache) >= MAX_ENTRIES:
            _cache.clear()
        _cache[key] = (current, record)


def session_record(session: Session, session_id: uuid.UUID, user_id: uuid.UUID) -> SessionRecord | None:
    """The login session ``session_id`` of ``user_id`` (None when there is none)."""
    key: _Key = ("session", (session_id, user_id))
    current = generation(session)
    hit, record = _cached(key, current)
    if hit:
        assert record is None or isinstance(record, SessionRecord)
        return record
    row = session.connection().execute(_SESSION, {"sid": session_id, "uid": user_id}).one_or_none()
    if row is None:
        return None  # not cached: unknown ids would only fill the cache
    found = SessionRecord(
        revoked=row.revoked_at is not None,
        mfa_at=row.mfa_at,
        organization_id=row.organization_id,
        role=row.role,
        is_active=bool(row.is_active),
        is_operator=bool(row.is_operator),
    )
    _store(key, current, found)
    return found


def client_by_secret(session: Session, secret_hash: str) -> ClientRecord | None:
    """The API client whose secret hashes to ``secret_hash``."""
    return _client(session, ("secret", secret_hash), _CLIENT_BY_SECRET, {"secret_hash": secret_hash})


def client_by_id(session: Session, client_id: uuid.UUID) -> ClientRecord | None:
    return _client(session, ("client", client_id), _CLIENT_BY_ID, {"cid": client_id})


def _client(session: Session, key: _Key, query: object, params: dict[str, object]) -> ClientRecord | None:
    current = generation(session)
    hit, record = _cached(key, current)
    if hit:
        assert record is None or isinstance(record, ClientRecord)
        return record
    row = session.connection().execute(query, params).one_or_none()  # type: ignore[call-overload]
    if row is None:
        return None
    found = ClientRecord(
        id=row.id,
        organization_id=row.organization_id,
        kind=row.kind,
        scopes=tuple(row.scopes or ()),
        ip_allowlist=tuple(row.ip_allowlist or ()),
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
    )
    _store(key, current, found)
    return found


def clear() -> None:
    """Forget every cached record (tests)."""
    with _lock:
        _cache.clear()
