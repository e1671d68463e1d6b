"""The node's abstract interfaces, so that parts can be swapped (QBFT multi-validator consensus, other
permissioning sources) without touching the block producer or the RPC layer."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague.state import PragueState

from node.headers import QbftHeader


class ConsensusAPI(ABC):
    """Who may seal the next block and how a block is sealed and verified (Besu QBFT extra-data)."""

    @abstractmethod
    def validators_after(self, header: QbftHeader) -> tuple[bytes, ...]:
        """The validator set for the child of ``header``."""

    @abstractmethod
    def is_local_proposer(self, parent: QbftHeader, round_number: int = 0) -> bool:
        """Whether this node proposes the child of ``parent`` in ``round_number``."""

    @abstractmethod
    def proposal_extra_data(self, parent: QbftHeader, round_number: int = 0) -> bytes:
        """Extra-data (without committed seals) for a proposal on top of ``parent``."""

    @property
    @abstractmethod
    def local_address(self) -> bytes | None:
        """This node's validator address (the block's coinbase), or None for a non-validator."""

    @abstractmethod
    def seal(self, header: QbftHeader) -> QbftHeader:
        """``header`` with the committed seals that make it final (a quorum of validators)."""

    @abstractmethod
    def verify_seals(self, header: QbftHeader, parent: QbftHeader) -> None:
        """Raise :class:`node.exceptions.NodeError` unless a quorum of the parent's validators sealed it."""


class PermissionerAPI(ABC):
    """Account permissioning: may this transaction's sender transact?"""

    @abstractmethod
    def is_allowed(self, state: PragueState, tx: SignedTransactionAPI) -> bool:
        """Checked at pool admission (head state) and again while building a block (block state)."""

    @property
    @abstractmethod
    def rules_address(self) -> bytes | None:
        """The account-rules contract in use, if any."""

    @abstractmethod
    def set_rules_address(self, address: bytes | None) -> None:
        """Point at a (newly deployed) rules contract; takes effect for the next check."""


class TxPoolAPI(ABC):
    @abstractmethod
    def add(self, tx: SignedTransactionAPI, sender: bytes) -> None:
        """Admit a validated transaction or raise an RpcError in geth's wording."""

    @abstractmethod
    def pending_for_block(self) -> list[SignedTransactionAPI]:
        """Executable transactions in nonce order per sender, oldest senders first."""

    @abstractmethod
    def on_block(self, included: Sequence[SignedTransactionAPI], dropped: Sequence[SignedTransactionAPI]) -> None:
        """Remove what a new block included or proved invalid; promote queued nonces."""
