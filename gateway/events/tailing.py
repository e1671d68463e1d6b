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


class Wake:
    """When a tail reads again: every ``seconds``, or at once when rung. An HTTP worker's doorbell rings its tails
    when its table has new rows: a block indexed, messages relayed or risk messages committed on this machine
    (``gateway.workers``, by the ring's ``topic``); the tail then polls only ``rung_seconds`` apart, for a ring that
    was lost or a writer the doorbell does not reach (another host): an idle worker's tails then cost a read a
    second, not ten, and a block indexed does not make its risk and relayed message tails read."""

    def __init__(self, seconds: float, rung_seconds: float, topic: bytes | None = None) -> None:
        self.seconds = seconds
        self.rung_seconds = rung_seconds
        self.topic = topic  # the doorbell's rings about this (``gateway.settlement_records.bell``); None: every ring
        self.event = threading.Event()
        self.doorbell = False

    def ring(self) -> None:
        self.event.set()

    def rung_by_doorbell(self) -> None:
        """A doorbell rings this tail from now on: poll less often."""
        self.seconds, self.doorbell = self.rung_seconds, True

    def wait(self, stop: threading.Event, at_most: float | None = None) -> None:
        """Until the next ring or ``seconds`` (or ``at_most``, if sooner); with no doorbell (nothing rings) on
        ``stop`` instead, so that a stopping process is not held for a poll's length."""
        seconds = self.seconds if at_most is None else max(0.0, min(self.seconds, at_most))
        (self.event if self.doorbell else stop).wait(seconds)


def poll(tick: Callable[[], int], stop: threading.Event, *, batch: int, wake: Wake, name: str) -> None:
    """``tick`` until ``stop``: at once again while it passes on full batches, else at the next ring or after
    ``wake.seconds``; a failed tick is logged and tried again."""
    while not stop.is_set():
        wake.event.clear()  # before the read: a ring during it makes the wait below return at once
        try:
            passed = tick()
        except Exception:
            logger.exception("%s tick failed; retrying", name)
            passed = 0
        if passed < batch:
            wake.wait(stop)
