"""The master-key lock: sealing holds its shared side, retiring a version its exclusive side.

Retiring a version is safe only if no row is sealed under it, and a gateway may be sealing at that very moment
under the version it believed current. So sealing happens inside the database transaction that stores the sealed
row, after that transaction took the shared side of this lock; retirement counts rows and destroys key material
under the exclusive side. A sealer then either commits before the count (and its row is rewrapped or counted) or
starts after the retirement (and finds the new version current). On SQLite the write lock of ``BEGIN IMMEDIATE``
is both sides at once; on PostgreSQL it is a transaction-scoped advisory lock.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

ADVISORY_KEY = 0x52504E4B  # "RPNK": the master-key lock's id among PostgreSQL advisory locks


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def hold_shared(session: Session) -> None:
    """Before sealing a secret that ``session`` will store: hold the lock until that transaction ends."""
    if _is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": ADVISORY_KEY})
    else:
        session.connection()  # begins the write transaction: SQLite's write lock (BEGIN IMMEDIATE)


def hold_exclusive(session: Session) -> None:
    """Before counting what is sealed under a version and retiring it: wait for every sealer to commit."""
    if _is_postgresql(session):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_KEY})
    else:
        session.connection()
