"""The verified-token cache of :class:`node.rpc.auth.RpcAuth`: a token the node verified once is not verified
again while it lives, and the cache never lets a token through that verification would refuse."""

from __future__ import annotations

import datetime
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from node.rpc import auth
from node.rpc.auth import RpcAuth, Unauthorized, issue_token


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def counting(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Each full verification (``jwt.decode``) made from now on."""
    calls: list[str] = []
    real = jwt.decode

    def decode(token: str, *args: object, **kwargs: object) -> object:
        calls.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auth.jwt, "decode", decode)
    return calls


def test_a_token_is_verified_once_while_it_lives(
    key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    policy = RpcAuth(required=True, public_key=key.public_key())
    token = issue_token(key, subject="gateway", permissions=["eth:*"], lifetime_seconds=3600)
    calls = counting(monkeypatch)
    first, second = policy.verify(token), policy.verify(token)
    assert first == second and first.subject == "gateway"
    assert calls == [token]


def test_a_kept_grant_ends_with_its_token(key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = RpcAuth(required=True, public_key=key.public_key())
    token = issue_token(key, subject="gateway", permissions=["eth:*"], lifetime_seconds=60)
    policy.verify(token)
    later = time.time() + 60 + auth.LEEWAY_SECONDS + 5
    monkeypatch.setattr(auth.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _clock(later))  # PyJWT's own clock agrees
    with pytest.raises(Unauthorized):
        policy.verify(token)


def test_a_changed_token_is_verified_afresh(key: ec.EllipticCurvePrivateKey) -> None:
    policy = RpcAuth(required=True, public_key=key.public_key())
    token = issue_token(key, subject="gateway", permissions=["eth:*"], lifetime_seconds=3600)
    policy.verify(token)
    header, claims, signature = token.split(".")
    forged = ".".join([header, claims, signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")])
    with pytest.raises(Unauthorized):
        policy.verify(forged)
    other = issue_token(ec.generate_private_key(ec.SECP256R1()), subject="x", permissions=["*:*"], lifetime_seconds=60)
    with pytest.raises(Unauthorized):
        policy.verify(other)


def test_the_cache_is_bounded(key: ec.EllipticCurvePrivateKey, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "VERIFIED_TOKENS_KEPT", 3)
    policy = RpcAuth(required=True, public_key=key.public_key())
    for i in range(10):
        policy.verify(issue_token(key, subject=f"c{i}", permissions=["eth:*"], lifetime_seconds=3600))
    assert len(policy._verified) == 3


def _clock(at: float) -> type[datetime.datetime]:
    """``datetime`` for PyJWT, its ``now`` at ``at``."""

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> Clock:  # type: ignore[override]
            return cls.fromtimestamp(at, tz=tz)

    return Clock
