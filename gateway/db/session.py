"""Engines and session factories: one for writes, one for reads.

On SQLite every write transaction takes the database's write lock at BEGIN (``BEGIN IMMEDIATE``): SQLite cannot
upgrade a read snapshot to a write once another writer committed, and the audit chain needs its appends
serialized. Reads must not queue behind that lock, so they use a second engine whose transactions are deferred
(WAL snapshots run beside the writer) and which refuses writes (``query_only``). On PostgreSQL the read engine's
transactions are ``READ ONLY``.

The writers of one engine also queue on a lock of their own before ``BEGIN IMMEDIATE``. A writer that finds
SQLite's lock taken sleeps in steps that grow to 100 ms before it looks again, so under load the lock sat free
while writers slept; a thread lock hands over the moment the last writer commits. Other processes still meet
SQLite's own lock and busy timeout.
"""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from gateway.chain.guard import write_began, write_ended, write_transaction_open
from gateway.db.held import HoldableSession

__all__ = ["write_transaction_open"]  # re-exported: the database side of the guard

logger = logging.getLogger(__name__)
BUSY_TIMEOUT_MS = 10_000  # SQLite's own wait for a lock another process holds
WRITER_WAIT_SECONDS = 10.0  # then a writer goes on to SQLite's lock without the thread lock (never a deadlock)
WRITER_LOCK = "reponet_writer_lock"  # connection info key: this connection's transaction holds the thread lock
_WRITER_LOCKS: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()


def _track_writes(engine: Engine) -> None:
    """Note which thread each write transaction of ``engine`` began in, until it commits or rolls back (the chain
    seam's guard refuses a JSON-RPC call from that thread meanwhile: gateway.chain.guard)."""

    @event.listens_for(engine, "begin")
    def _began(conn: Any) -> None:
        write_began(id(conn))

    def _ended(conn: Any) -> None:
        write_ended(id(conn))

    event.listen(engine, "commit", _ended)
    event.listen(engine, "rollback", _ended)


def make_engine(url: str, *, read_only: bool = False) -> Engine:
    parsed = make_url(url)
    sqlite = parsed.get_backend_name() == "sqlite"
    kwargs: dict[str, Any] = {"pool_pre_ping": not sqlite}  # a file cannot drop the connection: no ping per checkout
    if sqlite:
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"check_same_thread": False}
        # Never wait for a pooled connection: reads run on the event loop with SQLite (see gateway.api.deps), and a
        # checkout that waited there would stall the requests that are to give connections back. A SQLite
        # connection is a file handle; beyond the 20 kept, extra ones are opened and closed as needed.
        kwargs["pool_size"] = 20
        kwargs["max_overflow"] = -1
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    engine = create_engine(url, **kwargs)
    if not sqlite:
        if read_only:
            return engine.execution_options(postgresql_readonly=True)
        _track_writes(engine)
        return engine

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    if read_only:

        @event.listens_for(engine, "begin")
        def _sqlite_begin_read(conn: Any) -> None:
            # Straight to the driver, as the writers' COMMIT is: every read request begins one transaction, and
            # SQLAlchemy's statement machinery cost more than SQLite's deferred BEGIN itself.
            conn.connection.dbapi_connection.execute("BEGIN")

    else:
        _queue_writers(engine)
        _track_writes(engine)  # after BEGIN IMMEDIATE: a BEGIN that failed opened nothing
    return engine


def _queue_writers(engine: Engine) -> None:
    """Writers of ``engine`` take a thread lock before SQLite's write lock and give it back once SQLite has
    (after COMMIT or ROLLBACK has run, not before)."""
    lock = _WRITER_LOCKS[engine] = threading.Lock()

    def release(conn: Any) -> None:
        if conn.info.pop(WRITER_LOCK, False):
            lock.release()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        held = lock.acquire(timeout=WRITER_WAIT_SECONDS)
        if not held:
            logger.warning("a SQLite writer waited %.0f s for the writer lock; going on without", WRITER_WAIT_SECONDS)
        conn.info[WRITER_LOCK] = held
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            release(conn)
            raise

    @event.listens_for(engine, "commit")
    def _sqlite_commit(conn: Any) -> None:
        try:
            conn.connection.dbapi_connection.commit()  # SQLAlchemy's own commit after this finds nothing to do
        finally:
            release(conn)

    @event.listens_for(engine, "rollback")
    def _sqlite_rollback(conn: Any) -> None:
        try:
            conn.connection.dbapi_connection.rollback()
        finally:
            release(conn)


def writer_lock(engine: Engine) -> threading.Lock | None:
    """The thread lock a SQLite write engine's transactions hold (None for PostgreSQL and read engines)."""
    return _WRITER_LOCKS.get(engine)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions a request can hold uncommitted until its answer is stored (gateway.db.held)."""
    return sessionmaker(engine, class_=HoldableSession, expire_on_commit=False)
