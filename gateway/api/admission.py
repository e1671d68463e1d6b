"""Read admission: at most ``read_concurrency`` reads in progress per process, and only ``read_concurrency_writing``
while a state-changing request is in progress there; writes never wait.

Reads are CPU work under one interpreter lock: past a few at a time, more concurrent reads add no throughput, they
only share the process with the writes a settlement needs (create, sign, approve). Queued reads wait here, before
any work is done for them, so that under any read load a write competes with a handful of reads rather than with
every open connection; while a write is in progress it competes with fewer still (each of its steps — a database
query, a JSON-RPC call, a thread hop — waits for the interpreter behind every read in progress). Long polls
(``…/wait``, the matching service's ``/v1/gc/instructions``) and the health endpoints are not reads of this kind:
one held in a slot would keep every other read waiting for its answer while a write is in progress.

Settlement work of this process counts as a write (``settling``): with one HTTP worker the relayer and the indexer
are threads of this process, and while a settlement is pending they get the interpreter back after one read, not
eight. (With several workers they run in their own process, at a better priority than the workers.)

A read's slot is given back at the event loop's next turn, not the moment its response is sent. A read served on
the event loop (``inline_reads``) runs from admission to response in one step of its task, so a slot freed at once
was taken again in the same turn: the limit bounded nothing there, one turn of the loop served every request that
had arrived (75 of them under 100 clients, some 200 ms), and a TLS handshake, which needs several turns, took
seconds. Given back a turn later, the slots bound each turn to ``read_concurrency`` reads.

Queued reads are admitted in arrival order: a slot that frees is handed to the longest waiting read, never to one
that arrives at that moment (a condition variable let a newcomer overtake the waiter woken for the slot).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD"})
PASSING_METHODS = frozenset({"OPTIONS"})  # preflights: neither a read to queue nor a write to make room for
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/health", "/metrics"})
LONG_POLLS = frozenset({"/v1/gc/instructions"})  # may hold its answer for the next instruction (``wait``)


class ReadAdmission:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit: int,
        limit_writing: int | None = None,
        settling: Callable[[], bool] | None = None,
    ) -> None:
        self.app = app
        self.limit = limit
        self.limit_writing = limit if limit_writing is None else max(1, min(limit, limit_writing))
        self.settling = settling  # whether settlement work of this process is pending (a write of sorts)
        self.reads = 0
        self.writes = 0
        self._waiting: deque[asyncio.Future[None]] = deque()  # queued reads, oldest first

    def _is_read(self, scope: Scope) -> bool:
        if scope["method"] not in READ_METHODS:
            return False
        path = str(scope["path"])
        return path not in EXEMPT_PATHS and path not in LONG_POLLS and not path.endswith("/wait")

    def _limit_now(self) -> int:
        writing = self.writes or (self.settling is not None and self.settling())
        return self.limit_writing if writing else self.limit

    def _room(self) -> bool:
        return self.reads < self._limit_now()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit <= 0 or scope["type"] != "http" or scope["method"] in PASSING_METHODS:
            await self.app(scope, receive, send)
            return
        if not self._is_read(scope):
            if scope["method"] not in READ_METHODS:
                await self._write(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        await self._admit()
        try:
            await self.app(scope, receive, send)
        finally:
            if loop.is_closed():
                self._release()
            else:
                loop.call_soon(self._release)  # at the next turn: see the module's docstring

    def _release(self) -> None:
        self.reads -= 1
        self._grant()

    async def _admit(self) -> None:
        """Take a slot now if no read is queued and there is room; else queue and wait until one is handed over."""
        self._grant()  # room can open without a read ending (the relayer's settlements done): the queue goes first
        if not self._waiting and self._room():
            self.reads += 1
            return
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            if turn.done() and not turn.cancelled():  # handed a slot, then cancelled: give it on
                self.reads -= 1
                self._grant()
            elif turn in self._waiting:  # else a grant already passed over it
                self._waiting.remove(turn)
            raise

    def _grant(self) -> None:
        """Hand the room there is now to the reads that waited longest."""
        while self._waiting and self._room():
            turn = self._waiting.popleft()
            if not turn.done():
                self.reads += 1
                turn.set_result(None)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A write passes at once; while it is in progress, reads are admitted up to ``limit_writing``."""
        self.writes += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.writes -= 1
            if not self.writes:
                self._grant()
