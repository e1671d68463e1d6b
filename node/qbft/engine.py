"""The QBFT engine: drives one :class:`HeightState` per height with the chain, the pool and the peers.

Everything runs on the event loop except block execution (worker thread, under the chain's build lock).
Messages of later heights wait in a bounded buffer; a peer whose head is ahead of ours (its STATUS, a NEW_BLOCK,
or a consensus message of a later height) starts a sync that fetches sealed blocks and verifies each with
``Chain.import_block`` (quorum of seals of the right validator set, permissioning, re-execution, roots).
Validators announce each committed block to non-validator peers (RPC nodes), which verify and import it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import rlp
from eth.abc import SignedTransactionAPI
from eth_hash.auto import keccak
from rlp.sedes import big_endian_int

from node import qbft_extra
from node.exceptions import InvalidBlock, NodeError
from node.execution import BuiltBlock
from node.headers import QbftHeader, copy_header
from node.p2p.peers import Peer, PeerManager
from node.qbft.chain import Candidate, QbftChain
from node.qbft.consensus import QbftConsensus, proposer_for
from node.qbft.gossip import FUTURE_HEIGHTS, GossipWindow, gossip_problem, in_window
from node.qbft.messages import (
    COMMIT,
    PREPARE,
    PROPOSAL,
    ROUND_CHANGE,
    BadMessage,
    Block,
    Commit,
    Message,
    Prepare,
    Proposal,
    RoundChange,
    decode_blocks,
    decode_message,
    encode_blocks,
    encode_message,
)
from node.qbft.scheduling import ExecutionScheduler
from node.qbft.state import Decision, HeightState, Outcome, Prepared, ProposeRequest, make_seal, round_timeout
from node.qbft_extra import QbftExtraData
from node.rlp_lists import decode_bytes_list, encode_bytes_list
from node.txpool import decode_raw_transaction

if TYPE_CHECKING:
    from node.service import NodeService

logger = logging.getLogger(__name__)

STATUS = 0x02
TXS = 0x03
GET_BLOCKS = 0x04
BLOCKS = 0x05
NEW_BLOCK = 0x06
CONSENSUS_CODES = (PROPOSAL, PREPARE, COMMIT, ROUND_CHANGE)
SYNC_BATCH = 32
SYNC_TIMEOUT = 5.0
FUTURE_PER_HEIGHT = 2_000
TX_FLUSH_SECONDS = 0.01
STATUS_INTERVAL = 1.0
SEEN_LIMIT = 50_000
TX_ADMIT_SLICE = 20
MIN_BLOCK_TXS = 50
MIN_MEASURED_TXS = 50
GROWTH = 4
TX_INBOX_LIMIT = 50_000
VOTE_STATE_KEY = "qbft_vote_state"


@dataclass(frozen=True)
class EngineConfig:
    block_period: float = 0.5
    round_timeout: float = 1.0
    empty_blocks: bool = False
    trailing_block: bool = True
    # a proposal must be executed by every validator within the round timeout: its size is bounded so that
    # executing it takes at most this share of the round timeout at the execution speed measured lately
    # (proposer first, then the validators side by side), and never above max_block_txs
    max_block_txs: int = 2000
    first_block_txs: int = 500  # before anything was measured
    execution_share: float = 0.25


@dataclass
class TestFaults:
    """Misbehaviour a test can switch on (only with ``--test-faults``)."""

    equivocate: bool = False  # as proposer, send two different blocks to the two halves of the peers
    conflicting_votes: bool = False  # send PREPAREs and COMMITs for another block to half of the peers
    silent: bool = False  # send no consensus messages at all


@dataclass
class Metrics:
    faults: deque[str] = field(default_factory=lambda: deque(maxlen=200))
    fault_count: int = 0
    rounds_changed: int = 0
    blocks_committed: int = 0
    blocks_imported: int = 0


class QbftEngine:
    def __init__(
        self,
        chain: QbftChain,
        consensus: QbftConsensus,
        service: NodeService,
        config: EngineConfig,
        faults: TestFaults | None = None,
    ) -> None:
        self.chain = chain
        self.consensus = consensus
        self.service = service
        self.config = config
        self.faults = faults or TestFaults()
        self.metrics = Metrics()
        self.peers: PeerManager | None = None
        self.hs = self._height_state()
        self.candidates: dict[bytes, Candidate] = {}
        self.future: dict[int, list[Message]] = {}
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._active = False
        # the block period runs from when the last block was proposed, as this node saw it (Besu times the next
        # block from its parent's timestamp): when validating and voting took longer than the period, the next
        # proposal goes out as soon as the block is committed
        self._period_from = time.monotonic()
        self._proposal_seen: float | None = None  # the first PROPOSAL of this height, sent or received
        self._trailing_due = False
        self._chain_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()
        self._tx_outbox: list[bytes] = []
        self._tx_inbox: deque[bytes] = deque()
        self._seconds_per_tx = 0.0
        self._last_block_txs = -1  # none measured yet
        self._tx_wake = asyncio.Event()
        self._sync_task: asyncio.Task[None] | None = None
        self._sync_waiter: asyncio.Future[bytes] | None = None
        self.on_new_block: list[Callable[[BuiltBlock], None]] = []
        self._last_round_change: RoundChange | None = None
        # proposals being executed for validation, by digest: an import of the same block waits and reuses them
        self._validating: dict[bytes, asyncio.Future[None]] = {}
        # the next height's block, built ahead on a validated candidate: (that candidate's hash, the build)
        self._ahead: tuple[bytes, asyncio.Task[Candidate]] | None = None
        self._seen: set[bytes] = set()
        self._seen_order: deque[bytes] = deque()
        self.executions = ExecutionScheduler()

    # lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        self._restore_vote_state()
        self._tasks = [
            asyncio.create_task(self._run(), name="qbft-propose"),
            asyncio.create_task(self._flush_txs(), name="qbft-tx-gossip"),
            asyncio.create_task(self._admit_txs(), name="qbft-tx-admit"),
            asyncio.create_task(self._status_loop(), name="qbft-status"),
        ]
        self.notify()

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        tasks: list[asyncio.Task[Any]] = [*self._tasks, *self._background]
        if self._ahead is not None:
            tasks.append(self._ahead[1])
        if self._sync_task is not None:
            tasks.append(self._sync_task)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.executions.shutdown()

    def notify(self) -> None:
        self._wake.set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # heights --------------------------------------------------------------------------------------
    def _height_state(self) -> HeightState:
        head = self.chain.head
        validators = self.consensus.validators_after(head)
        key = self.consensus.key if self.consensus.is_validator_after(head) else None
        return HeightState(head.block_number + 1, validators, key, lambda r: self.consensus.proposer(head, r))

    def _new_height(self) -> None:
        for candidate in self.candidates.values():
            candidate.db.discard()
        self.candidates.clear()
        if self._ahead is not None and self._ahead[0] != bytes(self.chain.head.hash):
            self._drop_ahead()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._active = False
        self._proposal_seen = None
        self.hs = self._height_state()
        for height in [h for h in self.future if h < self.hs.height]:
            del self.future[height]
        for msg in self.future.pop(self.hs.height, []):
            self._dispatch(msg)
        self.notify()

    @property
    def is_validator(self) -> bool:
        return self.hs.is_validator

    # the proposer's loop --------------------------------------------------------------------------
    def _has_work(self) -> bool:
        return self.config.empty_blocks or self._trailing_due or self.service.pool.has_pending()

    def _activate(self) -> None:
        """Something must be decided at this height: start the round-0 timer (once)."""
        if self._active or self.hs.decided is not None:
            return
        self._active = True
        wait = max(0.0, self._period_from + self.config.block_period - time.monotonic())
        self._start_timer(self.hs.round, extra=wait)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            hs = self.hs
            if hs.decided is not None or not hs.is_validator or not self._has_work():
                continue
            self._activate()
            if hs.round != 0 or 0 in hs.proposed or not self.consensus.is_local_proposer(self.chain.head, 0):
                continue
            # saturated (a full block waiting): build during the block period instead of after it
            build_first = len(self.service.pool) >= self.block_tx_limit() or self._ahead is not None
            if not build_first:
                delay = self._period_from + self.config.block_period - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            if self.hs is not hs:
                self.notify()
                continue
            request = hs.propose_round0()
            if request is not None:
                try:
                    await self._propose(hs, request, not_before=self._period_from + self.config.block_period)
                except Exception:  # building failed: let the round time out, another proposer takes over
                    logger.exception("building a proposal failed")

    async def _propose(self, hs: HeightState, request: ProposeRequest, not_before: float = 0.0) -> None:
        key = self.consensus.key
        assert key is not None
        block = request.block
        if block is None:
            block = await self._build(request.round)
            if block is None or self.hs is not hs:
                return
        delay = not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
            if self.hs is not hs:
                return
        proposal = Proposal(hs.height, request.round, block, request.round_changes, request.prepares).signed(key)
        self._save_vote_state(hs)
        logger.info(
            "height %d round %d: proposing %d txs (0x%s)",
            hs.height,
            request.round,
            len(block.transactions),
            block.digest.hex()[:12],
        )
        if self.faults.equivocate and self.peers is not None:
            other = await self._build(request.round, skew=1)
            if other is not None:
                twin = Proposal(hs.height, request.round, other, request.round_changes, request.prepares).signed(key)
                peers = sorted(self.peers.connected(), key=lambda p: p.pubkey)
                half = len(peers) // 2
                logger.warning("TEST FAULT: equivocating at height %d round %d", hs.height, request.round)
                self._send_to(peers[:half], proposal)
                self._send_to(peers[half:], twin)
        else:
            self._broadcast(proposal)
        if self._proposal_seen is None:
            self._proposal_seen = time.monotonic()
        self._apply(hs, hs.on_proposal(proposal))

    async def _build(self, round_number: int, skew: int = 0) -> Block | None:
        key = self.consensus.key
        assert key is not None
        if round_number == 0 and not skew:
            ahead = await self._take_ahead()
            if ahead is not None:
                block = Block(ahead.built.header, tuple(ahead.built.transactions))
                self.candidates[block.digest] = ahead
                return block
        head = self.chain.head
        txs = self.service.pool.pending_for_block()[: self.block_tx_limit()]
        if skew:
            txs = txs[: len(txs) // 2]
        extra = self.consensus.proposal_extra_data(head, round_number)
        coinbase = bytes(key.public_key.to_canonical_address())
        started = time.monotonic()
        candidate = await asyncio.to_thread(self.chain.build_candidate, txs, int(time.time()) + skew, coinbase, extra)
        self._observe_execution(time.monotonic() - started, len(txs))
        if candidate.parent_hash != self.chain.head.hash:
            candidate.db.discard()
            return None
        if candidate.built.dropped:
            dropped = [tx for tx, _ in candidate.built.dropped]
            for tx, reason in candidate.built.dropped:
                logger.info("dropped tx 0x%s: %s", tx.hash.hex(), reason)
            self.service.pool.on_block([], dropped)
        block = Block(candidate.built.header, tuple(candidate.built.transactions))
        self.candidates[block.digest] = candidate
        return block

    # building ahead -------------------------------------------------------------------------------
    def _build_ahead(self, hs: HeightState, candidate: Candidate) -> None:
        """Under saturation, the proposer of the next height builds its block on the one it just validated, while
        the other validators still validate and vote: the build is off the critical path (otherwise every block
        waits for one node executing alone, the other cores idle). It is proposed only if the validated block is
        the one decided and the next proposal would carry the same extra-data (see :meth:`_take_ahead`); the other
        validators verify it as any proposal, on the committed parent."""
        key = self.consensus.key
        if key is None or self._ahead is not None or self.faults.equivocate:
            return
        header = candidate.built.header
        if qbft_extra.decode(header.extra_data).vote is not None or self.consensus.pending_votes.votes:
            return  # a vote may change the validator set, hence the next proposer and its extra-data
        validators = self.consensus.validators_after(self.chain.head)
        if proposer_for(validators, hs.height + 1, 0) != self.consensus.local_address:
            return
        included = {bytes(tx.hash) for tx in candidate.built.transactions}
        limit = self.block_tx_limit()
        txs = [tx for tx in self.service.pool.pending_for_block() if bytes(tx.hash) not in included][:limit]
        if len(txs) < limit:
            return  # not a full block waiting: build at the next height, so transactions arriving meanwhile get in
        extra = QbftExtraData(validators=validators, round=0).encode()
        coinbase = bytes(key.public_key.to_canonical_address())
        task = asyncio.create_task(self._build_on(candidate, txs, extra, coinbase), name="qbft-build-ahead")
        self._ahead = (bytes(header.hash), task)

    async def _build_on(
        self, parent: Candidate, txs: list[SignedTransactionAPI], extra: bytes, coinbase: bytes
    ) -> Candidate:
        started = time.monotonic()
        candidate = await asyncio.to_thread(
            self.chain.build_candidate_on, parent, txs, int(time.time()), coinbase, extra
        )
        self._observe_execution(time.monotonic() - started, len(txs))
        return candidate

    async def _take_ahead(self) -> Candidate | None:
        """The block built ahead, if it extends the head and carries what a proposal built now would carry."""
        if self._ahead is None:
            return None
        _, task = self._ahead
        self._ahead = None
        try:
            candidate = await task
        except Exception:  # build afresh
            logger.exception("building ahead failed")
            return None
        head = self.chain.head
        expected_extra = self.consensus.proposal_extra_data(head, 0)
        if candidate.parent_hash != head.hash or candidate.built.header.extra_data != expected_extra:
            candidate.db.discard()
            return None
        return candidate

    def _drop_ahead(self) -> None:
        assert self._ahead is not None
        _, task = self._ahead
        self._ahead = None

        def discard(done: asyncio.Task[Candidate]) -> None:
            if not done.cancelled() and done.exception() is None:
                done.result().db.discard()

        task.add_done_callback(discard)

    def _next_proposer_is_local(self, hs: HeightState) -> bool:
        """Whether this node proposes the height after ``hs`` in round 0 (unless this height changes the set)."""
        validators = self.consensus.validators_after(self.chain.head)
        return proposer_for(validators, hs.height + 1, 0) == self.consensus.local_address

    def block_tx_limit(self) -> int:
        """How many transactions this node proposes at most (see :func:`block_tx_limit`)."""
        return block_tx_limit(self.config, self._seconds_per_tx, self._last_block_txs)

    def _observe_execution(self, seconds: float, count: int) -> None:
        """Track the wall time per executed transaction (a moving average over builds and validations) and the
        size of the last block it was measured on (the growth bound of :func:`block_tx_limit` is relative to that
        size: an empty trailing block or a handful of transactions says nothing about what the cores can take)."""
        if count < MIN_MEASURED_TXS:
            return  # fixed per-block costs dominate small blocks
        self._last_block_txs = count
        sample = seconds / count
        previous = self._seconds_per_tx
        self._seconds_per_tx = sample if previous <= 0 else 0.7 * previous + 0.3 * sample

    # outcomes -------------------------------------------------------------------------------------
    def _apply(self, hs: HeightState, out: Outcome) -> None:
        if hs is not self.hs:
            return
        for fault in out.faults:
            self.metrics.fault_count += 1
            self.metrics.faults.append(fault)
            logger.warning("QBFT fault detected at height %d: %s", hs.height, fault)
        if out.send:
            self._save_vote_state(hs)  # write-ahead: what we are about to sign survives a crash
        for msg in out.send:
            self._send_vote(msg)
        if out.timer is not None:
            if out.timer > 0:
                self.metrics.rounds_changed += 1
            self._active = True
            self._start_timer(out.timer)
        if out.validate is not None:
            self._spawn(self._validate(hs, out.validate), "qbft-validate")
        if out.propose is not None:
            self._spawn(self._propose_safely(hs, out.propose), "qbft-propose-round")
        if out.decision is not None:
            self._spawn(self._decide(hs, out.decision), "qbft-decide")

    async def _propose_safely(self, hs: HeightState, request: ProposeRequest) -> None:
        try:
            await self._propose(hs, request)
        except Exception:  # the round will time out
            logger.exception("proposing in round %d failed", request.round)

    def _start_timer(self, round_number: int, extra: float = 0.0) -> None:
        if self._timer is not None:
            self._timer.cancel()
        hs = self.hs
        delay = extra + round_timeout(self.config.round_timeout, round_number)
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer, hs, round_number)

    def _on_timer(self, hs: HeightState, round_number: int) -> None:
        if hs is self.hs:
            self._apply(hs, hs.on_timeout(round_number))

    async def _validate(self, hs: HeightState, proposal: Proposal) -> None:
        in_flight = self._validating.get(proposal.digest)
        if in_flight is not None:  # the same block again (a later round re-proposes it): one execution
            await asyncio.shield(in_flight)
        if proposal.digest in self.candidates:
            self._apply(hs, hs.proposal_validated(proposal, True))
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._validating[proposal.digest] = done
        try:
            await self._validate_once(hs, proposal)
        finally:
            if self._validating.get(proposal.digest) is done:
                del self._validating[proposal.digest]
            done.set_result(None)
        if self.hs.decided is None:
            self._maybe_sync()  # a sync deferred while this proposal was executing (see _maybe_sync)

    async def _validate_once(self, hs: HeightState, proposal: Proposal) -> None:
        valid = False
        header = proposal.block.header
        try:
            extra = qbft_extra.decode(header.extra_data)
            if extra.round > proposal.round:
                raise InvalidBlock("block round is after the proposal round")
            if extra.round == proposal.round and bytes(header.coinbase) != proposal.author:
                raise InvalidBlock("block coinbase is not its proposer")
            # decoded through the node's transaction cache: senders already recovered (pool, gossip) are reused
            txs = list(proposal.block.transactions)
            started = time.monotonic()
            # only the next proposer's execution is on the critical path (it builds the next block on this one)
            critical = self._next_proposer_is_local(hs)
            candidate = await self.executions.run(critical, self.chain.validate_candidate, header, txs)
            self._observe_execution(time.monotonic() - started, len(txs))
            if hs is not self.hs:
                candidate.db.discard()
                return
            self.candidates[proposal.digest] = candidate
            valid = True
            self._build_ahead(hs, candidate)
        except (InvalidBlock, NodeError) as exc:
            if hs is not self.hs:
                return
            logger.warning("height %d: refusing the proposal of 0x%s: %s", hs.height, proposal.author.hex(), exc)
        self._apply(hs, hs.proposal_validated(proposal, valid))

    async def _decide(self, hs: HeightState, decision: Decision) -> None:
        validating = self._validating.get(decision.block.digest)
        if validating is not None:
            # the others' COMMIT quorum came in while this node still executes the block (the slowest validator):
            # wait for that execution and commit its result instead of executing the block a second time
            await asyncio.shield(validating)
        async with self._chain_lock:
            if hs is not self.hs or self.chain.head.block_number + 1 != hs.height:
                return
            candidate = self.candidates.get(decision.block.digest)
            try:
                if candidate is not None:
                    built = await asyncio.to_thread(self.chain.commit_candidate, candidate, decision.seals)
                else:
                    sealed = with_seals(decision.block.header, decision.seals)
                    built = await asyncio.to_thread(self.chain.import_block, sealed, list(decision.block.transactions))
            except (InvalidBlock, NodeError) as exc:
                logger.warning("height %d: committing the decided block failed: %s", hs.height, exc)
                return
            self.metrics.blocks_committed += 1
            logger.info(
                "block %d committed in round %d: %d txs, %d seals",
                hs.height,
                decision.round,
                len(built.transactions),
                len(decision.seals),
            )
            self._after_block(built)

    def _after_block(self, built: BuiltBlock) -> None:
        self.service.pool.on_block(built.transactions, [])
        self.service._on_block(built)
        self._period_from = time.monotonic() if self._proposal_seen is None else self._proposal_seen
        self._trailing_due = self.config.trailing_block and bool(built.transactions)
        for listener in self.on_new_block:
            listener(built)
        if self.peers is not None:
            validators = set(self.consensus.validators_after(built.header))
            followers = [p for p in self.peers.connected() if p.address not in validators]
            if followers:
                payload = encode_blocks([(built.header, built.transactions)])
                for peer in followers:
                    peer.send(NEW_BLOCK, payload)
            self.peers.broadcast(STATUS, self._status())
        self._new_height()

    # crash recovery -------------------------------------------------------------------------------
    def _save_vote_state(self, hs: HeightState) -> None:
        prepared = hs.prepared
        record: list[Any] = [hs.height, hs.voted_round()]
        if prepared is not None:
            record += [prepared.round, prepared.block.encode(), [p.to_rlp() for p in prepared.prepares]]
        self.chain.store.set_meta(VOTE_STATE_KEY, bytes(rlp.encode(record)))

    def _restore_vote_state(self) -> None:
        raw = self.chain.store.get_meta(VOTE_STATE_KEY)
        if not raw or not self.hs.is_validator:
            return
        try:
            items = rlp.decode(raw)
            height, voted_round = (big_endian_int.deserialize(x) if x else 0 for x in items[:2])
            prepared = None
            if len(items) == 5:
                prepared = Prepared(
                    big_endian_int.deserialize(items[2]) if items[2] else 0,
                    Block.decode(items[3]),
                    tuple(Prepare.from_rlp(p) for p in items[4]),
                )
        except Exception:  # an unreadable record: start afresh, as before this record existed
            logger.exception("cannot read the saved QBFT vote state")
            return
        if height != self.hs.height:
            return
        logger.info(
            "resuming height %d after round %d%s",
            height,
            voted_round,
            f" with a block prepared in round {prepared.round}" if prepared else "",
        )
        self._apply(self.hs, self.hs.restore(voted_round, prepared))

    # sending --------------------------------------------------------------------------------------
    def _broadcast(self, msg: Message) -> None:
        if isinstance(msg, RoundChange):
            self._last_round_change = msg
        if self.peers is None or self.faults.silent:
            return
        code, payload = encode_message(msg)
        self._first_sight(bytes([code]) + payload)
        self.peers.broadcast(code, payload)

    def _send_to(self, peers: list[Peer], msg: Message) -> None:
        code, payload = encode_message(msg)
        self._first_sight(bytes([code]) + payload)
        for peer in peers:
            peer.send(code, payload)

    def _send_vote(self, msg: Message) -> None:
        key = self.consensus.key
        if (
            self.faults.conflicting_votes
            and self.peers is not None
            and key is not None
            and isinstance(msg, Prepare | Commit)
        ):
            fake = bytes(32 - len(msg.author[:1])) + msg.author[:1]
            other: Message
            if isinstance(msg, Prepare):
                other = Prepare(msg.height, msg.round, fake).signed(key)
            else:
                other = Commit(msg.height, msg.round, fake, make_seal(key, fake)).signed(key)
            peers = sorted(self.peers.connected(), key=lambda p: p.pubkey)
            half = len(peers) // 2
            logger.warning("TEST FAULT: conflicting %s at height %d", type(msg).__name__, msg.height)
            self._send_to(peers[:half], msg)
            self._send_to(peers[half:], other)
            return
        self._broadcast(msg)

    # receiving ------------------------------------------------------------------------------------
    def _first_sight(self, payload: bytes) -> bool:
        digest = keccak(payload)
        if digest in self._seen:
            return False
        self._seen.add(digest)
        self._seen_order.append(digest)
        while len(self._seen_order) > SEEN_LIMIT:
            self._seen.discard(self._seen_order.popleft())
        return True

    async def handle(self, peer: Peer, code: int, payload: bytes) -> None:
        if code in CONSENSUS_CODES:
            if not self._first_sight(bytes([code]) + payload):  # keyed by code too: a payload sent under another
                return  # code first must not make this node ignore the real message
            try:
                msg = decode_message(code, payload)
            except BadMessage as exc:
                self._gossip_fault(peer, f"undecodable consensus message 0x{code:02x}: {exc}")
                return
            hs = self.hs
            view = GossipWindow(hs.height, hs.round, hs.validators, hs.proposer_of)
            problem = gossip_problem(msg, view)
            if problem is not None:
                self._gossip_fault(peer, problem)
                return
            # gossip (only what passed the checks): every validator sees every message, so an equivocator's two
            # versions meet somewhere
            if self.peers is not None and in_window(msg, view):
                self.peers.broadcast(code, payload, only=lambda p: p is not peer)
            if msg.height > self.hs.height:
                if msg.height <= self.hs.height + FUTURE_HEIGHTS:
                    bucket = self.future.setdefault(msg.height, [])
                    if len(bucket) < FUTURE_PER_HEIGHT:
                        bucket.append(msg)
                peer.head_number = max(peer.head_number, msg.height - 1)
                if not (self.hs.decided is not None and msg.height == self.hs.height + 1):
                    self._maybe_sync()  # (not while our own decided block is being written: it is the one asked for)
                return
            if msg.height == self.hs.height:
                self._dispatch(msg)
        elif code == STATUS:
            number, _hash = rlp.decode(payload)
            peer.head_number = big_endian_int.deserialize(number) if number else 0
            self._maybe_sync()
        elif code == TXS:
            self._receive_txs(decode_bytes_list(payload))
        elif code == GET_BLOCKS:
            start_raw, count_raw = rlp.decode(payload)
            start = big_endian_int.deserialize(start_raw) if start_raw else 0
            count = min(big_endian_int.deserialize(count_raw) if count_raw else 0, SYNC_BATCH)
            peer.send(BLOCKS, await asyncio.to_thread(self._read_blocks, start, count))
        elif code == BLOCKS:
            if self._sync_waiter is not None and not self._sync_waiter.done():
                self._sync_waiter.set_result(payload)
        elif code == NEW_BLOCK:
            blocks = decode_blocks(payload)
            if blocks:
                header = blocks[0][0]
                peer.head_number = max(peer.head_number, header.block_number)
                if header.block_number == self.chain.head.block_number + 1:
                    await self._import(blocks[0][0], blocks[0][1], peer)
                else:
                    self._maybe_sync()

    def _gossip_fault(self, peer: Peer, problem: str) -> None:
        """A consensus message that is neither forwarded nor counted: recorded as its sender's fault."""
        self.metrics.fault_count += 1
        self.metrics.faults.append(f"not forwarded from {peer}: {problem}")
        logger.warning("consensus message from %s not forwarded: %s", peer, problem)

    def _dispatch(self, msg: Message) -> None:
        hs = self.hs
        if isinstance(msg, Proposal):
            out = hs.on_proposal(msg)
            if out.validate is not None and self._proposal_seen is None:
                self._proposal_seen = time.monotonic()
        elif isinstance(msg, Prepare):
            out = hs.on_prepare(msg)
        elif isinstance(msg, Commit):
            out = hs.on_commit(msg)
        else:
            out = hs.on_round_change(msg)
        if hs.is_validator and hs.decided is None:
            self._activate()
        self._apply(hs, out)

    def _receive_txs(self, raws: list[bytes]) -> None:
        """Queue gossiped transactions for admission: the peer's next frames (its PROPOSAL, votes) are read at once
        instead of waiting behind a batch of signature recoveries."""
        room = TX_INBOX_LIMIT - len(self._tx_inbox)
        if room < len(raws):
            logger.warning("transaction inbox full: %d gossiped transactions dropped", len(raws) - max(room, 0))
        self._tx_inbox.extend(raws[: max(room, 0)])
        self._tx_wake.set()

    async def _admit_txs(self) -> None:
        """Admit queued gossiped transactions in small slices, yielding between them, so that consensus messages
        on the same event loop never queue behind a burst of admissions."""
        pool = self.service.pool
        while True:
            await self._tx_wake.wait()
            self._tx_wake.clear()
            added = 0
            while self._tx_inbox:
                for _ in range(min(TX_ADMIT_SLICE, len(self._tx_inbox))):
                    try:
                        tx = decode_raw_transaction(self._tx_inbox.popleft())
                        if pool.get(tx.hash) is not None or pool.known_included(tx):
                            continue  # already pooled, or a proposal carried it into a block meanwhile
                        sender = pool.validate(tx)
                        pool.add(tx, sender)
                        added += 1
                    except Exception as exc:  # refused by our pool (already included, nonce, permissioning)
                        logger.debug("gossiped tx refused: %s", exc)
                await asyncio.sleep(0)
            if added:
                self.notify()

    # transactions ---------------------------------------------------------------------------------
    def on_local_tx(self, tx: SignedTransactionAPI) -> None:
        """A transaction submitted over RPC here: forward it to the peers (the proposer may be elsewhere)."""
        self._tx_outbox.append(tx.encode())
        self.notify()

    async def _flush_txs(self) -> None:
        while True:
            await asyncio.sleep(TX_FLUSH_SECONDS)
            if self._tx_outbox and self.peers is not None:
                batch, self._tx_outbox = self._tx_outbox, []
                self.peers.broadcast(TXS, encode_bytes_list(batch))

    # sync -----------------------------------------------------------------------------------------
    def _status(self) -> bytes:
        head = self.chain.head
        return bytes(rlp.encode([head.block_number, head.hash]))

    def on_peer_connected(self, peer: Peer) -> None:
        peer.send(STATUS, self._status())
        self._repeat_round_change(peer)
        pending = self.service.pool.pending_for_block()
        if pending:
            peer.send(TXS, encode_bytes_list([tx.encode() for tx in pending]))

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_INTERVAL)
            if self.peers is not None:
                self.peers.broadcast(STATUS, self._status())
                self._repeat_round_change(None)

    def _repeat_round_change(self, peer: Peer | None) -> None:
        """Re-send our ROUND_CHANGE of this height: a validator that (re)joins late learns the round at once
        (f + 1 of them pull it forward) instead of timing out through every earlier round."""
        rc = self._last_round_change
        if rc is None or rc.height != self.hs.height or self.peers is None or self.faults.silent:
            return
        code, payload = encode_message(rc)
        if peer is None:
            self.peers.broadcast(code, payload)
        else:
            peer.send(code, payload)

    def _maybe_sync(self) -> None:
        if self._sync_task is not None and not self._sync_task.done():
            return
        if self.peers is None:
            return
        head = self.chain.head.block_number
        ahead = [p.head_number for p in self.peers.connected() if p.head_number > head]
        if not ahead:
            return
        if max(ahead) == head + 1 and any(digest in self.hs.blocks for digest in self._validating):
            # the peers are one block ahead: most likely the very block this node is executing as a proposal, whose
            # COMMITs are on their way; fetching it now would only make a peer read and send what we are already
            # checking (:meth:`_validate` looks again once the execution is done and the height still undecided)
            return
        self._sync_task = asyncio.create_task(self._sync(), name="qbft-sync")

    async def _sync(self) -> None:
        assert self.peers is not None
        failures = 0
        while failures < 3:
            ahead = [p for p in self.peers.connected() if p.head_number > self.chain.head.block_number]
            if not ahead:
                return
            peer = max(ahead, key=lambda p: p.head_number)
            start = self.chain.head.block_number + 1
            count = min(SYNC_BATCH, peer.head_number - start + 1)
            self._sync_waiter = asyncio.get_running_loop().create_future()
            peer.send(GET_BLOCKS, bytes(rlp.encode([start, count])))
            try:
                payload = await asyncio.wait_for(self._sync_waiter, SYNC_TIMEOUT)
                blocks = decode_blocks(payload)
            except (TimeoutError, BadMessage):
                failures += 1
                peer.head_number = self.chain.head.block_number  # ask someone else next
                continue
            if not blocks:
                peer.head_number = self.chain.head.block_number
                failures += 1
                continue
            for header, txs in blocks:
                if header.block_number <= self.chain.head.block_number:
                    continue
                if not await self._import(header, txs, peer):
                    failures += 1
                    break
            logger.info("synced to block %d from %s", self.chain.head.block_number, peer)

    async def _import(self, header: QbftHeader, txs: list[SignedTransactionAPI], peer: Peer) -> bool:
        validating = self._validating.get(bytes(header.hash))
        if validating is not None:
            # this very block is being executed as a proposal (the others reached their COMMIT quorum first and
            # moved on, so a sync fetched it): wait and reuse that execution instead of executing it again
            await asyncio.shield(validating)
        async with self._chain_lock:
            if header.block_number != self.chain.head.block_number + 1:
                return header.block_number <= self.chain.head.block_number
            # a block this node already executed and checked as a proposal (it fell behind the others' COMMIT
            # quorum): only the seals are left to verify, the execution and its roots are reused
            candidate = self.candidates.get(bytes(header.hash))
            try:
                if candidate is not None and candidate.parent_hash == self.chain.head.hash:
                    seals = qbft_extra.decode(header.extra_data).seals
                    built = await asyncio.to_thread(self.chain.commit_candidate, candidate, seals)
                else:
                    built = await asyncio.to_thread(self.chain.import_block, header, txs)
            except (InvalidBlock, NodeError) as exc:
                self.metrics.fault_count += 1
                self.metrics.faults.append(f"block {header.block_number} from {peer} refused: {exc}")
                logger.warning("refused block %d from %s: %s", header.block_number, peer, exc)
                return False
            self.metrics.blocks_imported += 1
            logger.info("imported block %d (%d txs) from %s", header.block_number, len(built.transactions), peer)
            self._after_block(built)
            return True

    def _read_blocks(self, start: int, count: int) -> bytes:
        blocks = []
        for number in range(start, start + count):
            record = self.chain.store.block(number)
            if record is None:
                break
            blocks.append((record.header, record.transactions))
        return encode_blocks(blocks)


def block_tx_limit(config: EngineConfig, seconds_per_tx: float, last_block_txs: int = -1) -> int:
    """Executing a proposal should take at most ``execution_share`` of the round timeout at the lately measured
    speed (the validators execute it after the proposer, all within round 0): within [MIN_BLOCK_TXS,
    max_block_txs], ``first_block_txs`` before anything was measured. A block is also at most GROWTH times the
    last one measured (``last_block_txs``, at least MIN_MEASURED_TXS): a speed measured on small blocks at light load
    does not hold for a block ten times larger under saturation (more work on the same cores), so the size ramps up
    and the measurements follow it."""
    if seconds_per_tx <= 0:
        limit = min(config.first_block_txs, config.max_block_txs)
    else:
        fit = int(config.round_timeout * config.execution_share / seconds_per_tx)
        limit = max(MIN_BLOCK_TXS, min(fit, config.max_block_txs))
    if last_block_txs >= 0:
        limit = min(limit, max(MIN_BLOCK_TXS, GROWTH * last_block_txs))
    return limit


def with_seals(header: QbftHeader, seals: tuple[bytes, ...]) -> QbftHeader:
    extra = qbft_extra.decode(header.extra_data)
    return copy_header(
        header,
        extra_data=QbftExtraData(
            validators=extra.validators,
            vanity=extra.vanity,
            vote=extra.vote,
            round=extra.round,
            seals=seals,
        ).encode(),
    )
