"""Tails of a table that other processes write (chain events, risk messages, relayed messages): their polling loop, and
their place in a table whose ids are handed out at insert: on PostgreSQL two writers can commit ids out of
order (11 visible before 10), so a tail that only reads above the highest id it passed on would miss 10 for good.
The cursor remembers the ids it skipped and asks for them too, for ``GAP_SECONDS`` (a rolled-back insert leaves a
gap that never fills). On SQLite, one writer at a time, there are no such gaps."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import or_

logger = logging.getLogger(__name__)
GAP_SECONDS = 30.0
MAX_GAPS = 10_000


class GapCursor:
    def __init__(self, last: int) -> None:
        self.last = last
        self._gaps: dict[int, float] = {}  # id -> until when it is awaited

    def after(self, column: Any) -> Any:
        """The condition for rows not yet passed on: above ``last``, or a skipped id still awaited."""
        now = time.monotonic()
        self._gaps = {gap: until for gap, until in self._gaps.items() if until > now}
        if not self._gaps:
            return column > self.last
        return or_(column > self.last, column.in_(sorted(self._gaps)))

    def passed(self, row_id: int) -> None:
        """``row_id`` is passed on (rows are read in id order)."""
        if self._gaps.pop(row_id, None) is not None:
            return
        until = time.monotonic() + GAP_SECONDS
        for gap in range(self.last + 1, row_id):
            if len(self._gaps) >= MAX_GAPS:
                break
            self._gaps[gap] = until
        self.last = max(self.last, row_id)


def poll(tick: Callable[[], int], stop: threading.Event, *, batch: int, poll_seconds: float, name: str) -> None:
    """``tick`` until ``stop``: at once again while it passes on full batches, else after ``poll_seconds``; a failed
    tick is logged and tried again."""
    while not stop.is_set():
        try:
            passed = tick()
        except Exception:
            logger.exception("%s tick failed; retrying", name)
            passed = 0
        if passed < batch:
            stop.wait(poll_seconds)
