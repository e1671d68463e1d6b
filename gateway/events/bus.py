"""In-process publish/subscribe of indexed chain events, per organization (feeds the WebSocket stream)."""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any


class EventBus:
    """Subscribers are asyncio queues; publishing is thread-safe (the indexer runs in a thread)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscribers: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]], uuid.UUID]] = {}
        self._next = 0

    def subscribe(self, organization_id: uuid.UUID) -> tuple[int, asyncio.Queue[dict[str, Any]]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        loop = asyncio.get_running_loop()
        with self._lock:
            self._next += 1
            self._subscribers[self._next] = (loop, queue, organization_id)
            return self._next, queue

    def unsubscribe(self, token: int) -> None:
        with self._lock:
            self._subscribers.pop(token, None)

    def publish(self, event: dict[str, Any], organizations: set[uuid.UUID]) -> None:
        with self._lock:
            targets = [(loop, q) for loop, q, org in self._subscribers.values() if org in organizations]
        for loop, queue in targets:
            loop.call_soon_threadsafe(_put, queue, event)


def _put(queue: asyncio.Queue[dict[str, Any]], event: dict[str, Any]) -> None:
    if not queue.full():
        queue.put_nowait(event)
