"""The relayer: sends every settlement step as a signed transaction and tracks it until final.

Nonces. For each sending account the next nonce lives in ``sender_nonces``. A step gets its nonce and its signed
raw transaction in one committed database transaction *before* it is broadcast, so:

- concurrent allocation cannot hand out a nonce twice (compare-and-swap on the row, and one lock per process);
- after a restart the signed raw transaction is still there and is broadcast again: the same bytes have the same
  hash, so a transaction the node already has is not doubled, and one it lost (dropped from the pool) is resent;
- a nonce is never skipped: a transaction the node refuses outright gives its nonce back when no later one was
  taken, and is otherwise replaced by a zero-value filler transaction with the same nonce.

Reverts. A step is sent without a dry run first: an ``eth_call`` of every step doubled the node's work per
settlement (an ``open`` is its costliest execution), to guard against what is rare, because a party's steps are
already refused at request time when the engine would refuse them (``step-would-revert``). A step that reverts in
its block still uses its nonce (no gap follows); the settlement fails with the revert's reason, read from the
node's trace of that very transaction (geth's ``callTracer``, which our node and Anvil serve). Every step
carries the configured ``gas_limit``: the largest step (``open``) uses a third of the default, and an estimate
would cost the node three or four executions of the step. A step is final once its block is
``finality_confirmations`` deep (QBFT and Anvil blocks are final when sealed: 0). Receipts are looked for when a new
block arrives (or a second has passed), not on every tick.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eth_account.datastructures import SignedTransaction
from eth_account.signers.local import LocalAccount
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from web3 import Web3
from web3.exceptions import TransactionNotFound

from gateway.chain.outage import Backoff, is_outage, node_words
from gateway.custody import door
from gateway.exceptions import GatewayError, UnknownSender
from gateway.keys.provider import KeyProvider
from gateway.settlement.market import Market
from gateway.settlement.models import ChainStep, SenderNonce, Settlement, SettlementStatus, StepStatus

logger = logging.getLogger(__name__)

Hook = Callable[[Session, Settlement, list[ChainStep], Market], None]
KNOWN = ("already known", "known transaction", "already imported", "alreadyknown")
GAS_PRICE_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class StepSpec:
    """One transaction to send: ``sender_wallet_id`` None sends from the relayer's operator account; a custodial
    wallet's step carries the member's consent (``consent_id``), without which the custody door will not sign."""

    label: str
    to: str
    data: str
    sender: str
    sender_wallet_id: uuid.UUID | None = None
    consent_id: uuid.UUID | None = None


def enqueue(
    session: Session,
    *,
    kind: str,
    requested_by: str,
    steps: list[StepSpec],
    organization_id: uuid.UUID | None = None,
    trade_id: uuid.UUID | None = None,
    repo_id: int | None = None,
) -> Settlement:
    """Record a settlement and its steps in the caller's transaction (the caller commits)."""
    settlement = Settlement(
        id=uuid.uuid4(),
        kind=kind,
        organization_id=organization_id,
        requested_by=requested_by,
        trade_id=trade_id,
        repo_id=repo_id,
    )
    session.add(settlement)
    session.flush()  # the steps reference it (no ORM relationship orders the inserts)
    for seq, spec in enumerate(steps):
        session.add(
            ChainStep(
                settlement_id=settlement.id,
                seq=seq,
                label=spec.label,
                sender=Web3.to_checksum_address(spec.sender),
                sender_wallet_id=spec.sender_wallet_id,
                consent_id=spec.consent_id,
                to=Web3.to_checksum_address(spec.to),
                data=spec.data,
            )
        )
    return settlement


class Relayer:
    """Advances pending settlements; safe to stop at any point and start again."""

    def __init__(
        self,
        market: Market,
        sessions: sessionmaker[Session],
        keys: KeyProvider,
        *,
        hooks: dict[str, Hook] | None = None,
        failure_hooks: dict[str, Hook] | None = None,
        read_sessions: sessionmaker[Session] | None = None,
    ) -> None:
        self.market = market
        self.w3 = market.w3
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions  # the idle poll need not take SQLite's write lock
        self.keys = keys
        self.hooks = hooks or {}
        self.failure_hooks = failure_hooks or {}
        self.wake = threading.Event()
        self._nonce_lock = threading.Lock()
        self._broadcast_hook: Callable[[bytes], None] | None = None  # tests: simulate a crash after signing
        self.finished: dict[uuid.UUID, str] = {}  # settlements this process saw end (for waiting clients)
        self._head = 0  # the chain's latest block, read once per tick
        self._looked: dict[uuid.UUID, tuple[int, float]] = {}  # step id -> (head, monotonic time) of its last look
        self._gas_price: tuple[int, float] | None = None
        self._receipts: dict[uuid.UUID, Any] = {}  # step id -> receipt (or None) fetched this tick
        self._pending: dict[str, int] = {}  # sender -> the node's pending count read this tick
        self._pool = ThreadPoolExecutor(max_workers=market.settings.relayer_workers, thread_name_prefix="relayer")

    # ------------------------------------------------------------------ loop
    def run(self, stop: threading.Event) -> None:
        """Tick until ``stop``. While the node is out of reach nothing fails: the tick is tried again with backoff
        (and ``reponet_chain_unreachable`` says so)."""
        backoff = Backoff()
        while not stop.is_set():
            try:
                progressed = self.run_once()
                if backoff.reset():
                    logger.warning("relayer: the node answers again; settlements resume")
            except Exception as exc:
                if not is_outage(exc):
                    logger.exception("relayer tick failed; retrying")
                elif backoff.current == 0.0:
                    logger.warning("relayer: the node is out of reach (%s); retrying with backoff", exc)
                if is_outage(exc):
                    stop.wait(backoff.next())
                progressed = 0
            if not progressed:
                self.wake.wait(self.market.settings.relayer_poll_seconds)
                self.wake.clear()

    def run_once(self) -> int:
        with self.read_sessions() as session:
            ids = list(
                session.scalars(
                    select(Settlement.id)
                    .where(Settlement.status == SettlementStatus.PENDING.value)
                    .order_by(Settlement.created_at)
                )
            )
        if not ids:
            return 0  # idle: not even a block number
        self._head = int(self.w3.eth.block_number)
        progressed = 0
        for settlement_id in self._survey(ids):  # in order: a sender's nonces go in the order steps were asked
            progressed += self._advance(settlement_id)
        return progressed

    def _survey(self, ids: list[uuid.UUID]) -> list[uuid.UUID]:
        """Ask the node, side by side, what this tick will need: the receipts now due and the pending transaction
        count of each sender about to send. Nonces are then given out one by one, in order.

        Returns only the settlements with something to do this tick: a step to send, a receipt to judge, a failure
        to record or all steps final. One whose transaction waits for its block is left alone: advancing it would
        only open a write transaction (SQLite's write lock) to find that nothing changed."""
        self._receipts.clear()  # what an earlier tick found is stale now
        self._pending.clear()
        with self.read_sessions() as session:
            rows = session.scalars(
                select(ChainStep)
                .where(ChainStep.settlement_id.in_(ids), ChainStep.status != StepStatus.FINAL.value)
                .order_by(ChainStep.settlement_id, ChainStep.seq)
            ).all()
            nexts: dict[uuid.UUID, ChainStep] = {}
            for row in rows:
                nexts.setdefault(row.settlement_id, row)
            session.expunge_all()
        queued = [row for row in nexts.values() if row.status == StepStatus.QUEUED.value]
        waiting = [
            row
            for row in nexts.values()
            if row.status in (StepStatus.SENT.value, StepStatus.MINED.value) and row.tx_hash and self._due(row)
        ]
        senders = sorted({row.sender for row in queued})

        def receipt(row: ChainStep) -> None:
            assert row.tx_hash is not None
            self._receipts[row.id] = self.market.fetch_receipt(row.tx_hash)

        def pending(sender: str) -> None:
            self._pending[sender] = self._pending_count(sender)

        jobs = [self._pool.submit(receipt, row) for row in waiting]
        jobs += [self._pool.submit(pending, sender) for sender in senders]
        wait(jobs)  # none may write into the next tick's findings
        for job in jobs:
            job.result()  # a transport error ends the tick (the next one retries)
        actionable = (StepStatus.QUEUED.value, StepStatus.REVERTED.value, StepStatus.FAILED.value)
        return [
            settlement_id
            for settlement_id in ids
            if (step := nexts.get(settlement_id)) is None or step.status in actionable or step.id in self._receipts
        ]

    def run_until_settled(self, settlement_id: uuid.UUID, *, timeout: float = 60.0) -> Settlement:
        """Drive one settlement to an end (tests, CLI)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.run_once()
            with self.sessions() as session:
                settlement = session.get(Settlement, settlement_id)
                assert settlement is not None
                if settlement.status != SettlementStatus.PENDING.value:
                    session.expunge(settlement)
                    return settlement
            time.sleep(self.market.settings.relayer_poll_seconds)
        raise TimeoutError(f"settlement {settlement_id} not settled in {timeout}s")

    # ------------------------------------------------------------------ one settlement
    def _advance(self, settlement_id: uuid.UUID) -> int:
        progressed = 0
        with self.sessions() as session:
            settlement = session.get(Settlement, settlement_id)
            if settlement is None or settlement.status != SettlementStatus.PENDING.value:
                return 0
            steps = list(
                session.scalars(
                    select(ChainStep).where(ChainStep.settlement_id == settlement_id).order_by(ChainStep.seq)
                )
            )
            session.commit()  # end the read: no database lock is held across JSON-RPC calls (SQLite)
            for step in steps:
                if step.status == StepStatus.FINAL.value:
                    continue
                if step.status in (StepStatus.REVERTED.value, StepStatus.FAILED.value):
                    self._fail(session, settlement, steps, f"{step.label}: {step.error or step.status}")
                    return 1
                if step.status == StepStatus.QUEUED.value:
                    return self._send(session, settlement, steps, step)
                before = step.status
                self._check(session, step)
                if step.status not in (StepStatus.SENT.value, StepStatus.MINED.value):
                    self._looked.pop(step.id, None)
                progressed += int(step.status != before)
                if step.status != StepStatus.FINAL.value:
                    if step.status in (StepStatus.REVERTED.value, StepStatus.FAILED.value):
                        self._fail(session, settlement, steps, f"{step.label}: {step.error or step.status}")
                    session.commit()
                    return progressed
            for done in steps:  # the hooks read receipts: have them before the transaction below opens
                if done.tx_hash is not None:
                    self.market.receipt(done.tx_hash)
            settlement.status = SettlementStatus.FINAL.value
            settlement.finished_at = _now()
            hook = self.hooks.get(settlement.kind)
            if hook is not None:
                hook(session, settlement, steps, self.market)
            session.commit()
            self.finished[settlement.id] = settlement.status
            logger.info("settlement %s (%s) final", settlement.id, settlement.kind)
            return progressed + 1

    def _fail(self, session: Session, settlement: Settlement, steps: list[ChainStep], error: str) -> None:
        settlement.status = SettlementStatus.FAILED.value
        settlement.error = error[:2000]
        settlement.finished_at = _now()
        for step in steps:
            if step.status == StepStatus.QUEUED.value:
                step.status = StepStatus.FAILED.value
                step.error = "an earlier step failed"
        hook = self.failure_hooks.get(settlement.kind)
        if hook is not None:
            hook(session, settlement, steps, self.market)
        session.commit()
        self.finished[settlement.id] = settlement.status
        logger.warning("settlement %s (%s) failed: %s", settlement.id, settlement.kind, error)

    def _own_account(self, step: ChainStep) -> LocalAccount:
        """The gateway's account for ``step.sender`` (relayer, issuer, feeder): each sends with its own nonces."""
        account = self.market.signer(step.sender)
        if account is None:
            raise UnknownSender(f"{step.sender} is neither a custodial wallet nor one of the gateway's accounts")
        return account

    def _sign(self, session: Session, step: ChainStep, tx: dict[str, Any]) -> SignedTransaction:
        """The gateway's own accounts sign their steps; a member's wallet's only through the custody door."""
        if step.sender_wallet_id is None:
            signed: SignedTransaction = self._own_account(step).sign_transaction(tx)
            return signed
        return door.sign_step(
            self.keys, session, step=step, nonce=tx["nonce"], gas_price=tx["gasPrice"], chain_id=tx["chainId"]
        )

    def _send(self, session: Session, settlement: Settlement, steps: list[ChainStep], step: ChainStep) -> int:
        try:
            if step.sender_wallet_id is None:
                self._own_account(step)
            else:
                door.check_step(session, step)
        except GatewayError as exc:  # no consent, or the member's KYC lapsed: the step fails, nothing is sent
            step.status, step.error = StepStatus.FAILED.value, str(exc)[:2000]
            session.commit()
            return 1
        session.commit()
        step.gas = self.market.settings.gas_limit
        gas_price = self.gas_price()
        pending = self._pending.pop(step.sender) if step.sender in self._pending else self._pending_count(step.sender)
        chain_id = self.market.chain_id  # asked of the node once, and never inside the transaction below
        with self._nonce_lock:
            nonce = self._allocate(session, step.sender, pending)
            tx: dict[str, Any] = {
                "to": step.to,
                "data": step.data,
                "value": 0,
                "gas": step.gas,
                "gasPrice": gas_price,
                "nonce": nonce,
                "chainId": chain_id,
            }
            signed = self._sign(session, step, tx)
            # Compare-and-swap on the step's status: a second relayer that picked the same step loses here,
            # and its nonce allocation rolls back with it.
            sent = {
                "nonce": nonce,
                "raw": "0x" + bytes(signed.raw_transaction).hex(),
                "tx_hash": "0x" + bytes(signed.hash).hex(),
                "status": StepStatus.SENT.value,
                "sent_at": _now(),
                "gas": step.gas,
            }
            claimed = session.execute(
                update(ChainStep)
                .where(ChainStep.id == step.id, ChainStep.status == StepStatus.QUEUED.value)
                .values(**sent, attempts=ChainStep.attempts + 1)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if claimed != 1:
                session.rollback()
                return 0
            session.commit()  # durable before the node sees it
            # What was written, without reading it back: a refresh would open a write transaction (SQLite's write
            # lock) and hold it through the broadcast.
            for key, value in {**sent, "attempts": step.attempts + 1}.items():
                set_committed_value(step, key, value)
        self._broadcast(session, step)
        return 1

    def gas_price(self) -> int:
        """The node's gas price, asked at most every few seconds (permissioned chains charge none)."""
        now = time.monotonic()
        if self._gas_price is None or now - self._gas_price[1] > GAS_PRICE_SECONDS:
            self._gas_price = (int(self.w3.eth.gas_price), now)
        return self._gas_price[0]

    def _allocate(self, session: Session, sender: str, pending: int) -> int:
        """The sender's next nonce: compare-and-swap on its row, so two allocators never get the same one.
        ``pending`` is the node's count of the sender's transactions (a floor, read before the lock)."""
        while True:
            row = session.get(SenderNonce, sender, populate_existing=True)
            if row is None:
                session.add(SenderNonce(address=sender, next_nonce=pending + 1))
                session.flush()
                return pending
            nonce = max(row.next_nonce, pending)
            swapped = session.execute(
                update(SenderNonce)
                .where(SenderNonce.address == sender, SenderNonce.next_nonce == row.next_nonce)
                .values(next_nonce=nonce + 1)
            ).rowcount  # type: ignore[attr-defined]
            if swapped == 1:
                session.expire(row)
                return nonce

    def _broadcast(self, session: Session, step: ChainStep) -> None:
        assert step.raw is not None
        raw = bytes.fromhex(step.raw[2:])
        try:
            if self._broadcast_hook is not None:
                self._broadcast_hook(raw)
            self.w3.eth.send_raw_transaction(raw)
        except Exception as exc:
            if is_outage(exc):
                # No answer is no refusal: the step stays sent with its signed bytes, and the receipt check sends
                # the same bytes again once the node answers (it may have them already).
                logger.warning("broadcast of %s waits for the node: %s", step.tx_hash, exc)
                return
            words = node_words(exc)
            message = words.lower()
            if any(k in message for k in KNOWN) or "nonce too low" in message:
                return  # the node has it, or it is mined: the receipt check decides
            self._give_back(session, step, words)

    def _give_back(self, session: Session, step: ChainStep, reason: str) -> None:
        """The node refused the transaction: return its nonce, or fill it so later nonces are not stuck."""
        assert step.nonce is not None
        step.status = StepStatus.FAILED.value
        step.error = f"refused by the node: {reason}"[:2000]
        returned = session.execute(
            update(SenderNonce)
            .where(SenderNonce.address == step.sender, SenderNonce.next_nonce == step.nonce + 1)
            .values(next_nonce=step.nonce)
        ).rowcount  # type: ignore[attr-defined]
        session.commit()
        if returned != 1:
            self._fill(session, step)

    def _fill(self, session: Session, step: ChainStep) -> None:
        """A zero-value transfer to itself with the refused step's nonce (closes the gap)."""
        assert step.nonce is not None
        tx: dict[str, Any] = {
            "to": step.sender,
            "value": 0,
            "gas": 21_000,
            "gasPrice": self.gas_price(),
            "nonce": step.nonce,
            "chainId": self.market.chain_id,
        }
        if step.sender_wallet_id is None:
            signed = self._own_account(step).sign_transaction(tx)
        else:
            signed = door.sign_filler(
                self.keys, session, step=step, gas_price=tx["gasPrice"], chain_id=self.market.chain_id
            )
        filler = enqueue(
            session,
            kind="nonce_filler",
            requested_by="system:relayer",
            steps=[StepSpec(label="filler", to=step.sender, data="0x", sender=step.sender)],
        )
        session.flush()
        row = session.scalars(select(ChainStep).where(ChainStep.settlement_id == filler.id)).one()
        row.sender_wallet_id, row.consent_id = step.sender_wallet_id, step.consent_id
        row.nonce, row.status, row.sent_at = step.nonce, StepStatus.SENT.value, _now()
        row.raw = "0x" + bytes(signed.raw_transaction).hex()
        row.tx_hash = "0x" + bytes(signed.hash).hex()
        session.commit()
        try:
            self.w3.eth.send_raw_transaction(signed.raw_transaction)
        except Exception:
            logger.exception("nonce filler %s of %s refused", step.nonce, step.sender)

    def _pending_count(self, sender: str) -> int:
        return int(self.w3.eth.get_transaction_count(Web3.to_checksum_address(sender), "pending"))

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
