"""JSON-RPC authentication and method permissions, as Hyperledger Besu does it with JWT public-key authentication.

A client sends ``Authorization: Bearer <JWT>`` (on a WebSocket: on the upgrade request, or ``?token=``). The token
is signed with the operator's ES256 key; the node holds the public key (or the key pair, to mint its own operator
token, ``admin.token``). Claims: ``sub`` (who: rate limits and logs name it), ``exp`` (required), ``permissions``
(Besu's ``module:method`` entries: ``eth:*``, ``net:peerCount``, ``*:*``).

- With authentication on (the default for ``run`` and ``network``) a request without a valid token is refused
  with HTTP 401, and a method the token does not permit answers -40100.
- Operator modules (``admin``, ``txpool``, ``debug``, ``perm``, ``reponet``) need a token that names them (or
  ``*:*``). With authentication off (``dev``) every other method is open, and so are the ``txpool`` and
  ``debug`` reads that dev tooling expects (as on Anvil); ``admin``, ``perm`` and ``reponet`` never are.

Members get a token from their operator (``reponet-node token issue --subject bank-a --methods eth,net,web3``);
it lets them send their own transactions and read the chain, never administer it.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from node.exceptions import ConfigError, RpcError

ALGORITHM = "ES256"
OPERATOR_MODULES = frozenset({"admin", "txpool", "debug", "perm", "reponet"})
DEV_OPEN_OPERATOR_MODULES = frozenset({"txpool", "debug"})  # reads that dev tooling (Anvil-like) expects open
ALL = "*:*"
MEMBER_MODULES = ("eth", "net", "web3")
MAX_TOKEN_BYTES = 8192
LEEWAY_SECONDS = 5
VERIFIED_TOKENS_KEPT = 1024


class Unauthorized(RpcError):
    """No valid token, or a method the token does not permit (Besu's code)."""

    code = -40100


@dataclass(frozen=True)
class Grant:
    """What a verified token (or its absence) allows."""

    subject: str | None
    permissions: frozenset[str]
    expires_at: float | None

    def permits(self, method: str) -> bool:
        module, _, name = method.partition("_")
        return bool({ALL, f"{module}:*", f"{module}:{name}"} & self.permissions)

    def expired(self, now: float | None = None) -> bool:
        return self.expires_at is not None and (now or time.time()) > self.expires_at + LEEWAY_SECONDS


ANONYMOUS = Grant(subject=None, permissions=frozenset(), expires_at=None)


def module_of(method: str) -> str:
    return method.partition("_")[0]


@dataclass(frozen=True)
class RpcAuth:
    """The node's policy: ``required`` (auth on) and the key that verifies tokens.

    A verified token's grant is kept by the token's SHA-256 until the token expires: a client such as the gateway
    sends the same token with every request, and an ES256 verification costs about as much CPU as a cheap call.
    Only a token that verified is kept, so a changed byte is verified (and refused) afresh; a kept grant past its
    ``exp`` is dropped and the token verified again (and refused)."""

    required: bool
    public_key: ec.EllipticCurvePublicKey | None
    _verified: dict[bytes, Grant] = field(default_factory=dict, repr=False, compare=False)

    def verify(self, token: str) -> Grant:
        """The grant of a valid token; raise :class:`Unauthorized` for anything else."""
        if self.public_key is None:
            raise Unauthorized("Unauthorized: this node verifies no tokens")
        if len(token) > MAX_TOKEN_BYTES:
            raise Unauthorized("Unauthorized: token too large")
        digest = hashlib.sha256(token.encode()).digest()
        kept = self._verified.get(digest)
        if kept is not None:
            if not kept.expired():
                return kept
            del self._verified[digest]
        grant = self._decode(token, self.public_key)
        if len(self._verified) >= VERIFIED_TOKENS_KEPT:
            self._verified.pop(next(iter(self._verified)))  # the oldest: a flood of tokens cannot grow the table
        self._verified[digest] = grant
        return grant

    @staticmethod
    def _decode(token: str, public_key: ec.EllipticCurvePublicKey) -> Grant:
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=[ALGORITHM],
                options={"require": ["exp", "permissions"]},
                leeway=LEEWAY_SECONDS,
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"Unauthorized: {exc}") from exc
        permissions = claims.get("permissions")
        if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
            raise Unauthorized("Unauthorized: permissions must be a list of module:method strings")
        subject = claims.get("sub")
        return Grant(
            subject=str(subject) if subject is not None else "token",
            permissions=frozenset(permissions),
            expires_at=float(claims["exp"]),
        )

    def allows(self, grant: Grant, method: str) -> bool:
        """Whether ``grant`` may call ``method`` under this policy."""
        module = module_of(method)
        if grant.permits(method):
            return not grant.expired()
        if self.required:
            return False
        if module in OPERATOR_MODULES:
            return module in DEV_OPEN_OPERATOR_MODULES
        return True


# keys and tokens -------------------------------------------------------------------------------------------------
def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read the RPC token key {path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(f"{path}: the RPC token key must be an ES256 (P-256) private key")
    return key


def load_public_key(path: Path) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError, TypeError) as exc:
        raise ConfigError(f"cannot read the RPC token public key {path}: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigError(f"{path}: the RPC token public key must be an ES256 (P-256) key")
    return key


def ensure_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key at ``path``, created (owner-only) if it does not exist yet."""
    if path.exists():
        return load_private_key(path)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    tmp.replace(path)
    return key


def public_key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    """What the operator gives other nodes (``--rpc-jwt-public-key``): it verifies tokens, it cannot mint them."""
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return pem.decode()


def issue_token(
    key: ec.EllipticCurvePrivateKey, *, subject: str, permissions: list[str], lifetime_seconds: float
) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": now,
        "exp": now + int(lifetime_seconds),
        "permissions": permissions,
    }
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def permissions_for(methods: list[str]) -> list[str]:
    """``["eth", "net:peerCount"]`` → ``["eth:*", "net:peerCount"]``; ``*`` means every method."""
    out = []
    for entry in methods:
        entry = entry.strip()
        if not entry:
            continue
        if entry == "*":
            out.append(ALL)
        elif ":" in entry:
            out.append(entry)
        else:
            out.append(f"{entry}:*")
    return out


def bearer(header: str | None) -> str | None:
    if header is None or not header.startswith("Bearer "):
        return None
    return header[7:].strip() or None
