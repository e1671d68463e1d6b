"""The relayer: sends every settlement step as a signed transaction and tracks it until final, one settlement after
another in the order they were asked. How a step is sent (nonces, signatures, broadcast) is in ``sending``; how it
is followed to finality is in ``receipts``; what a step is and how it is queued is in
``gateway.settlement_records.steps``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from gateway.chain.heads import idle_seconds
from gateway.chain.outage import Backoff, is_outage
from gateway.keys.provider import KeyProvider
from gateway.settlement.market import Market
from gateway.settlement.receipts import Receipts
from gateway.settlement_records.bell import Bell
from gateway.settlement_records.models import ChainStep, Settlement, SettlementStatus, StepStatus

logger = logging.getLogger(__name__)

PUSHED_HEADS_TICK = 0.25  # the relayer's idle tick while a new block wakes it (gateway.chain.heads)


def _now() -> datetime:
    return datetime.now(UTC)


Hook = Callable[[Session, Settlement, list[ChainStep], Market], None]


class Relayer(Receipts):
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
        super().__init__(market, keys)
        self.sessions = sessions
        self.read_sessions = read_sessions or sessions  # the idle poll need not take SQLite's write lock
        self.hooks = hooks or {}
        self.failure_hooks = failure_hooks or {}
        self.wake = threading.Event()
        self.finished: dict[uuid.UUID, str] = {}  # settlements this process saw end (for waiting clients)
        self.bell = Bell()  # rung when a settlement ends: ``…/wait`` of this process answers at once
        self.settling = False  # settlements pending at the last tick: reads of this process make room (admission)
        self.announce: Callable[[], None] | None = None  # and tells other processes' waiters (gateway.background)
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
                self.wake.wait(self._idle_seconds())
                self.wake.clear()

    def _idle_seconds(self) -> float:
        """How long a tick that found nothing to do waits: while the node pushes its heads (a new block, and a new
        settlement, ring ``wake``) a tick has nothing to look for between them but the rebroadcast timers."""
        return idle_seconds(self.market.heads, self.market.settings.relayer_poll_seconds, PUSHED_HEADS_TICK)

    def run_once(self) -> int:
        with self.read_sessions() as session:
            ids = list(
                session.scalars(
                    select(Settlement.id)
                    .where(Settlement.status == SettlementStatus.PENDING.value)
                    .order_by(Settlement.created_at)
                )
            )
        self.settling = bool(ids)
        if not ids:
            return 0  # idle: not even a block number
        self._head = self.market.head_number()
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
                    sent = self._send(session, settlement, steps, step)
                    if step.status == StepStatus.SENT.value:  # not in a block already there: look at the next one
                        self._looked[step.id] = (self._head, time.monotonic())
                    return sent
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
            self._ended(settlement)
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
        self._ended(settlement)
        logger.warning("settlement %s (%s) failed: %s", settlement.id, settlement.kind, error)

    def _ended(self, settlement: Settlement) -> None:
        """After the commit that ended ``settlement``: its waiters, here and in other processes, are told."""
        self.finished[settlement.id] = settlement.status
        self.bell.ring()
        if self.announce is not None:
            self.announce()
