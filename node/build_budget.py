"""How long one block build may go on adding transactions: the building thread's CPU time, with a wall-clock ceiling.

Why CPU time: the budget is there so that no mix of expensive transactions holds a block (and the chain) for long.
Counted in wall-clock time it also charged a build for every moment other processes held the cores: on a busy
machine (load 6 on two cores) an ordinary 700-transaction ERC-20 block took 3.1 s of wall clock for well under a
second of its own CPU, and a 2 s wall-clock budget cut such blocks short into more, smaller ones. The thread's CPU
time is what its transactions cost; the wall-clock ceiling (``WALL_FACTOR`` times the budget) still ends a build
that gets almost no CPU at all, so no build outlasts it however starved it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

WALL_FACTOR = 3.0


@dataclass(frozen=True)
class BuildBudget:
    cpu_deadline: float  # time.thread_time() of the building thread
    wall_deadline: float  # time.monotonic()

    @classmethod
    def start(cls, seconds: float, wall_seconds: float | None = None) -> BuildBudget:
        """A budget of ``seconds`` of CPU time from now, ``wall_seconds`` (default ``WALL_FACTOR * seconds``) of
        wall clock at most. Call it on the thread that builds: CPU time is per thread."""
        wall = seconds * WALL_FACTOR if wall_seconds is None else wall_seconds
        return cls(time.thread_time() + seconds, time.monotonic() + wall)

    def spent(self) -> bool:
        """Whether the build should stop adding transactions (checked on the building thread)."""
        return time.thread_time() > self.cpu_deadline or time.monotonic() > self.wall_deadline
