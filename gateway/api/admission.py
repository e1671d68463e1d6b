"""Read admission: at most ``read_concurrency`` reads in progress per process; state-changing requests never wait.

Reads are CPU work under one interpreter lock: past a few at a time, more concurrent reads add no throughput, they
only share the process with the writes a settlement needs (create, sign, approve). Queued reads wait here, before
any work is done for them, so that under any read load a write competes with a handful of reads rather than with
every open connection. Long polls (``…/wait``) and the health endpoints are not reads of this kind.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

READ_METHODS = frozenset({"GET", "HEAD"})
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/health", "/metrics"})


class ReadAdmission:
    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._slots: asyncio.Semaphore | None = None  # made on the serving loop

    def _is_read(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] not in READ_METHODS:
            return False
        path = str(scope["path"])
        return path not in EXEMPT_PATHS and not path.endswith("/wait")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.limit <= 0 or not self._is_read(scope):
            await self.app(scope, receive, send)
            return
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.limit)
        async with self._slots:
            await self.app(scope, receive, send)
