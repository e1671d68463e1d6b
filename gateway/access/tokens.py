"""Access tokens (JWT, HS256 only, audience and expiry checked) and opaque secrets stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.config import Settings
from gateway.exceptions import NotAuthenticated

ALGORITHMS = ["HS256"]  # the allowlist: "none" and any other algorithm are refused
VERIFIED_CACHE = 4096  # tokens whose signature and claims were checked, per process


@dataclass(frozen=True)
class AccessClaims:
    subject: str
    kind: str  # "user" or "client"
    organization_id: str
    session_id: str | None
    scopes: tuple[str, ...]
    expires_at: int = 0  # the token's "exp" (Unix seconds)


def issue_access_token(
    settings: Settings,
    *,
    subject: str,
    kind: str,
    organization_id: str,
    session_id: str | None = None,
    scopes: tuple[str, ...] = (),
    lifetime: int | None = None,
) -> tuple[str, int]:
    now = int(time.time())
    ttl = lifetime or settings.access_token_seconds
    payload: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "iat": now,
        "nbf": now,
        "exp": now + ttl,
        "jti": uuid.uuid4().hex,
        "knd": kind,
        "org": organization_id,
    }
    if session_id:
        payload["sid"] = session_id
    if scopes:
        payload["scope"] = " ".join(scopes)
    return jwt.encode(payload, settings.jwt_secret, algorithm=ALGORITHMS[0]), ttl


_verified: dict[tuple[str, str, str, str], AccessClaims] = {}
_verified_lock = threading.Lock()


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """The token's claims once its signature, audience, issuer and expiry are checked. A token checked before is
    not verified again until it expires (an HMAC and the claims' parsing are a large part of a cached read): the
    cache is keyed by the token and the secret, audience and issuer it was checked against, and a hit still needs
    ``exp`` in the future. Revocation is not decided here: the caller looks the login session up on every request.
    """
    key = (token, settings.jwt_secret, settings.jwt_audience, settings.jwt_issuer)
    claims = _verified.get(key)
    if claims is not None and time.time() < claims.expires_at:
        return claims
    claims = _decode(settings, token)
    with _verified_lock:
        if len(_verified) >= VERIFIED_CACHE:
            now = time.time()
            for stale in [k for k, c in _verified.items() if c.expires_at <= now] or list(_verified)[
                : VERIFIED_CACHE // 2
            ]:
                _verified.pop(stale, None)
        _verified[key] = claims
    return claims


def _decode(settings: Settings, token: str) -> AccessClaims:
    try:
        payload = jwt.decode(
            token,
            settings.jwt_secret,
            algorithms=ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "sub", "aud", "iss"]},
        )
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid access token: {exc}") from None
    kind = payload.get("knd")
    if kind not in ("user", "client") or not isinstance(payload.get("org"), str):
        raise NotAuthenticated("invalid access token claims")
    scope = payload.get("scope", "")
    return AccessClaims(
        subject=str(payload["sub"]),
        kind=kind,
        organization_id=payload["org"],
        session_id=payload.get("sid"),
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        expires_at=int(payload["exp"]),
    )


def new_opaque(prefix: str) -> tuple[str, str]:
    """A random bearer secret and the SHA-256 hex digest we store (the secret has 256 bits of entropy)."""
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return token, hash_opaque(token)


def hash_opaque(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
