"""No JSON-RPC call while a database write transaction is open.

On SQLite a write transaction holds the database's write lock from BEGIN: a chain call made inside one (a receipt
awaited, a node that is slow or out of reach) stops every other writer of the gateway for as long as the node
takes. The seam's transports ask ``check()`` before each call; it raises ``WriteTransactionOpen`` when the guard is
on and the calling thread holds an open write transaction. The guard is off in production (the check is a
lookup, but a refusal there would fail a request that the old behaviour only slowed) and on in the tests.
A transaction belongs to the HTTP request that began it (``request_began``), or outside requests to its thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator

from gateway.exceptions import WriteTransactionOpen

_OPEN_WRITES: dict[int, object] = {}  # id(connection) -> the work that began its write transaction (_owner)
_OPEN_WRITES_LOCK = threading.Lock()
_REQUEST: contextvars.ContextVar[object | None] = contextvars.ContextVar("reponet_request_work", default=None)


def request_began() -> contextvars.Token[object | None]:
    """The HTTP middleware marks a request's context: its write transactions are the request's, not its threads'.
    A request's sync parts run on pool threads, and a pool thread goes on to other requests while the middleware
    still holds the first one's transaction open for its answer and audit entry: that transaction is not the next
    request's to answer for."""
    return _REQUEST.set(object())


def request_ended(token: contextvars.Token[object | None]) -> None:
    _REQUEST.reset(token)


def _owner() -> object:
    """The work a write transaction belongs to: the HTTP request in whose context it runs, else the thread (the
    thread object, not its ident: a new thread reuses a finished one's ident, and would answer for a transaction
    that thread left behind)."""
    request = _REQUEST.get()
    return request if request is not None else threading.current_thread()


def write_began(connection_id: int) -> None:
    """The database (gateway.db.session) notes a write transaction begun by this request or thread."""
    with _OPEN_WRITES_LOCK:
        _OPEN_WRITES[connection_id] = _owner()


def write_ended(connection_id: int) -> None:
    with _OPEN_WRITES_LOCK:
        _OPEN_WRITES.pop(connection_id, None)


def write_transaction_open() -> bool:
    """Whether the current request (or, outside a request, thread) began a transaction on a write engine that is
    still open (on SQLite: holds the database's write lock)."""
    me = _owner()
    with _OPEN_WRITES_LOCK:
        return me in _OPEN_WRITES.values()


class _Guard:
    enabled = False


guard = _Guard()


def check(what: str = "JSON-RPC call") -> None:
    """Raise if the guard is on and this thread holds an open database write transaction."""
    if guard.enabled and write_transaction_open():
        raise WriteTransactionOpen(f"{what} while this thread holds an open database write transaction")


@contextlib.contextmanager
def enforced(enabled: bool = True) -> Iterator[None]:
    """Turn the guard on (tests) for the duration of the block."""
    before = guard.enabled
    guard.enabled = enabled
    try:
        yield
    finally:
        guard.enabled = before
