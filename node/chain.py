"""The chain as the node sees it: the store, the head, state at any block, and building the next block."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Sequence

from eth.abc import SignedTransactionAPI
from eth.constants import BLANK_ROOT_HASH
from eth.vm.forks.prague.state import PragueState

from node.abc import ConsensusAPI, PermissionerAPI
from node.build_budget import BuildBudget
from node.exceptions import InvalidBlock, StorageError
from node.execution import BuiltBlock, apply_transactions, child_header, open_state
from node.genesis import Genesis, build_genesis_header
from node.headers import QbftHeader, copy_header, encode_header
from node.storage import ChainStore, StateDB

logger = logging.getLogger(__name__)


class AncestorHashes:
    """The 256 hashes before a block (newest first), read lazily: BLOCKHASH is rare, eth_call is not."""

    def __init__(self, store: ChainStore, newest: int, unstored: bytes | None = None) -> None:
        self._store = store
        self._newest = newest
        # the hash of block ``newest + 1`` when it is not in the store yet (building on an uncommitted parent)
        self._unstored = unstored
        self._hashes: list[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        # A generator: py-evm's ExecutionContext calls iter() on every execution, but the store is read only when
        # BLOCKHASH asks for the first hash.
        if self._hashes is None:
            stored = self._store.recent_hashes(self._newest) if self._newest >= 0 else []
            self._hashes = stored if self._unstored is None else [self._unstored, *stored[:255]]
        yield from self._hashes


def initialize_chain(store: ChainStore, genesis: Genesis, validators: tuple[bytes, ...]) -> QbftHeader:
    """Write block 0 (idempotent: an existing chain must have the same genesis)."""
    db = store.state_db(for_writing=True)
    header = build_genesis_header(genesis, db, validators)
    existing = store.header_by_number(0)
    if existing is not None:
        if existing.hash != header.hash:
            raise StorageError("the data directory holds a different chain (genesis hash differs)")
        db.discard()
        return existing
    store.commit_block(header, [], [], db)
    store.set_meta("chain_id", str(genesis.chain_id).encode())
    if genesis.block_period is not None:
        store.set_meta("block_period", str(genesis.block_period).encode())
    if genesis.account_rules is not None:
        store.set_meta("account_rules", genesis.account_rules)
    logger.info("genesis %s written, chain id %d", header.hex_hash, genesis.chain_id)
    return header


# Budget of one block build, in the building thread's CPU time (node.build_budget, with a wall-clock ceiling): once
# spent, the remaining transactions wait for the next block, so no mix of expensive transactions holds a block (and
# the chain) for long. Import and validation have none: a block sealed elsewhere is executed whole.
BUILD_SECONDS = 2.0


class Chain:
    build_seconds: float = BUILD_SECONDS

    def __init__(self, store: ChainStore, consensus: ConsensusAPI, permissioner: PermissionerAPI) -> None:
        self.store = store
        self.consensus = consensus
        self.permissioner = permissioner
        chain_id = store.get_meta("chain_id")
        head_number = store.head_number()
        if chain_id is None or head_number is None:
            raise StorageError(f"{store.path} holds no chain: run `reponet-node init` first")
        self.chain_id = int(chain_id)
        head = store.header_by_number(head_number)
        if head is None:
            raise StorageError("head block missing")
        self._head = head
        self.genesis_hash = store.header_by_number(0).hash  # type: ignore[union-attr]
        self._build_lock = threading.Lock()

    @property
    def head(self) -> QbftHeader:
        return self._head

    def header(self, number: int) -> QbftHeader | None:
        if number == self._head.block_number:
            return self._head
        if number > self._head.block_number:
            return None
        return self.store.header_by_number(number)

    def state_at(self, header: QbftHeader) -> PragueState:
        """Read-only state after ``header``, executing in ``header``'s block environment."""
        return open_state(
            self.store.state_db(),
            header,
            header.state_root,
            AncestorHashes(self.store, header.block_number - 1),
            self.chain_id,
        )

    def state_for_next_block(self, timestamp: int | None = None) -> PragueState:
        """Head state in the environment of the next block (what ``pending`` means for calls)."""
        head = self._head
        template = child_header(
            head,
            max(int(timestamp or time.time()), head.timestamp),
            self.consensus.local_address or b"\x00" * 20,
            b"",
        )
        return open_state(
            self.store.state_db(),
            template,
            head.state_root,
            AncestorHashes(self.store, head.block_number),
            self.chain_id,
        )

    def build_block(self, transactions: Sequence[SignedTransactionAPI], timestamp: int) -> BuiltBlock:
        """Execute, seal and commit the next block (producer thread). The head moves only after commit."""
        with self._build_lock:
            parent = self._head
            coinbase = self.consensus.local_address or b"\x00" * 20
            template = child_header(
                parent, max(timestamp, parent.timestamp), coinbase, self.consensus.proposal_extra_data(parent)
            )
            db = self.store.state_db(for_writing=True)
            try:
                built = self._execute(parent, template, transactions, db, self.build_budget())
                built.header = self.consensus.seal(built.header)
                self._commit(built, db)
            except BaseException:
                db.discard()
                raise
            return built

    def import_block(self, header: QbftHeader, transactions: Sequence[SignedTransactionAPI]) -> BuiltBlock:
        """Verify a block sealed elsewhere (seals, permissioning, re-execution, every root) and commit it.

        This is how a follower (or a validator that was not the proposer) adds a block under QBFT.
        """
        with self._build_lock:
            parent = self._head
            if header.block_number != parent.block_number + 1 or header.parent_hash != parent.hash:
                raise InvalidBlock(f"block {header.block_number} does not extend head {parent.block_number}")
            if header.timestamp < parent.timestamp or header.gas_limit != parent.gas_limit:
                raise InvalidBlock("block timestamp or gas limit does not follow its parent")
            self.consensus.verify_seals(header, parent)
            template = copy_header(
                header,
                gas_used=0,
                bloom=0,
                state_root=BLANK_ROOT_HASH,
                transaction_root=BLANK_ROOT_HASH,
                receipt_root=BLANK_ROOT_HASH,
            )
            db = self.store.state_db(for_writing=True)
            try:
                built = self._execute(parent, template, transactions, db)
                if built.dropped or built.deferred:
                    raise InvalidBlock(f"block {header.block_number} holds transactions that cannot be included")
                if encode_header(copy_header(built.header, extra_data=header.extra_data)) != encode_header(header):
                    raise InvalidBlock(f"block {header.block_number}: re-execution gives different roots")
                built.header = header
                self._commit(built, db)
            except BaseException:
                db.discard()
                raise
            return built

    def build_budget(self) -> BuildBudget:
        """Started on the building thread (its CPU time is what is counted)."""
        return BuildBudget.start(self.build_seconds)

    def _execute(
        self,
        parent: QbftHeader,
        template: QbftHeader,
        transactions: Sequence[SignedTransactionAPI],
        db: StateDB,
        budget: BuildBudget | None = None,
    ) -> BuiltBlock:
        state = open_state(
            db, template, parent.state_root, AncestorHashes(self.store, parent.block_number), self.chain_id
        )
        return apply_transactions(state, template, transactions, self.permissioner.is_allowed, budget)

    def _commit(self, built: BuiltBlock, db: StateDB) -> None:
        self.store.commit_block(built.header, built.transactions, built.receipts, db, built.encoded_receipts)
        self._head = built.header
