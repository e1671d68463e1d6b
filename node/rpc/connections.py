"""Connections to the JSON-RPC port: at most so many per client address, and closed when idle.

aiohttp's protocol is wrapped at the transport: a connection over its address's cap is closed before any byte is
read, and one that sends nothing for ``idle_seconds`` after it opens (or between HTTP keep-alive requests, which
aiohttp's own keep-alive timeout covers) is closed too. WebSocket idleness is checked by the server, which knows
whether the client has subscriptions.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)


class ConnectionTracker:
    def __init__(self, per_address: int, idle_seconds: float) -> None:
        self.per_address = per_address
        self.idle_seconds = idle_seconds
        self._open: dict[str, int] = {}
        self.refused = 0  # connections closed at once: over their address's cap (for /metrics)
        self.idle_closed = 0  # connections closed for sending nothing (for /metrics)

    def admit(self, address: str) -> bool:
        count = self._open.get(address, 0)
        if count >= self.per_address:
            self.refused += 1
            return False
        self._open[address] = count + 1
        return True

    def release(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)

    def factory(self, inner: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        return lambda: TrackedProtocol(self, inner())


class TrackedProtocol(asyncio.Protocol):
    """Delegates to aiohttp's request handler once the connection is admitted."""

    def __init__(self, tracker: ConnectionTracker, inner: asyncio.Protocol) -> None:
        self._tracker = tracker
        self._inner = inner
        self._address: str | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"
        if not self._tracker.admit(address):
            logger.info("rpc: connection from %s refused, %d already open", address, self._tracker.per_address)
            transport.close()
            return
        self._address = address
        self._transport = transport
        self._idle = asyncio.get_running_loop().call_later(self._tracker.idle_seconds, self._close_idle)
        self._inner.connection_made(transport)

    def _close_idle(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._tracker.idle_closed += 1
            self._transport.close()

    def data_received(self, data: bytes) -> None:
        if self._idle is not None:  # the first bytes: from now on aiohttp's own timeouts apply
            self._idle.cancel()
            self._idle = None
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is None:
            return
        if self._idle is not None:
            self._idle.cancel()
        self._tracker.release(self._address)
        self._address = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def __getattr__(self, name: str) -> Any:  # aiohttp reads a few attributes of its protocol
        return getattr(self._inner, name)
