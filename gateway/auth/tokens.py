"""Access tokens (JWT, HS256 only, audience and expiry checked) and opaque secrets stored as hashes."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from gateway.config import Settings
from gateway.exceptions import NotAuthenticated

ALGORITHMS = ["HS256"]  # the allowlist: "none" and any other algorithm are refused


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


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
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
