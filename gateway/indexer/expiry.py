"""Instructions past their deadline, ended by the indexer: a substitution, amendment or early repurchase still
pending or handed out once a final block's timestamp is past its deadline can never be carried out (the engine
refuses it), so it becomes ``expired``, is audited, and its parties are told (``instruction.expired``) — unless a
signer's nonce for it is spent, when it was carried out (sent by its signers themselves, or not yet seen) and is
``submitted``. The clock is the chain's, the last block of the indexer's range; the chain is read before the write
transaction. The sweep runs at most every few seconds and, on idle ticks, once for the last block.

The event reaches the parties' webhooks, and their streams whichever process serves them (the indexer runs in a
process of its own under ``reponet up``): it is relayed through the database (gateway.events.relayed)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from eth_utils.address import to_checksum_address
from sqlalchemy.orm import Session

from gateway.chain.outage import is_outage
from gateway.db import audit_log
from gateway.matching import session_end as gc_session
from gateway.settlement.instruction_events import Change, announce
from gateway.settlement_records import parties
from gateway.settlement_records.models import SENDABLE, Instruction
from gateway.trading.announce import Announcer

logger = logging.getLogger(__name__)
SWEEP_SECONDS = 5.0


@dataclass(frozen=True)
class Verdicts:
    """What a sweep found at ``chain_time``: instructions carried out after all, and those that never will be."""

    chain_time: int
    carried: list[uuid.UUID] = field(default_factory=list)
    gone: list[parties.Overdue] = field(default_factory=list)


class ExpirySweep:
    def __init__(self, block_time: Callable[[int], int], nonce_used: Callable[[str, int, int], bool]) -> None:
        self._block_time = block_time  # a block's timestamp, asked of the chain
        self._nonce_used = nonce_used  # (signer, nonce, block): the engine's nonceUsed at that block
        self._swept_at = float("-inf")
        self._swept_block = -1

    def clock(self, end: int, times: dict[int, int]) -> int | None:
        """Block ``end``'s timestamp when a sweep at it is due, else None. Not due at a block already swept, nor
        within ``SWEEP_SECONDS`` of the last sweep: the indexer asks again on its idle ticks."""
        now = time.monotonic()
        if end <= self._swept_block or now - self._swept_at < SWEEP_SECONDS:
            return None
        self._swept_at, self._swept_block = now, end
        return times[end] if end in times else self._block_time(end)

    def verdicts(self, sessions: Callable[[], Session], end: int, times: dict[int, int]) -> Verdicts | None:
        """The overdue instructions at block ``end`` and, for each, whether a signer's nonce is spent there (read
        outside any write transaction). A row whose nonce cannot be read is left for a later sweep."""
        before = self._swept_block
        chain_time = self.clock(end, times)
        if chain_time is None:
            return None
        try:
            with sessions() as session:
                found = parties.overdue(session, chain_time)
        except Exception:
            self._swept_block = before  # asked again on the next tick
            raise
        verdicts = Verdicts(chain_time)
        for row in found:
            try:
                spent = any(self._nonce_used(to_checksum_address(s), row.nonce, end) for s in row.signers)
            except Exception as exc:
                if is_outage(exc):
                    self._swept_block = before
                    raise
                logger.warning("indexer: nonce of overdue instruction %s not read: %s", row.id, exc)
                continue
            if spent:
                verdicts.carried.append(row.id)
            else:
                verdicts.gone.append(row)
        return verdicts

    @staticmethod
    def sweep(session: Session, verdicts: Verdicts | None) -> list[uuid.UUID]:
        """Writes the verdicts in the indexer's transaction: each expiry audited and told (relayed to the streams,
        queued for the webhooks) in that same transaction, so a crash loses neither; the ids it ended. A row that
        cannot be told is logged and stays expired."""
        if verdicts is None:
            return []
        gc_session.expire_overdue(session, verdicts.chain_time)  # GC orders past the trading day's end
        parties.carried_out(session, verdicts.carried, statuses=SENDABLE)
        ended = set(parties.expire(session, [row.id for row in verdicts.gone]))
        announcer = Announcer(None, session, relay=True)
        for row in verdicts.gone:
            if row.id not in ended:
                continue
            audit_log.append(
                session,
                actor="system:indexer",
                action="instruction.expired",
                object_type="instruction",
                object_id=str(row.id),
                change={"was": row.status, "deadline": row.deadline, "chain_time": verdicts.chain_time},
            )
            instruction = session.get(Instruction, row.id)
            try:
                with session.begin_nested():
                    if instruction is not None:
                        announce(announcer, session, Change.EXPIRED, instruction)
            except Exception:
                logger.exception("indexer: telling that instruction %s expired failed", row.id)
        return sorted(ended)
