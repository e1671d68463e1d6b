"""Anchoring the audit head on chain, and verification against the chain's anchors."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.chain.base import ChainClient, NullChain
from gateway.db import audit_log, pages
from gateway.db.models import AuditAnchorRecord, AuditEntry
from gateway.exceptions import ChainError, Conflict

logger = logging.getLogger(__name__)


def anchor_head(session: Session, *, chain: ChainClient, actor: str) -> AuditAnchorRecord:
    """Record an anchoring decision in the log, then anchor the resulting head on chain."""
    audit_log.append(session, actor=actor, action="audit.anchor", object_type="audit", object_id="head", change={})
    session.commit()
    current = audit_log.head(session)
    assert current is not None
    sequence, head_hash = current
    last = session.execute(select(func.max(AuditAnchorRecord.sequence))).scalar_one()
    if last is not None and last >= sequence:
        raise Conflict("the head is already anchored")
    session.commit()  # ends the read: no database lock is held across the anchoring transaction
    tx_hash = chain.anchor(sequence=sequence, head_hash=bytes.fromhex(head_hash))
    record = AuditAnchorRecord(sequence=sequence, head_hash=head_hash, tx_hash=tx_hash)
    session.add(record)
    session.commit()
    logger.info("anchored audit head %s at sequence %d in %s", head_hash, sequence, tx_hash)
    return record


def anchor_if_new(session: Session, *, chain: ChainClient) -> AuditAnchorRecord | None:
    """Periodic anchoring: only when entries were added since the last anchor."""
    current = audit_log.head(session)
    last = session.execute(select(func.max(AuditAnchorRecord.sequence))).scalar_one()
    if current is None or (last is not None and last >= current[0]):
        return None
    return anchor_head(session, chain=chain, actor="system:anchor")


def entries(session: Session, *, page: pages.PageParams) -> tuple[list[AuditEntry], str | None]:
    query = pages.keyset(select(AuditEntry), page, AuditEntry.sequence)
    return pages.finish(session.scalars(query).all(), page, lambda e: (e.sequence,))


def verify(session: Session, *, chain: ChainClient | None) -> audit_log.VerifyResult:
    """Check the log against the anchors read from ``chain`` (even when it holds none: then a database that lists
    anchors proves nothing). ``chain=None`` is the offline check against the database's own copy of the anchors,
    which whoever rewrites the log can rewrite too."""
    if isinstance(chain, NullChain):
        raise ChainError("no chain configured (REPONET_CHAIN_RPC_URL): the anchors cannot be read from the chain")
    if chain is not None:
        session.commit()  # ends any transaction of the caller's: the chain is asked with no database lock held
    heads = chain.anchored_heads() if chain is not None else None
    return audit_log.verify(session, chain_heads=heads)
