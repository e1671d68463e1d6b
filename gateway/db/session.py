"""Engines and session factories: one for writes, one for reads.

On SQLite every write transaction takes the database's write lock at BEGIN (``BEGIN IMMEDIATE``): SQLite cannot
upgrade a read snapshot to a write once another writer committed, and the audit chain needs its appends
serialized. Reads must not queue behind that lock, so they use a second engine whose transactions are deferred
(WAL snapshots run beside the writer) and which refuses writes (``query_only``). On PostgreSQL the read engine's
transactions are ``READ ONLY``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker


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
        return engine.execution_options(postgresql_readonly=True) if read_only else engine

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
