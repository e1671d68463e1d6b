"""An in-memory stand-in for the on-chain registry and anchor, with the same rules (for tests and demos). Every
call asks the seam's guard first, as the JSON-RPC transport does (gateway.chain.guard)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from gateway.chain import guard
from gateway.chain.base import ChainClient
from gateway.exceptions import ChainError


@dataclass
class _Identity:
    lei_hash: bytes
    jurisdiction: str
    investor_class: int
    kyc_expiry: int
    wallets: set[str] = field(default_factory=set)
    revoked: bool = False
    frozen: bool = False


class InMemoryChain(ChainClient):
    def __init__(self) -> None:
        self.identities: dict[int, _Identity] = {}
        self.wallet_owner: dict[str, int] = {}
        self.anchors: dict[int, str] = {}
        self.calls: list[str] = []

    def register_identity(
        self, *, lei_hash: bytes, jurisdiction: str, investor_class: int, kyc_expiry: int, wallets: list[str]
    ) -> int:
        guard.check()
        self.calls.append("registerIdentity")
        identity_id = len(self.identities) + 1
        self.identities[identity_id] = _Identity(lei_hash, jurisdiction, investor_class, kyc_expiry)
        for wallet in wallets:
            self.add_wallet(identity_id=identity_id, wallet=wallet)
        return identity_id

    def update_identity(self, *, identity_id: int, jurisdiction: str, investor_class: int, kyc_expiry: int) -> None:
        guard.check()
        self.calls.append("updateIdentity")
        ident = self.identities[identity_id]
        ident.jurisdiction, ident.investor_class, ident.kyc_expiry = jurisdiction, investor_class, kyc_expiry

    def add_wallet(self, *, identity_id: int, wallet: str) -> None:
        guard.check()
        self.calls.append("addWallet")
        key = wallet.lower()
        if key in self.wallet_owner:
            raise ChainError(f"wallet {wallet} already registered")
        self.wallet_owner[key] = identity_id
        self.identities[identity_id].wallets.add(key)

    def revoke_identity(self, *, identity_id: int) -> None:
        guard.check()
        self.calls.append("revokeIdentity")
        self.identities[identity_id].revoked = True

    def freeze_identity(self, *, identity_id: int) -> None:
        guard.check()
        self.calls.append("freezeIdentity")
        self.identities[identity_id].frozen = True

    def unfreeze_identity(self, *, identity_id: int) -> None:
        guard.check()
        self.calls.append("unfreezeIdentity")
        self.identities[identity_id].frozen = False

    def is_verified(self, wallet: str) -> bool:
        guard.check()
        identity_id = self.wallet_owner.get(wallet.lower())
        if identity_id is None:
            return False
        ident = self.identities[identity_id]
        return not ident.revoked and not ident.frozen and time.time() < ident.kyc_expiry

    def anchor(self, *, sequence: int, head_hash: bytes) -> str:
        guard.check()
        if self.anchors and sequence <= max(self.anchors):
            raise ChainError("anchor sequence must increase")
        self.anchors[sequence] = head_hash.hex()
        return "0x" + sequence.to_bytes(32, "big").hex()

    def anchored_heads(self) -> dict[int, str]:
        guard.check()
        return dict(self.anchors)
