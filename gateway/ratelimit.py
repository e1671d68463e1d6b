"""Rate limits per IP, per principal (user or API client) and per flow, with the ``limits`` library.

Storage is in memory by default and Redis (or anything ``limits`` supports) by URL, so that several
gateway processes share one budget. The strategy is the sliding window counter: two counters per key, weighted
by how far the current window has run, in constant memory and time per request (a moving window keeps and sweeps
a timestamp per request, which costs more than the request itself at hundreds per second).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from gateway.exceptions import RateLimited


class RateLimiter:
    def __init__(self, storage_url: str) -> None:
        self.storage = storage_from_string(storage_url)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self._items: dict[str, RateLimitItem] = {}

    def _item(self, spec: str) -> RateLimitItem:
        if spec not in self._items:
            self._items[spec] = parse(spec)
        return self._items[spec]

    def hit(self, spec: str, *identifiers: str) -> None:
        """Count one request; raise RateLimited (with seconds to wait) when over ``spec``."""
        item = self._item(spec)
        if self.strategy.hit(item, "reponet", *identifiers):
            return
        stats = self.strategy.get_window_stats(item, "reponet", *identifiers)
        raise RateLimited(retry_after=math.ceil(stats.reset_time - time.time()), detail=f"limit {spec} exceeded")

    def reset(self) -> None:
        self.storage.reset()
