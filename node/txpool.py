"""The transaction pool: admission rules in geth's order and wording, pending and queued per sender.

Queued transactions (a nonce beyond the sender's gap-free run) cannot be executed yet, so they are what a pool is
squatted with: five permitted senders queueing 1,000 each once filled a 5,000-slot pool for good. So, as geth and
Besu do: queued transactions are capped per sender and in all, the oldest queued is evicted first when room is
needed, and a queued transaction older than its lifetime is dropped. Part of the pool is reserved for the local
system senders (this node's validator, the gateway's relayer and operator accounts: ``--txpool-system-senders``),
so settlement continues while the rest of the pool is full of others' transactions.

All methods run on the event-loop thread; the producer gets a list snapshot and reports back.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import cast

from eth.abc import SignedTransactionAPI
from eth.vm.forks.prague.state import PragueState
from eth_typing import Address

from node.abc import PermissionerAPI, TxPoolAPI
from node.exceptions import InvalidParams, SenderNotAuthorized, TxRejected
from node.intrinsic import validate_intrinsic_gas
from node.permissioning import effective_gas_price
from node.senders import cache_sender, decode_transaction, known_sender, recover_sender, tx_type

logger = logging.getLogger(__name__)

MAX_TX_SIZE = 128 * 1024
PRICE_BUMP_PERCENT = 10
SUPPORTED_TYPES = (0, 1, 2)


@dataclass(frozen=True)
class PoolLimits:
    max_per_sender: int = 5000
    max_total: int = 20000
    max_nonce_gap: int = 1000
    max_queued_per_sender: int = 64  # geth's --txpool.accountqueue
    max_queued_total: int = 1024  # geth's --txpool.globalqueue
    queued_lifetime_seconds: float = 600.0
    reserved_for_system: int = 1000  # slots of max_total that only system senders may fill
    system_senders: frozenset[bytes] = frozenset()


def decode_raw_transaction(raw: bytes) -> SignedTransactionAPI:
    if len(raw) > MAX_TX_SIZE:
        raise TxRejected("oversized data")
    if not raw:
        raise InvalidParams("empty transaction")
    if raw[0] < 0x7F and raw[0] not in SUPPORTED_TYPES:
        raise TxRejected("transaction type not supported")
    try:
        tx = decode_transaction(raw)
    except Exception as exc:  # rlp and validation errors of any kind: bad input, never a crash
        raise InvalidParams(f"transaction could not be decoded: {exc}") from exc
    return tx


def _fee_pair(tx: SignedTransactionAPI) -> tuple[int, int]:
    max_fee = effective_gas_price(tx)
    tip = getattr(tx, "max_priority_fee_per_gas", None)
    if tip is None:  # (see effective_gas_price)
        tip = getattr(tx, "gas_price", 0)
    return max_fee, int(tip or 0)


class TxPool(TxPoolAPI):
    def __init__(
        self,
        chain_id: int,
        gas_limit: Callable[[], int],
        head_state: Callable[[], PragueState],
        permissioner: PermissionerAPI,
        limits: PoolLimits | None = None,
    ) -> None:
        self.chain_id = chain_id
        self._gas_limit = gas_limit
        self._head_state = head_state
        self._permissioner = permissioner
        self.limits = limits or PoolLimits()
        self._by_sender: dict[bytes, dict[int, SignedTransactionAPI]] = {}
        self._by_hash: dict[bytes, SignedTransactionAPI] = {}
        self._state_nonce: dict[bytes, int] = {}
        self._next_hint: dict[bytes, int] = {}
        self._arrived: dict[bytes, float] = {}  # tx hash -> monotonic arrival time
        self._clock: Callable[[], float] = time.monotonic
        self.evicted = 0  # queued transactions evicted or expired (for /metrics)

    def add_system_sender(self, sender: bytes) -> None:
        """A local system account (this node's validator): it may use the reserved part of the pool."""
        self.limits = replace(self.limits, system_senders=self.limits.system_senders | {sender})

    # queries --------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._by_hash)

    def get(self, tx_hash: bytes) -> SignedTransactionAPI | None:
        return self._by_hash.get(tx_hash)

    def _base_nonce(self, sender: bytes) -> int:
        nonce = self._state_nonce.get(sender)
        if nonce is None:
            nonce = self._head_state().get_nonce(cast(Address, sender))
            self._state_nonce[sender] = nonce
        return nonce

    def split(self) -> tuple[dict[bytes, list[SignedTransactionAPI]], dict[bytes, list[SignedTransactionAPI]]]:
        """(pending, queued) per sender, each in nonce order."""
        pending: dict[bytes, list[SignedTransactionAPI]] = {}
        queued: dict[bytes, list[SignedTransactionAPI]] = {}
        for sender, txs in self._by_sender.items():
            nonce = self._base_nonce(sender)
            for n in sorted(txs):
                if n == nonce:
                    pending.setdefault(sender, []).append(txs[n])
                    nonce += 1
                else:
                    queued.setdefault(sender, []).append(txs[n])
        return pending, queued

    def pending_nonce(self, sender: bytes, state_nonce: int) -> int:
        """The next nonce after the sender's gap-free run of pooled transactions."""
        txs = self._by_sender.get(sender, {})
        # the hint stays valid while no pooled nonce is removed above the state nonce (see on_block)
        nonce = max(state_nonce, self._next_hint.get(sender, 0))
        while nonce in txs:
            nonce += 1
        self._next_hint[sender] = nonce
        return nonce

    def pending_for_block(self) -> list[SignedTransactionAPI]:
        pending, _ = self.split()
        return [tx for txs in pending.values() for tx in txs]

    def known_included(self, tx: SignedTransactionAPI) -> bool:
        """Whether the sender's nonce has passed ``tx`` in a block this pool saw (a cheap early refusal)."""
        sender = known_sender(tx)
        return sender is not None and tx.nonce < self._state_nonce.get(sender, 0)

    def has_pending(self) -> bool:
        for sender, txs in self._by_sender.items():
            if self._base_nonce(sender) in txs:
                return True
        return False

    # admission ------------------------------------------------------------------------------------
    def validate(self, tx: SignedTransactionAPI) -> bytes:
        """Stateless checks, then recover and return the sender."""
        if tx_type(tx) not in SUPPORTED_TYPES:
            raise TxRejected("transaction type not supported")
        chain_id = getattr(tx, "chain_id", None)
        if chain_id is None:
            raise TxRejected("only replay-protected (EIP-155) transactions allowed over RPC")
        if chain_id != self.chain_id:
            raise TxRejected(f"invalid chain id for signer: have {chain_id} want {self.chain_id}")
        if tx.gas > self._gas_limit():
            raise TxRejected("exceeds block gas limit")
        max_fee, tip = _fee_pair(tx)
        if tip > max_fee:
            raise TxRejected("max priority fee per gas higher than max fee per gas")
        validate_intrinsic_gas(tx)
        sender = recover_sender(tx)
        cache_sender(tx, sender)
        return sender

    def add(self, tx: SignedTransactionAPI, sender: bytes) -> None:
        if tx.hash in self._by_hash:
            raise TxRejected("already known")
        cache_sender(tx, sender)
        state = self._head_state()
        if not self._permissioner.is_allowed(state, tx):
            raise SenderNotAuthorized()
        state_nonce = state.get_nonce(cast(Address, sender))
        self._state_nonce[sender] = state_nonce
        if tx.nonce < state_nonce:
            raise TxRejected(f"nonce too low: address 0x{sender.hex()}, tx: {tx.nonce} state: {state_nonce}")
        if tx.nonce > self.pending_nonce(sender, state_nonce) + self.limits.max_nonce_gap:
            raise TxRejected("nonce too high")
        max_fee, tip = _fee_pair(tx)
        cost = tx.gas * max_fee + tx.value
        balance = state.get_balance(cast(Address, sender))
        if balance < cost:
            raise TxRejected(
                f"insufficient funds for gas * price + value: address 0x{sender.hex()} have {balance} want {cost}"
            )
        txs = self._by_sender.get(sender, {})
        old = txs.get(tx.nonce)
        if old is not None:
            old_fee, old_tip = _fee_pair(old)
            bump = 100 + PRICE_BUMP_PERCENT
            if max_fee <= old_fee or tip <= old_tip or max_fee * 100 < old_fee * bump or tip * 100 < old_tip * bump:
                raise TxRejected("replacement transaction underpriced")
            self._forget(old)
        else:
            self._make_room(tx, sender, queued=tx.nonce > self.pending_nonce(sender, state_nonce))
        self._by_sender.setdefault(sender, {})[tx.nonce] = tx
        self._by_hash[tx.hash] = tx
        self._arrived[tx.hash] = self._clock()

    # capacity -------------------------------------------------------------------------------------
    def _make_room(self, tx: SignedTransactionAPI, sender: bytes, queued: bool) -> None:
        """Refuse ``tx`` or evict the oldest queued transactions so that it fits every limit."""
        limits = self.limits
        system = sender in limits.system_senders
        if len(self._by_sender.get(sender, {})) >= limits.max_per_sender:
            raise TxRejected("txpool is full: too many transactions from this sender")
        if queued and not system:
            if len(self._queued_nonces(sender)) >= limits.max_queued_per_sender:
                raise TxRejected("txpool is full: too many queued transactions from this sender")
            if self._queued_count() >= limits.max_queued_total and not self._evict_oldest_queued():
                raise TxRejected("txpool is full: too many queued transactions")
        capacity = limits.max_total if system else limits.max_total - limits.reserved_for_system
        while len(self._by_hash) >= capacity:
            if not self._evict_oldest_queued():
                raise TxRejected("txpool is full")

    def _queued_nonces(self, sender: bytes) -> list[int]:
        txs = self._by_sender.get(sender, {})
        nonce = self._base_nonce(sender)
        while nonce in txs:
            nonce += 1
        return [n for n in txs if n > nonce]

    def _queued(self) -> list[SignedTransactionAPI]:
        _, queued = self.split()
        return [tx for txs in queued.values() for tx in txs]

    def _queued_count(self) -> int:
        return sum(len(self._queued_nonces(sender)) for sender in self._by_sender)

    def _evict_oldest_queued(self) -> bool:
        """Drop the queued transaction of a non-system sender that arrived first; False if there is none."""
        candidates = [tx for tx in self._queued() if bytes(tx.sender) not in self.limits.system_senders]
        if not candidates:
            return False
        oldest = min(candidates, key=lambda tx: self._arrived.get(tx.hash, 0.0))
        logger.info("txpool: evicted queued tx 0x%s to make room", oldest.hash.hex())
        self._forget(oldest)
        self.evicted += 1
        return True

    def expire(self) -> int:
        """Drop queued transactions older than their lifetime; returns how many."""
        cutoff = self._clock() - self.limits.queued_lifetime_seconds
        stale = [tx for tx in self._queued() if self._arrived.get(tx.hash, 0.0) < cutoff]
        for tx in stale:
            self._forget(tx)
        if stale:
            logger.info("txpool: %d queued transactions expired", len(stale))
            self.evicted += len(stale)
        return len(stale)

    def _forget(self, tx: SignedTransactionAPI) -> None:
        sender = bytes(tx.sender)
        txs = self._by_sender.get(sender)
        if txs is not None and txs.get(tx.nonce) is tx:
            del txs[tx.nonce]
            if not txs:
                del self._by_sender[sender]
        self._by_hash.pop(tx.hash, None)
        self._arrived.pop(tx.hash, None)
        self._next_hint.pop(sender, None)

    # after a block --------------------------------------------------------------------------------
    def on_block(self, included: Sequence[SignedTransactionAPI], dropped: Sequence[SignedTransactionAPI]) -> None:
        touched: set[bytes] = set()
        for tx in [*included, *dropped]:
            sender = bytes(tx.sender)
            touched.add(sender)
            txs = self._by_sender.get(sender)
            if txs is not None and txs.get(tx.nonce) is tx:
                del txs[tx.nonce]
            self._by_hash.pop(tx.hash, None)
            self._arrived.pop(tx.hash, None)
        for tx in dropped:
            self._next_hint.pop(bytes(tx.sender), None)
        for tx in included:
            sender = bytes(tx.sender)
            self._state_nonce[sender] = max(self._state_nonce.get(sender, 0), tx.nonce + 1)
        for sender in touched:
            txs = self._by_sender.get(sender)
            if txs is None:
                continue
            nonce = self._state_nonce.get(sender, 0)
            for n in [n for n in txs if n < nonce]:
                stale = txs.pop(n)
                self._by_hash.pop(stale.hash, None)
                self._arrived.pop(stale.hash, None)
            if not txs:
                del self._by_sender[sender]

    def reset_nonces(self) -> None:
        """Forget cached account nonces (after a block that changed them in ways we did not see)."""
        self._state_nonce.clear()

    def content(self) -> tuple[dict[bytes, list[SignedTransactionAPI]], dict[bytes, list[SignedTransactionAPI]]]:
        return self.split()
