"""The seam's guard: a JSON-RPC call from a thread that holds an open database write transaction raises."""

from __future__ import annotations

import contextvars
import socket
import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from gateway.chain import guard
from gateway.chain.transport import KeepAliveHTTPProvider, NodeUnreachable
from gateway.db.session import make_engine, make_session_factory, write_transaction_open
from gateway.exceptions import WriteTransactionOpen


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'guard.db'}"


def test_a_write_transaction_is_seen_until_it_ends_and_only_in_its_thread(url: str) -> None:
    sessions = make_session_factory(make_engine(url))
    reads = make_session_factory(make_engine(url, read_only=True))
    with reads() as read:
        read.execute(text("select 1"))
        assert not write_transaction_open()  # a read snapshot holds no write lock
    with sessions() as session:
        session.execute(text("select 1"))  # BEGIN IMMEDIATE: the write lock is held from here
        assert write_transaction_open()
        seen_elsewhere: list[bool] = []
        other = threading.Thread(target=lambda: seen_elsewhere.append(write_transaction_open()))
        other.start()
        other.join(timeout=5)
        assert seen_elsewhere == [False]
        session.commit()
        assert not write_transaction_open()
        session.execute(text("select 1"))
        assert write_transaction_open()
        session.rollback()
        assert not write_transaction_open()


def test_the_transport_refuses_a_call_inside_a_write_transaction_before_it_reaches_the_node(url: str) -> None:
    provider = KeepAliveHTTPProvider(f"http://127.0.0.1:{closed_port()}", timeout=1)
    sessions = make_session_factory(make_engine(url))
    with guard.enforced(), sessions() as session:
        session.execute(text("select 1"))
        with pytest.raises(WriteTransactionOpen):
            provider.make_request("eth_blockNumber", [])  # type: ignore[arg-type]
        session.commit()
        with pytest.raises(NodeUnreachable):  # outside the transaction the call goes out (to a closed port)
            provider.make_request("eth_blockNumber", [])  # type: ignore[arg-type]


def test_the_guard_is_off_unless_turned_on(url: str) -> None:
    sessions = make_session_factory(make_engine(url))
    with guard.enforced(False), sessions() as session:
        session.execute(text("select 1"))
        guard.check()  # production: a lookup, never a refusal


def test_a_requests_open_write_is_not_the_next_requests_on_the_same_thread(url: str) -> None:
    """The middleware holds a keyed request's write transaction open for its answer and audit entry after the
    route returned; the pool thread that ran the route meanwhile serves another request, which may call the chain:
    the open transaction is the first request's, and only the first request is refused."""
    sessions = make_session_factory(make_engine(url))
    first, second = contextvars.copy_context(), contextvars.copy_context()
    held = sessions()

    def begin_a_write() -> bool:
        guard.request_began()
        held.execute(text("select 1"))  # BEGIN IMMEDIATE, in the first request's context, on this thread
        return write_transaction_open()

    def another_request() -> bool:
        guard.request_began()
        return write_transaction_open()

    assert first.run(begin_a_write)
    assert second.run(another_request) is False  # same thread, another request
    assert first.run(write_transaction_open)
    held.rollback()
    held.close()
    assert not first.run(write_transaction_open)


def test_a_new_thread_never_answers_for_a_finished_threads_transaction() -> None:
    """A thread that left a write transaction behind (its connection never committed nor rolled back) finishes; a
    later thread, which may well get the same ident, holds nothing."""
    left: dict[str, int] = {}

    def leave_one_open() -> None:
        guard.write_began(id(left))
        left["ident"] = threading.get_ident()
        assert guard.write_transaction_open()

    first = threading.Thread(target=leave_one_open)
    first.start()
    first.join()
    seen: list[tuple[int, bool]] = []

    def look() -> None:
        seen.append((threading.get_ident(), guard.write_transaction_open()))

    try:
        for _ in range(50):  # until one reuses the finished thread's ident (most often the very next)
            later = threading.Thread(target=look)
            later.start()
            later.join()
            if seen[-1][0] == left["ident"]:
                break
        assert not any(open_ for _, open_ in seen)
    finally:
        guard.write_ended(id(left))
