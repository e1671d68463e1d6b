"""CPU seconds of processes from Linux /proc, for the benchmarks' per-process figures (a process that is gone, or a
system without /proc, counts nothing)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pids: Iterable[int], *, children: bool = False) -> float:
    """User plus system CPU seconds the processes have used so far; with ``children``, also their reaped children's
    (a supervisor's workers that have exited)."""
    last = 15 if children else 13  # utime, stime, then cutime, cstime: fields 14 to 17 of stat
    total = 0
    for pid in pids:
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:last])
    return total / CLOCK_TICKS
