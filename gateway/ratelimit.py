"""Rate limits per IP, per principal (user or API client) and per flow.

The strategy is the sliding window counter: two counters per key (this window and the last), the last one weighted
by how much of it still overlaps the sliding window; constant memory and time per request. A moving window keeps
and sweeps a timestamp per request, which costs more than the request itself at hundreds per second.

In one process (``memory://``) the counters are a dictionary under a lock. The ``limits`` library's memory storage
starts a timer thread every 10 ms to expire keys, a thread per hundred requests at load; here stale keys are swept
lazily instead. ``file:///path`` shares the same counters between the processes of one machine through a
memory-mapped file (``gateway.shared_counters``): the HTTP workers of ``reponet up`` count against one budget
without a server. Any other URL (Redis, ...) goes through ``limits``, so that gateway processes on several
machines share one budget.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from gateway.exceptions import RateLimited
from gateway.shared_counters import SharedCounters

SWEEP_EVERY = 10_000  # hits between sweeps of keys whose windows have both passed


@dataclass(frozen=True)
class Limit:
    amount: int
    seconds: float

    @classmethod
    def parse(cls, spec: str) -> Limit:
        item = parse(spec)
        return cls(item.amount, float(item.get_expiry()))


class MemoryCounters:
    """Sliding window counters of one process: ``key -> [window index, last window's count, this window's,
    window seconds]``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[tuple[str, ...], list[int]] = {}
        self._hits = 0

    def hit(self, limit: Limit, key: tuple[str, ...], now: float | None = None) -> float:
        """Count one request and return 0, or count nothing and return the seconds until one would pass."""
        now = time.time() if now is None else now
        window, elapsed = divmod(now, limit.seconds)
        index = int(window)
        with self._lock:
            self._hits += 1
            if self._hits % SWEEP_EVERY == 0:
                self._sweep(now)
            counter = self._counters.get(key)
            if counter is None:
                counter = self._counters[key] = [index, 0, 0, math.ceil(limit.seconds)]
            elif counter[0] != index:
                counter[1] = counter[2] if counter[0] == index - 1 else 0
                counter[2] = 0
                counter[0] = index
            previous, current = counter[1], counter[2]
            remaining = 1 - elapsed / limit.seconds  # share of the last window still inside the sliding one
            if previous * remaining + current + 1 <= limit.amount:
                counter[2] += 1
                return 0.0
        return sliding_wait(limit, previous, current, elapsed)

    def _sweep(self, now: float) -> None:
        for key, counter in list(self._counters.items()):
            if int(now // counter[3]) - counter[0] > 1:
                del self._counters[key]

    def reset(self) -> None:
        with self._lock:
            self._counters.clear()


def sliding_wait(limit: Limit, previous: int, current: int, elapsed: float) -> float:
    """Seconds until ``previous * (1 - f) + current + 1 <= amount``, in this window or the next."""
    if current + 1 <= limit.amount and previous > 0:
        share = 1 - (limit.amount - current - 1) / previous
        return max(share * limit.seconds - elapsed, 0.0)
    # The next window: this window's count becomes the weighted one.
    share = 1 - (limit.amount - 1) / current if current else 0.0
    return limit.seconds - elapsed + max(share, 0.0) * limit.seconds


class FileCounters:
    """``MemoryCounters``' ``hit`` over counters every process of the machine maps (``gateway.shared_counters``)."""

    def __init__(self, path: Path) -> None:
        self._counters = SharedCounters(path)

    def hit(self, limit: Limit, key: tuple[str, ...], now: float | None = None) -> float:
        count = self._counters.hit(limit.amount, limit.seconds, key, now)
        return 0.0 if count.allowed else sliding_wait(limit, count.previous, count.current, count.elapsed)

    def reset(self) -> None:
        self._counters.reset()


class RateLimiter:
    """``hit`` counts against a limit spec. In memory, counters are per process: a gateway of ``processes`` HTTP
    workers gives each worker its share of every limit (rounded down, at least one), so that all of them together
    never let more through than the limit says; a shared store (Redis) counts every worker against the whole."""

    def __init__(self, storage_url: str, *, processes: int = 1) -> None:
        self._memory: MemoryCounters | FileCounters | None = None
        self._processes = 1
        self._shared = None
        if storage_url.startswith("memory://"):
            self._processes = max(1, processes)
            self._memory = MemoryCounters()
        elif storage_url.startswith("file://"):
            self._memory = FileCounters(Path(storage_url.removeprefix("file://")))
        else:
            self._shared = SlidingWindowCounterRateLimiter(storage_from_string(storage_url))
        self._limits: dict[str, Limit] = {}
        self._items: dict[str, RateLimitItem] = {}

    def hit(self, spec: str, *identifiers: str) -> None:
        """Count one request; raise RateLimited (with seconds to wait) when over ``spec``."""
        if self._memory is not None:
            limit = self._limits.get(spec)
            if limit is None:
                whole = Limit.parse(spec)
                limit = self._limits[spec] = Limit(max(1, whole.amount // self._processes), whole.seconds)
            wait = self._memory.hit(limit, (spec, *identifiers))
            if wait:
                raise RateLimited(retry_after=max(1, math.ceil(wait)), detail=f"limit {spec} exceeded")
            return
        assert self._shared is not None
        item = self._items.get(spec)
        if item is None:
            item = self._items[spec] = parse(spec)
        if self._shared.hit(item, "reponet", *identifiers):
            return
        reset_at = self._shared.get_window_stats(item, "reponet", *identifiers).reset_time
        raise RateLimited(retry_after=max(1, math.ceil(reset_at - time.time())), detail=f"limit {spec} exceeded")

    def reset(self) -> None:
        if self._memory is not None:
            self._memory.reset()
        else:
            assert self._shared is not None
            self._shared.storage.reset()
