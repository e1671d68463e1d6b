"""No JSON-RPC call while a database write transaction is open.

On SQLite a write transaction holds the database's write lock from BEGIN: a chain call made inside one (a receipt
awaited, a node that is slow or out of reach) stops every other writer of the gateway for as long as the node
takes. The seam's transports ask ``check()`` before each call; it raises ``WriteTransactionOpen`` when the guard is
on and the calling thread holds an open write transaction. The guard is off in production (the check is a
lookup, but a refusal there would fail a request that the old behaviour only slowed) and on in the tests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from gateway.db.session import write_transaction_open
from gateway.exceptions import WriteTransactionOpen


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
