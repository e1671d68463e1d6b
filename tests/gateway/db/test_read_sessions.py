"""Reads run beside a writer: GET requests and authentication use deferred, read-only SQLite transactions."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import InternalError, OperationalError

from gateway.db.models import Role
from gateway.db.session import make_engine, make_session_factory
from tests.gateway.conftest import World


def test_get_is_served_while_a_writer_holds_the_lock(world: World) -> None:
    viewer = world.user("a", Role.VIEWER, "reader")
    viewer.login()
    database = world.ctx.engine.url.database
    assert database is not None
    writer = sqlite3.connect(database, isolation_level=None, timeout=0)
    writer.execute("BEGIN IMMEDIATE")  # another process's long write transaction
    try:
        began = time.monotonic()
        response = viewer.get("/v1/trades")
        elapsed = time.monotonic() - began
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert response.status_code == 200, response.text
    assert elapsed < 5, f"the GET waited {elapsed:.1f}s for the writer (busy_timeout is 10s)"


def test_read_sessions_refuse_writes(any_db_url: str) -> None:
    sessions = make_session_factory(make_engine(any_db_url, read_only=True))
    with sessions() as session, pytest.raises((OperationalError, InternalError), match=r"(?i)read.?only"):
        session.execute(text("DELETE FROM audit_entries"))


def test_state_changing_requests_still_write(world: World) -> None:
    trader = world.user("a", Role.TRADER, "writer")
    response = trader.post("/v1/wallets", json={"label": "desk"})
    assert response.status_code == 201, response.text


def test_many_concurrent_reads_never_wait_for_a_pooled_connection(world: World) -> None:
    """Authentication reads on the event loop with SQLite: a checkout that waited for a pooled connection there
    would stall the requests that are to give theirs back (40 clients, more than any fixed pool)."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import uvicorn

    from tests.e2e.chains import free_port

    viewer = world.user("a", Role.VIEWER, "crowd")
    headers = viewer.headers
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(world.client.app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)

        def read(_: int) -> int:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as client:
                return client.get("/v1/me", headers=headers).status_code

        with ThreadPoolExecutor(max_workers=40) as pool:
            statuses = list(pool.map(read, range(120)))
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert statuses == [200] * 120
