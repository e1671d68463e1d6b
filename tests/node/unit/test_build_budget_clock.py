"""node.build_budget: a build's budget is its own thread's CPU time, with a wall-clock ceiling.

On a busy machine the building thread waits for the cores; that wait must not spend the budget (it cut ordinary
blocks short), while a build that gets no CPU at all still ends at the ceiling.
"""

from __future__ import annotations

import math
import threading
import time

from node.build_budget import WALL_FACTOR, BuildBudget
from node.qbft.chain import QbftChain


def _cpu_only(seconds: float) -> BuildBudget:
    """The CPU part alone (no ceiling): the machine's load decides how long the wall clock runs meanwhile."""
    return BuildBudget(time.thread_time() + seconds, math.inf)


def _burn(seconds: float) -> None:
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def test_waiting_does_not_spend_the_budget() -> None:
    budget = _cpu_only(0.2)
    time.sleep(0.3)  # off the CPU, as when other processes hold the cores: a wall-clock budget would be spent
    assert not budget.spent()
    _burn(0.25)
    assert budget.spent()


def test_other_threads_cpu_does_not_spend_it() -> None:
    budget = _cpu_only(0.2)
    other = threading.Thread(target=_burn, args=(0.3,))
    other.start()
    other.join()
    assert not budget.spent()


def test_the_wall_clock_ceiling_ends_a_starved_build() -> None:
    budget = BuildBudget.start(0.05)
    time.sleep(0.05 * WALL_FACTOR + 0.05)
    assert budget.spent()


def test_a_fresh_budget_is_not_spent() -> None:
    assert not BuildBudget.start(5.0).spent()


def test_a_qbft_proposal_is_built_within_the_round_timeout() -> None:
    """A proposal still being built when round 0 times out cannot be agreed in it: the ceiling is the timeout."""
    chain = object.__new__(QbftChain)  # build_budget reads only the two settings below
    chain.build_seconds = 2.0
    chain.round_timeout = 1.0
    before = time.monotonic()
    budget = chain.build_budget()
    assert budget.wall_deadline - before <= 1.0 + 0.05
    chain.round_timeout = 60.0
    assert chain.build_budget().wall_deadline - before >= 2.0 * WALL_FACTOR - 0.05
