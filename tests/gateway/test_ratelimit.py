"""The in-process sliding window counter: what passes, what waits and for how long, and that stale keys go."""

from __future__ import annotations

import pytest

from gateway import ratelimit
from gateway.exceptions import RateLimited
from gateway.ratelimit import Limit, MemoryCounters, RateLimiter

START = 6000.0  # the start of a 60-second window


def test_a_window_admits_its_amount_then_says_when_the_next_request_passes() -> None:
    counters, limit = MemoryCounters(), Limit(5, 60.0)
    assert [counters.hit(limit, ("k",), START + i) for i in range(5)] == [0.0] * 5
    wait = counters.hit(limit, ("k",), START + 5)
    # Next window, 12 s in: the last window's 5 weigh 4, and one more makes the limit exactly.
    assert wait == pytest.approx(67.0)
    assert counters.hit(limit, ("k",), START + 5 + wait - 0.01) > 0
    assert counters.hit(limit, ("k",), START + 5 + wait) == 0.0


def test_the_last_window_weighs_by_its_overlap() -> None:
    counters, limit = MemoryCounters(), Limit(5, 60.0)
    for i in range(5):
        counters.hit(limit, ("k",), START + i)
    halfway = START + 90  # the last window's 5 weigh 2.5: two more pass, the third waits
    assert counters.hit(limit, ("k",), halfway) == 0.0
    assert counters.hit(limit, ("k",), halfway) == 0.0
    assert counters.hit(limit, ("k",), halfway) == pytest.approx(6.0)
    assert counters.hit(limit, ("other",), halfway) == 0.0  # keys are independent


def test_refused_requests_do_not_count() -> None:
    counters, limit = MemoryCounters(), Limit(1, 10.0)
    assert counters.hit(limit, ("k",), START) == 0.0
    for _ in range(100):
        assert counters.hit(limit, ("k",), START + 1) > 0
    assert counters.hit(limit, ("k",), START + 20) == 0.0  # two windows on, nothing weighs


def test_stale_keys_are_swept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ratelimit, "SWEEP_EVERY", 10)
    counters, limit = MemoryCounters(), Limit(5, 60.0)
    for i in range(9):
        counters.hit(limit, (f"ip{i}",), START)
    assert len(counters._counters) == 9
    counters.hit(limit, ("late",), START + 180)  # the tenth hit sweeps; the nine are two windows old
    assert list(counters._counters) == [("late",)]


def test_limiter_raises_with_retry_after() -> None:
    limiter = RateLimiter("memory://")
    limiter.hit("2/minute", "ip", "192.0.2.1")
    limiter.hit("2/minute", "ip", "192.0.2.1")
    with pytest.raises(RateLimited) as excinfo:
        limiter.hit("2/minute", "ip", "192.0.2.1")
    assert 1 <= excinfo.value.retry_after <= 120
    limiter.hit("2/minute", "ip", "192.0.2.2")
    limiter.reset()
    limiter.hit("2/minute", "ip", "192.0.2.1")


def test_in_memory_limits_are_shared_out_among_http_workers() -> None:
    """Two HTTP workers with in-memory counters: each lets through half, so both together never exceed the limit
    (fails if each worker counted against the whole limit)."""
    workers = [RateLimiter("memory://", processes=2) for _ in range(2)]
    passed = 0
    for limiter in workers:
        for _ in range(4):
            try:
                limiter.hit("4/minute", "ip", "192.0.2.1")
                passed += 1
            except RateLimited:
                pass
    assert passed == 4
    one = RateLimiter("memory://", processes=8)
    one.hit("4/minute", "ip", "192.0.2.9")  # a share never rounds down to nothing
    with pytest.raises(RateLimited):
        one.hit("4/minute", "ip", "192.0.2.9")
