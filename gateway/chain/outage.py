"""Telling an outage from a refusal, and how long the node has been out of reach.

A node that does not answer (connection refused or reset, a timeout, an HTTP error from it or a proxy in front of
it) has decided nothing: the work waits and is tried again. Only a JSON-RPC answer with an ``error`` is the
node's word on a transaction, and only that may fail a settlement step. Reads that a decision rests on (KYC,
balances, signatures of smart wallets) fail closed with 503 while the node is out of reach, never with a verdict.
"""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass, field

from web3.exceptions import ProviderConnectionError, TimeExhausted, Web3RPCError

OUTAGE_TYPES: tuple[type[BaseException], ...] = (
    OSError,  # ConnectionError, TimeoutError, socket errors; the transport's NodeUnreachable
    http.client.HTTPException,
    ProviderConnectionError,
)


def is_outage(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the node did not answer, as opposed to answering no."""
    seen: BaseException | None = exc
    for _ in range(8):  # causes chain briefly; bounded against cycles
        if seen is None:
            return False
        if isinstance(seen, Web3RPCError):
            return False  # the node answered
        if isinstance(seen, OUTAGE_TYPES) and not isinstance(seen, TimeExhausted):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def node_words(exc: BaseException) -> str:
    """The node's own message in a JSON-RPC error answer (the whole error when it has no message)."""
    if isinstance(exc, Web3RPCError) and isinstance(exc.rpc_response, dict):
        error = exc.rpc_response.get("error")
        if isinstance(error, dict) and error.get("message"):
            code = error.get("code")
            return f"{error['message']} (JSON-RPC error {code})" if code is not None else str(error["message"])
    return str(exc)


@dataclass
class Reachability:
    """The process's view of the node: when it last answered, and whether the last attempt failed."""

    last_answer: float = field(default_factory=time.monotonic)
    down_since: float | None = None
    failures: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def answered(self) -> None:
        with self._lock:
            self.last_answer = time.monotonic()
            self.down_since = None
            self.failures = 0

    def failed(self) -> None:
        with self._lock:
            if self.down_since is None:
                self.down_since = time.monotonic()
            self.failures += 1

    @property
    def unreachable(self) -> bool:
        return self.down_since is not None

    def seconds_since_answer(self) -> float:
        """0 while the node answers; else seconds since its last answer (the alert metric)."""
        with self._lock:
            return 0.0 if self.down_since is None else time.monotonic() - self.last_answer


reachability = Reachability()  # one node URL per gateway process: one view of it


@dataclass
class Backoff:
    """Waits between attempts while the node is out of reach: doubling from ``first`` up to ``most`` seconds."""

    first: float = 0.1
    most: float = 5.0
    current: float = 0.0

    def next(self) -> float:
        self.current = self.first if self.current == 0.0 else min(self.current * 2, self.most)
        return self.current

    def reset(self) -> bool:
        """Back to no wait; True if it was waiting (the node is back)."""
        was = self.current > 0.0
        self.current = 0.0
        return was
