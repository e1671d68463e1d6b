"""The IdentityRegistry as the gateway reads it: an identity by field name, its status as an enum."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from gateway.chain.bindings.structs import named, outputs_of


class IdentityStatus(StrEnum):
    """An identity's standing: revoked overrides frozen, frozen overrides active (expiry is checked against time)."""

    ACTIVE = "active"
    FROZEN = "frozen"
    REVOKED = "revoked"


@dataclass(frozen=True)
class Identity:
    """``IIdentityRegistry.Identity``: the member's LEI hash, jurisdiction (two ASCII letters), investor class and
    KYC expiry (Unix seconds)."""

    lei_hash: bytes
    jurisdiction: str
    investor_class: int
    kyc_expiry: int
    frozen: bool
    revoked: bool

    @property
    def status(self) -> IdentityStatus:
        if self.revoked:
            return IdentityStatus.REVOKED
        return IdentityStatus.FROZEN if self.frozen else IdentityStatus.ACTIVE

    @classmethod
    def decode(cls, values: Any, outputs: list[dict[str, Any]]) -> Identity:
        f = named(values, outputs, cls)
        return cls(
            lei_hash=bytes(f["lei_hash"]),
            jurisdiction=bytes(f["jurisdiction"]).decode("ascii"),
            investor_class=int(f["investor_class"]),
            kyc_expiry=int(f["kyc_expiry"]),
            frozen=bool(f["frozen"]),
            revoked=bool(f["revoked"]),
        )


@cache
def _outputs(function: str) -> list[dict[str, Any]]:
    from contracts.artifacts import load_artifact

    return outputs_of(load_artifact("IdentityRegistry").abi, function)


class Registry:
    """Typed reads of a deployed IdentityRegistry (a web3 contract object)."""

    def __init__(self, contract: Any) -> None:
        self.contract = contract

    def identity_of(self, wallet: str) -> int:
        """The wallet's identity id (0: none)."""
        return int(self.contract.functions.identityOf(wallet).call())

    def is_verified(self, wallet: str) -> bool:
        return bool(self.contract.functions.isVerified(wallet).call())

    def identity(self, identity_id: int) -> Identity:
        return Identity.decode(self.contract.functions.getIdentity(identity_id).call(), _outputs("getIdentity"))
