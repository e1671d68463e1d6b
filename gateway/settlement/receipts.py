"""Following a sent step to its end: its receipt, looked for when a new block arrives (or a second has passed), not
on every tick; the same signed bytes sent again when the node lost them.

Reverts. A step that reverts in its block still uses its nonce (no gap follows); the settlement fails with the
revert's reason, read from the node's trace of that very transaction (geth's ``callTracer``, which our node and
Anvil serve). A step is final once its block is ``finality_confirmations`` deep (QBFT and Anvil blocks are final
when sealed: 0).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session
from web3 import Web3
from web3.exceptions import TransactionNotFound

from gateway.keys.provider import KeyProvider
from gateway.settlement.market import Market
from gateway.settlement.sending import Sending
from gateway.settlement_records.models import ChainStep, StepStatus

logger = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


class Receipts(Sending):
    """The relayer's receipt half: the chain's head read once per tick and the receipts fetched for it."""

    def __init__(self, market: Market, keys: KeyProvider) -> None:
        super().__init__(market, keys)
        self._head = 0  # the chain's latest block, read once per tick
        self._looked: dict[uuid.UUID, tuple[int, float]] = {}  # step id -> (head, monotonic time) of its last look
        self._receipts: dict[uuid.UUID, Any] = {}  # step id -> receipt (or None) fetched this tick
        # called when a step's transaction is seen mined: the indexer of this process looks at once rather than at
        # its next poll (a quarter of a second), since a waiting client is answered once the block is indexed
        self.on_mined: Callable[[], None] | None = None

    def _due(self, step: ChainStep) -> bool:
        """Look for a receipt once per new block, or after a second without one (a chain that mines on demand)."""
        head, at = self._looked.get(step.id, (-1, 0.0))
        now = time.monotonic()
        if self._head > head or now - at >= 1.0:
            self._looked[step.id] = (self._head, now)
            return True
        return False

    def _check(self, session: Session, step: ChainStep) -> None:
        assert step.tx_hash is not None
        if step.id in self._receipts:
            receipt = self._receipts.pop(step.id)
        elif self._due(step):
            receipt = self.market.fetch_receipt(step.tx_hash)
        else:
            return
        if receipt is None:
            self._maybe_rebroadcast(session, step)
            return
        step.block_number = int(receipt["blockNumber"])
        step.gas_used = int(receipt["gasUsed"])
        if self.on_mined is not None:
            self.on_mined()
        if int(receipt["status"]) != 1:
            step.status = StepStatus.REVERTED.value
            step.error = f"{self.market.failure_reason(step.tx_hash)} (transaction {step.tx_hash} reverted)"
            return
        depth = max(self._head, step.block_number) - step.block_number
        if depth >= self.market.settings.finality_confirmations:
            step.status = StepStatus.FINAL.value
            step.final_at = _now()
        else:
            step.status = StepStatus.MINED.value

    def _maybe_rebroadcast(self, session: Session, step: ChainStep) -> None:
        """Not mined yet: if the node does not know the transaction (dropped, or a crash before broadcast)
        send the same signed bytes again; if its nonce was consumed by something else, it is lost."""
        assert step.tx_hash is not None and step.nonce is not None
        if step.sent_at is not None and step.sent_at > _now() - timedelta(seconds=1) and step.attempts > 0:
            return
        try:
            self.w3.eth.get_transaction(step.tx_hash)  # type: ignore[arg-type]
            return
        except TransactionNotFound:
            pass
        mined_nonce = int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(step.sender), "latest"))
        if mined_nonce > step.nonce:
            step.status = StepStatus.FAILED.value
            step.error = f"nonce {step.nonce} was used by another transaction"
            return
        logger.info("rebroadcasting %s (nonce %s of %s)", step.tx_hash, step.nonce, step.sender)
        step.attempts += 1
        step.sent_at = _now()
        session.commit()
        self._broadcast(session, step)
