"""What the gateway needs from the chain: the IdentityRegistry whitelist and the AuditAnchor."""

from __future__ import annotations

from abc import ABC, abstractmethod


class ChainClient(ABC):
    """IdentityRegistry and AuditAnchor operations. Implementations raise ``ChainError`` on failure."""

    @abstractmethod
    def register_identity(
        self, *, lei_hash: bytes, jurisdiction: str, investor_class: int, kyc_expiry: int, wallets: list[str]
    ) -> int:
        """Register a legal entity with its wallets; return the identity id."""

    @abstractmethod
    def update_identity(self, *, identity_id: int, jurisdiction: str, investor_class: int, kyc_expiry: int) -> None:
        """Refresh jurisdiction, class and expiry (a renewed review)."""

    @abstractmethod
    def add_wallet(self, *, identity_id: int, wallet: str) -> None: ...

    @abstractmethod
    def revoke_identity(self, *, identity_id: int) -> None: ...

    @abstractmethod
    def freeze_identity(self, *, identity_id: int) -> None: ...

    @abstractmethod
    def unfreeze_identity(self, *, identity_id: int) -> None: ...

    @abstractmethod
    def is_verified(self, wallet: str) -> bool: ...

    def erc1271_valid(self, wallet: str, digest: bytes, signature: bytes) -> bool:
        """Whether the contract at ``wallet`` accepts ``signature`` over ``digest`` (ERC-1271 ``isValidSignature``).
        False where there is no contract there, or no chain to ask."""
        return False

    @abstractmethod
    def anchor(self, *, sequence: int, head_hash: bytes) -> str:
        """Anchor an audit head; return the transaction hash."""

    @abstractmethod
    def anchored_heads(self) -> dict[int, str]:
        """Every anchored (sequence -> head hash hex) pair."""


class NullChain(ChainClient):
    """No chain configured (development without a node): whitelist operations are refused loudly."""

    def _off(self) -> None:
        from gateway.exceptions import ChainError

        raise ChainError("no chain configured (REPONET_CHAIN_RPC_URL)")

    def register_identity(
        self, *, lei_hash: bytes, jurisdiction: str, investor_class: int, kyc_expiry: int, wallets: list[str]
    ) -> int:
        self._off()
        return 0

    def update_identity(self, *, identity_id: int, jurisdiction: str, investor_class: int, kyc_expiry: int) -> None:
        self._off()

    def add_wallet(self, *, identity_id: int, wallet: str) -> None:
        self._off()

    def revoke_identity(self, *, identity_id: int) -> None:
        self._off()

    def freeze_identity(self, *, identity_id: int) -> None:
        self._off()

    def unfreeze_identity(self, *, identity_id: int) -> None:
        self._off()

    def is_verified(self, wallet: str) -> bool:
        return False

    def anchor(self, *, sequence: int, head_hash: bytes) -> str:
        self._off()
        return ""

    def anchored_heads(self) -> dict[int, str]:
        return {}
