"""Instructions past their deadline, ended by the indexer: a substitution, amendment or early repurchase still
pending or handed out once a final block's timestamp is past its deadline can never be carried out (the engine
refuses it), so it becomes ``expired``, is audited, and its parties are told (``instruction.expired``). Its clock is
the chain's, read from the last block of the indexer's range before the write transaction; the sweep runs at most
every few seconds, so a tick that only follows events stays one database query lighter."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.db import audit_log
from gateway.events.bus import EventBus
from gateway.settlement.instruction_events import Change, announce
from gateway.settlement_records import parties
from gateway.settlement_records.models import Instruction
from gateway.trading.announce import Announcer

SWEEP_SECONDS = 5.0


class ExpirySweep:
    def __init__(self, block_time: Callable[[int], int]) -> None:
        self._block_time = block_time  # a block's timestamp, asked of the chain
        self._swept_at = float("-inf")
        self._swept_block = -1

    def clock(self, end: int, times: dict[int, int]) -> int | None:
        """Block ``end``'s timestamp when a sweep at it is due, else None (read outside any write transaction). Not
        due at a block already swept, nor within ``SWEEP_SECONDS`` of the last sweep: the indexer asks again on
        its idle ticks, so the last block of a burst is swept too."""
        now = time.monotonic()
        if end <= self._swept_block or now - self._swept_at < SWEEP_SECONDS:
            return None
        self._swept_at, self._swept_block = now, end
        return times[end] if end in times else self._block_time(end)

    @staticmethod
    def sweep(session: Session, chain_time: int | None) -> list[uuid.UUID]:
        """Ends what ``chain_time`` has passed, in the indexer's transaction, each audited; their ids."""
        if chain_time is None:
            return []
        ended = parties.expire(session, chain_time)
        for row in ended:
            audit_log.append(
                session,
                actor="system:indexer",
                action="instruction.expired",
                object_type="instruction",
                object_id=str(row.id),
                change={"repo_id": row.repo_id, "kind": row.kind, "chain_time": chain_time},
            )
        return [row.id for row in ended]

    @staticmethod
    def tell(sessions: Callable[[], Session], bus: EventBus | None, ids: list[uuid.UUID]) -> None:
        """``instruction.expired`` to each ended instruction's parties, after the commit (stream and webhooks)."""
        if not ids:
            return
        with sessions() as session:
            announcer = Announcer(bus, session)
            for row in session.scalars(select(Instruction).where(Instruction.id.in_(ids))):
                announce(announcer, session, Change.EXPIRED, row)
