"""Leader election for the gateway's workers: one active instance of each kind (relayer, indexer, webhooks,
anchoring) however many processes are started, a standby taking over when the leader dies.

On PostgreSQL the leader holds a session-level advisory lock on a connection of its own (TCP keepalives of a few
seconds, so a leader whose machine vanished loses it too); a standby tries the lock every ``POLL_SECONDS``. The lock
key is the schema and the kind, so deployments sharing a database but not a schema do not elect each other.

The fence: a leader that lost its lock connection may not know it yet. Every write transaction of a worker process
first checks, inside that transaction, that the lock connection's backend still holds the lock (``pg_locks``), and
fails with :class:`LeadershipLost` otherwise; the process then exits and comes back as a standby. What a new leader
finds is only what was committed: the outbox's steps are durable (a signed transaction is stored before it is
broadcast, and sent again as the same bytes), so it resumes where the old one stopped.

On SQLite (one machine) the lock is an ``flock`` on a file in the data directory: the kernel drops it with the
process, and a process cannot lose it while alive, so there is nothing to fence.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import zlib
from abc import ABC, abstractmethod
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url

from gateway.exceptions import LeadershipLost

logger = logging.getLogger(__name__)
LOCK_CLASS = 0x52504E54  # "RPNT": the first key of every RepoNet advisory lock
POLL_SECONDS = 0.5  # a standby tries the lock this often: it takes over well within 5 s
KEEPALIVE = {"keepalives": 1, "keepalives_idle": 2, "keepalives_interval": 1, "keepalives_count": 2}


class WorkerKind(StrEnum):
    """A kind of background work that must run exactly once across all processes."""

    RELAYER = "relayer"  # the outbox: settlement steps to the chain
    INDEXER = "indexer"  # the inbox: chain events into the database, and on to the event broker
    WEBHOOKS = "webhooks"  # webhook deliveries
    ANCHOR = "anchor"  # audit anchoring and KYC maintenance sweeps


def holder_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Election(ABC):
    """One kind's lock as seen by one process."""

    def __init__(self, kind: WorkerKind) -> None:
        self.kind = kind
        self.leading = False
        self.lost = False  # led, then lost: this process must write nothing more for any kind

    @abstractmethod
    def try_acquire(self) -> bool:
        """Take the lock if free; True once this process leads (again True while it does)."""

    @abstractmethod
    def held(self) -> bool:
        """Whether this process still holds the lock (a heartbeat: False once its connection is gone)."""

    @abstractmethod
    def fence_sql(self) -> tuple[str, dict[str, Any]] | None:
        """A query that returns a row only while the lock is held, run inside each write transaction."""

    @abstractmethod
    def release(self) -> None: ...


class FileElection(Election):
    """SQLite: an exclusive ``flock`` on ``<dir>/leader-<kind>.lock``, dropped by the kernel with the process."""

    def __init__(self, kind: WorkerKind, directory: Path) -> None:
        super().__init__(kind)
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"leader-{kind.value}.lock"
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self.leading:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, holder_name().encode())
        self._fd, self.leading = fd, True
        return True

    def held(self) -> bool:
        return self.leading

    def fence_sql(self) -> None:
        return None

    def release(self) -> None:
        self.lost = self.lost or self.leading
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
        self._fd, self.leading = None, False


class PostgresElection(Election):
    """PostgreSQL: ``pg_try_advisory_lock(LOCK_CLASS, crc32(schema:kind))`` on a connection of its own."""

    def __init__(self, kind: WorkerKind, url: str) -> None:
        super().__init__(kind)
        self.url = url
        self._conn: Any = None
        self.key = 0
        self.pid = 0

    def _connect(self) -> Any:
        import psycopg

        parsed = make_url(self.url)
        options = parsed.query.get("options")
        params: dict[str, Any] = {
            "host": parsed.host or "127.0.0.1",
            "port": parsed.port or 5432,
            "user": parsed.username,
            "password": parsed.password,
            "dbname": parsed.database,
            "autocommit": True,
            "connect_timeout": 3,
            "application_name": f"reponet-leader-{self.kind.value}",
            **KEEPALIVE,
        }
        if options:
            params["options"] = options if isinstance(options, str) else options[0]
        conn = psycopg.connect(**params)
        row = conn.execute("SELECT current_schema(), pg_backend_pid()").fetchone()
        assert row is not None
        self.key = zlib.crc32(f"{row[0]}:{self.kind.value}".encode()) & 0x7FFFFFFF
        self.pid = int(row[1])
        return conn

    def try_acquire(self) -> bool:
        if self.leading:
            return True
        try:
            if self._conn is None or self._conn.closed:
                self._conn = self._connect()
            row = self._conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, self.key)).fetchone()
            assert row is not None
        except Exception as exc:
            logger.warning("leader election for %s: database unreachable (%s)", self.kind.value, exc)
            self._drop()
            return False
        self.leading = bool(row[0])
        return self.leading

    def held(self) -> bool:
        if not self.leading or self._conn is None:
            return False
        try:
            row = self._conn.execute(*self.fence_sql()).fetchone()
        except Exception as exc:
            logger.error("leader of %s: lock connection lost (%s)", self.kind.value, exc)
            row = None
        if row is None:
            self.leading, self.lost = False, True
            self._drop()
        return self.leading

    def fence_sql(self) -> tuple[str, dict[str, Any]]:
        return (
            "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid::bigint = %(c)s"
            " AND objid::bigint = %(o)s AND objsubid = 2 AND pid = %(p)s AND granted",
            {"c": LOCK_CLASS, "o": self.key, "p": self.pid},
        )

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                logger.debug("closing a lost lock connection failed", exc_info=True)
        self._conn = None

    def release(self) -> None:
        self.lost = self.lost or self.leading
        self.leading = False
        self._drop()  # the session's advisory locks end with it


def election_for(database_url: str, data_dir: Path, kind: WorkerKind) -> Election:
    if make_url(database_url).get_backend_name() == "postgresql":
        return PostgresElection(kind, database_url)
    return FileElection(kind, data_dir / "leaders")


def install_fence(engine: Engine, elections: list[Election]) -> None:
    """Every write transaction on ``engine`` first checks, in that transaction, that each election this process
    leads is still held; a lost one fails the transaction (nothing it would write is committed). A refused begin
    ends, for the engine's other hooks, as a rollback would (the seam's guard stops counting it as an open write)."""

    @event.listens_for(engine, "begin")
    def _fence(conn: Any) -> None:
        for election in elections:
            lost = election.lost
            if not lost and election.leading and (query := election.fence_sql()) is not None:
                lost = conn.exec_driver_sql(query[0], query[1]).first() is None
                if lost:
                    election.leading, election.lost = False, True
            if lost:
                conn.dispatch.rollback(conn)
                raise LeadershipLost(election.kind.value)
