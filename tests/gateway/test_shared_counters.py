"""Rate limits counted in a shared memory-mapped file: the same sliding window as in memory, one budget for every
process that maps the file (real processes here), so ``reponet up`` can run several HTTP workers without Redis."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from gateway.exceptions import RateLimited
from gateway.ratelimit import FileCounters, Limit, MemoryCounters, RateLimiter
from gateway.shared_counters import SharedCounters

START = 6000.0


def test_the_same_window_as_in_memory(tmp_path: Path) -> None:
    shared, memory, limit = FileCounters(tmp_path / "c.bin"), MemoryCounters(), Limit(5, 60.0)
    moments = [START + i for i in range(7)] + [START + 90] * 4 + [START + 200]
    for key in (("a",), ("b", "x")):
        assert [shared.hit(limit, key, t) for t in moments] == [memory.hit(limit, key, t) for t in moments]


def test_expired_slots_are_reused(tmp_path: Path) -> None:
    shared, limit = FileCounters(tmp_path / "c.bin"), Limit(1, 10.0)
    assert shared.hit(limit, ("k",), START) == 0.0
    assert shared.hit(limit, ("k",), START + 1) > 0
    assert shared.hit(limit, ("k",), START + 25) == 0.0  # both windows passed: the key starts again


def _hammer(path: str, hits: int, out: multiprocessing.Queue[int]) -> None:
    limiter = RateLimiter(f"file://{path}", processes=2)
    passed = 0
    for _ in range(hits):
        try:
            limiter.hit("50/minute", "login", "203.0.113.7")
            passed += 1
        except RateLimited:
            pass
    out.put(passed)


def test_processes_share_one_budget(tmp_path: Path) -> None:
    """Four processes, 40 tries each, against 50 a minute: exactly 50 pass in all. Per-process memory counters with
    ``processes=2`` would let each process 25 (100 in all); without a lock, lost updates would let more through."""
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = context.Queue()
    path = str(tmp_path / "ratelimits.bin")
    workers = [context.Process(target=_hammer, args=(path, 40, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    passed = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=30)
    assert sum(passed) == 50


def _count(path: str, hits: int, out: multiprocessing.Queue[int]) -> None:
    counters = SharedCounters(Path(path))
    for _ in range(hits):
        counters.hit(10**9, 3600.0, ("busy",), now=START)
    out.put(hits)


def test_concurrent_hits_are_never_lost(tmp_path: Path) -> None:
    """Every hit of four processes racing on one key is counted: the file lock makes each read-modify-write whole.
    Without it, two processes read the same count and one increment is lost (thousands were, when tried)."""
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue[int] = context.Queue()
    path = str(tmp_path / "ratelimits.bin")
    workers = [context.Process(target=_count, args=(path, 5000, out)) for _ in range(4)]
    for worker in workers:
        worker.start()
    sent = sum(out.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=30)
    final = SharedCounters(Path(path)).hit(10**9, 3600.0, ("busy",), now=START)
    assert final.current == sent + 1


def test_shared_limits_are_not_divided_among_workers(tmp_path: Path) -> None:
    limiter = RateLimiter(f"file://{tmp_path / 'c.bin'}", processes=2)
    for _ in range(10):
        limiter.hit("10/minute", "k")
    with pytest.raises(RateLimited):
        limiter.hit("10/minute", "k")
