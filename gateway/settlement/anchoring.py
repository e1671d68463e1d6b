"""``reponet audit anchor``: the audit head anchored from outside the gateway's process, through the same durable
outbox as the gateway's own anchors.

A second sender of the anchoring key (the command sending its own transaction) would race the relayer for that
account's nonces: one of the two transactions is then refused or replaced. So the command only queues the anchor (a
settlement the running gateway's relayer sends from the anchoring account, with that account's one nonce
allocator) and waits in the database for the outcome the relayer records.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.config import KeyPurpose, Settings
from gateway.settlement import registry
from gateway.settlement.market import Market
from gateway.settlement_records.models import ChainStep, Settlement, SettlementStatus

Sessions = Callable[[], Session]


def relaying(settings: Settings) -> bool:
    """Whether a gateway with ``settings`` runs a relayer (the outbox's sender): the chain over HTTP(S), the engine,
    the oracle and the relayer's key set."""
    url = settings.chain_rpc_url
    return bool(
        url
        and url.startswith(("http://", "https://"))
        and settings.repo_engine_address
        and settings.price_oracle_address
        and settings.key_for(KeyPurpose.RELAYER)
    )


def anchor_market(settings: Settings) -> Market | None:
    """The market whose relayer sends the anchors of a gateway with ``settings`` (None: that gateway anchors with
    its chain client directly, having no relayer or no anchoring account)."""
    if not relaying(settings):
        return None
    market = Market.from_settings(settings)
    return market if market.audit_anchor is not None and market.anchorer is not None else None


@dataclass(frozen=True)
class AnchorOutcome:
    """Where the queued anchor stands: ``status`` pending (not final within the wait), final or failed."""

    settlement_id: uuid.UUID
    sequence: int
    head_hash: str
    status: SettlementStatus
    tx_hash: str | None
    error: str | None


def _pending_anchor(read: Sessions) -> bool:
    with read() as session:
        return registry.anchor_pending(session)


def queue_and_wait(
    sessions: Sessions, read: Sessions, market: Market, *, actor: str, wait_seconds: float, poll: float = 0.2
) -> AnchorOutcome | None:
    """Queue the head's anchor (after any anchor still on its way, which is waited out first) and wait up to
    ``wait_seconds`` for the relayer to make it final or fail it. None: an earlier anchor stayed on its way."""
    deadline = time.monotonic() + wait_seconds
    while True:
        with sessions() as session:
            queued = registry.anchor_head(session, market, actor=actor, only_if_new=False)
        if queued is not None:
            break
        if time.monotonic() >= deadline:
            return None
        while _pending_anchor(read) and time.monotonic() < deadline:
            time.sleep(poll)
    settlement_id = queued.settlement.id
    while True:
        outcome = _outcome(read, settlement_id, queued.sequence, queued.head_hash)
        if outcome.status is not SettlementStatus.PENDING or time.monotonic() >= deadline:
            return outcome
        time.sleep(poll)


def _outcome(read: Sessions, settlement_id: uuid.UUID, sequence: int, head_hash: str) -> AnchorOutcome:
    with read() as session:
        settlement = session.get(Settlement, settlement_id)
        assert settlement is not None
        step = session.scalars(select(ChainStep).where(ChainStep.settlement_id == settlement_id)).first()
        return AnchorOutcome(
            settlement_id=settlement_id,
            sequence=sequence,
            head_hash=head_hash,
            status=SettlementStatus(settlement.status),
            tx_hash=step.tx_hash if step is not None else None,
            error=settlement.error,
        )
