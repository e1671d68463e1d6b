"""bench_network.py's CPU figures: a process's CPU time from /proc, per transaction and as a share of wall time,
and the machine's busy and idle share over the same window."""

from __future__ import annotations

import os
import sys
import time

import pytest

from scripts.bench_network import CpuMeter
from scripts.harness.cpu import cpu_seconds

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_cpu_seconds_counts_this_process_cpu_time() -> None:
    before = cpu_seconds([os.getpid()])
    spin(0.2)
    assert cpu_seconds([os.getpid()]) - before >= 0.15
    assert cpu_seconds([os.getpid(), 2**22 + 1]) >= 0.15  # a process that is gone counts nothing


def test_cpu_meter_reports_ms_per_tx_and_utilisation() -> None:
    meter = CpuMeter({"me": os.getpid()})
    wall, cpu = time.monotonic(), time.process_time()
    meter.start()
    spin(0.3)
    figures = meter.stop(count=100)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    assert 2.0 <= figures["cpu_ms_per_tx"]["me"] <= 4.5  # 0.3 s of CPU over 100 transactions
    # on CPU for the share of the window the machine gave it (all of it on an idle machine, less on a busy one)
    share = 100 * cpu / wall
    assert 0.75 * share <= figures["cpu_percent"]["me"] <= 1.25 * share + 5, (figures["cpu_percent"], share)
    assert figures["machine_cpu_percent"] >= figures["cpu_percent"]["me"] - 15  # the machine includes this process
    assert figures["machine_idle_percent"] >= 0
