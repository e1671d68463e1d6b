"""Executing a QBFT proposal without committing it, and committing it once a quorum has sealed it.

The proposer builds a candidate, every validator re-executes the proposal to check it, and the executed state
is kept in memory (``StateDB.pending``) until the COMMIT quorum: a block is executed once per node, and the
store sees it only when it is final.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from eth.abc import SignedTransactionAPI
from eth.constants import BLANK_ROOT_HASH

from node import qbft_extra
from node.build_budget import WALL_FACTOR, BuildBudget
from node.chain import AncestorHashes, Chain
from node.exceptions import InvalidBlock
from node.execution import BuiltBlock, apply_transactions, child_header, open_state
from node.headers import QbftHeader, copy_header, encode_header
from node.qbft_extra import QbftExtraData
from node.storage import StateDB

MAX_FUTURE_SECONDS = 5


@dataclass
class Candidate:
    built: BuiltBlock
    db: StateDB
    parent_hash: bytes


class QbftChain(Chain):
    # Set by the service: a proposal still being built when round 0 times out cannot be agreed in it, so a build's
    # wall-clock ceiling is at most the round timeout (the CPU-time budget is Chain's).
    round_timeout: float | None = None

    def build_budget(self) -> BuildBudget:
        wall = self.build_seconds * WALL_FACTOR
        if self.round_timeout is not None:
            wall = min(wall, self.round_timeout)
        return BuildBudget.start(self.build_seconds, wall)

    def build_candidate(
        self, transactions: Sequence[SignedTransactionAPI], timestamp: int, coinbase: bytes, extra_data: bytes
    ) -> Candidate:
        with self._build_lock:
            parent = self.head
            template = child_header(parent, max(timestamp, parent.timestamp), coinbase, extra_data)
            db = self.store.state_db(for_writing=True)
            built = self._execute(parent, template, transactions, db, self.build_budget())
            return Candidate(built, db, bytes(parent.hash))

    def build_candidate_on(
        self,
        parent: Candidate,
        transactions: Sequence[SignedTransactionAPI],
        timestamp: int,
        coinbase: bytes,
        extra_data: bytes,
    ) -> Candidate:
        """Build the block after ``parent``, a validated candidate not committed yet (the next proposer builds while
        the others still validate and vote). Its state reads through the parent's pending writes; it may be
        proposed only once the parent is the head (``Candidate.parent_hash``). No build lock: nothing here touches
        the head or the write connection, so the parent's commit can run at the same time."""
        header = parent.built.header
        template = child_header(header, max(timestamp, header.timestamp), coinbase, extra_data)
        db = self.store.state_db(base=parent.db.pending)
        state = open_state(
            db,
            template,
            header.state_root,
            AncestorHashes(self.store, header.block_number - 1, unstored=bytes(header.hash)),
            self.chain_id,
        )
        built = apply_transactions(state, template, transactions, self.permissioner.is_allowed, self.build_budget())
        return Candidate(built, db, bytes(header.hash))

    def validate_candidate(self, header: QbftHeader, transactions: Sequence[SignedTransactionAPI]) -> Candidate:
        """Check a proposed block like ``import_block`` does, except the seals (it has none yet)."""
        with self._build_lock:
            parent = self.head
            if header.block_number != parent.block_number + 1 or header.parent_hash != parent.hash:
                raise InvalidBlock(f"block {header.block_number} does not extend head {parent.block_number}")
            if header.timestamp < parent.timestamp or header.gas_limit != parent.gas_limit:
                raise InvalidBlock("block timestamp or gas limit does not follow its parent")
            if header.timestamp > time.time() + MAX_FUTURE_SECONDS:
                raise InvalidBlock("block timestamp is in the future")
            extra = qbft_extra.decode(header.extra_data)
            if extra.seals:
                raise InvalidBlock("a proposal carries no committed seals")
            if tuple(sorted(extra.validators)) != self.consensus.validators_after(parent):
                raise InvalidBlock("proposal names the wrong validator set")
            template = copy_header(
                header,
                gas_used=0,
                bloom=0,
                state_root=BLANK_ROOT_HASH,
                transaction_root=BLANK_ROOT_HASH,
                receipt_root=BLANK_ROOT_HASH,
            )
            db = self.store.state_db(for_writing=True)
            built = self._execute(parent, template, transactions, db)
            if built.dropped or built.deferred:
                db.discard()
                raise InvalidBlock(f"block {header.block_number} holds transactions that cannot be included")
            if encode_header(built.header) != encode_header(header):
                db.discard()
                raise InvalidBlock(f"block {header.block_number}: re-execution gives different roots")
            built.header = header
            return Candidate(built, db, bytes(parent.hash))

    def commit_candidate(self, candidate: Candidate, seals: tuple[bytes, ...]) -> BuiltBlock:
        """Attach the committed seals and write the block (the quorum was checked by the state machine)."""
        with self._build_lock:
            if candidate.parent_hash != self.head.hash:
                raise InvalidBlock("candidate no longer extends the head")
            header = candidate.built.header
            extra = qbft_extra.decode(header.extra_data)
            sealed = copy_header(
                header,
                extra_data=QbftExtraData(
                    validators=extra.validators,
                    vanity=extra.vanity,
                    vote=extra.vote,
                    round=extra.round,
                    seals=seals,
                ).encode(),
            )
            self.consensus.verify_seals(sealed, self.head)
            candidate.built.header = sealed
            self._commit(candidate.built, candidate.db)
            return candidate.built
