"""Append to and verify the hash-chained audit log.

Each entry hashes (sequence, time, actor, action, object, digest of the change, previous hash) in canonical
JSON with SHA-256. Editing an entry breaks its hash; deleting or reordering entries breaks the sequence or
the previous-hash link; anchors (on chain, mirrored in ``audit_anchors``) pin heads so that rewriting the
whole tail is caught too.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from gateway.db.models import AuditAnchorRecord, AuditEntry, AuditHead

GENESIS = "0" * 64


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical(value)).hexdigest()


def entry_hash(
    *,
    sequence: int,
    at: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    change_digest: str,
    prev_hash: str,
) -> str:
    return digest(
        {
            "sequence": sequence,
            "at": at,
            "actor": actor,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "change_digest": change_digest,
            "prev_hash": prev_hash,
        }
    )


# Built once, as Core statements on the tables: every state-changing request appends at least once, and the
# ORM's unit of work cost more than the hashing.
_HEAD = select(AuditHead.sequence, AuditHead.entry_hash).where(AuditHead.id == 1).with_for_update()
_CURRENT_HEAD = select(AuditHead.sequence, AuditHead.entry_hash).where(AuditHead.id == 1)
_START_HEAD = insert(AuditHead).values(id=1, sequence=0, entry_hash=GENESIS)
_INSERT_ENTRY = insert(AuditEntry)
_MOVE_HEAD = (
    update(AuditHead)
    .where(AuditHead.id == 1)
    .values(sequence=bindparam("new_sequence"), entry_hash=bindparam("new_hash"))
    .execution_options(synchronize_session=False)
)


def head(session: Session) -> tuple[int, str] | None:
    """(sequence, hash) of the last entry, read from the database (an ``AuditHead`` object in the session's
    identity map may be older: appends update the row directly)."""
    row = session.execute(_CURRENT_HEAD).one_or_none()
    return None if row is None else (int(row.sequence), str(row.entry_hash))


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    change: Any,
) -> AuditEntry:
    """Append an entry in the caller's transaction (so the entry commits with the change it records)."""
    locked = session.execute(_HEAD).one_or_none()  # autoflushes the caller's pending changes first
    if locked is None:
        session.execute(_START_HEAD)
        previous_sequence, previous_hash = 0, GENESIS
    else:
        previous_sequence, previous_hash = locked.sequence, locked.entry_hash
    entry = AuditEntry(
        sequence=previous_sequence + 1,
        at=datetime.now(UTC).isoformat(timespec="microseconds"),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        change_digest=digest(change),
        prev_hash=previous_hash,
    )
    entry.entry_hash = entry_hash(
        sequence=entry.sequence,
        at=entry.at,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        change_digest=entry.change_digest,
        prev_hash=previous_hash,
    )
    columns = {c.key: getattr(entry, c.key) for c in AuditEntry.__table__.columns}
    session.execute(_INSERT_ENTRY, columns)
    session.execute(_MOVE_HEAD, {"new_sequence": entry.sequence, "new_hash": entry.entry_hash})
    return entry  # not added to the session: the row is written


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    entries: int
    head_hash: str
    first_bad_sequence: int | None = None
    reason: str | None = None
    anchors_checked: int = 0
    anchors_source: str = "database"  # where the anchored heads were read: "chain", or "database" (offline)
    unanchored_entries: int = 0  # entries after the last anchor: rewritable without detection until anchored
    unanchored_seconds: float | None = None  # age of the oldest of them


def verify(session: Session, *, chain_heads: dict[int, str] | None = None) -> VerifyResult:
    """Walk the log from the start; name the first entry that does not fit.

    ``chain_heads`` maps anchored sequences to the head hashes read from the chain; without it the anchors
    mirrored in the database are used, which whoever can rewrite the log can rewrite too (offline check).
    """
    anchors = chain_heads
    source = "chain"
    if anchors is None:
        source = "database"
        anchors = {a.sequence: a.head_hash for a in session.execute(select(AuditAnchorRecord)).scalars().all()}
    last_anchor = max(anchors) if anchors else 0
    oldest_unanchored: str | None = None
    prev = GENESIS
    expected = 1
    count = 0
    checked = 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.sequence)).scalars()
    for row in rows:
        if row.sequence != expected:
            return VerifyResult(False, count, prev, expected, f"entry {expected} is missing (found {row.sequence})")
        if row.prev_hash != prev:
            return VerifyResult(False, count, prev, row.sequence, "previous-hash link broken (deleted or reordered)")
        recomputed = entry_hash(
            sequence=row.sequence,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            change_digest=row.change_digest,
            prev_hash=row.prev_hash,
        )
        if recomputed != row.entry_hash:
            return VerifyResult(False, count, prev, row.sequence, "entry hash mismatch (entry edited)")
        anchored = anchors.get(row.sequence)
        if anchored is not None:
            if anchored != row.entry_hash:
                return VerifyResult(False, count, prev, row.sequence, "differs from the anchored head hash")
            checked += 1
        if row.sequence == last_anchor + 1:
            oldest_unanchored = row.at
        prev = row.entry_hash
        expected += 1
        count += 1
    if last_anchor >= expected:
        return VerifyResult(False, count, prev, expected, f"log ends before anchored entry {last_anchor} (truncated)")
    current = head(session)
    if current is not None and current[0] != count:
        return VerifyResult(False, count, prev, count + 1, f"head says {current[0]} entries, log has {count}")
    age = None
    if oldest_unanchored is not None:
        age = max(0.0, (datetime.now(UTC) - datetime.fromisoformat(oldest_unanchored)).total_seconds())
    return VerifyResult(
        True,
        count,
        prev,
        anchors_checked=checked,
        anchors_source=source,
        unanchored_entries=count - last_anchor,
        unanchored_seconds=age,
    )
