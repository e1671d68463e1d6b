"""Budgets for the RPC work that can run long (EVM calls, gas estimation, log scans, traces), so that no client
can starve block production or consensus.

Why: calls and the block builder used to share asyncio's default thread pool, so ten ``eth_call``s of an infinite
loop (each up to the 50M gas cap) delayed a permitted transaction's inclusion from 0.1 s to 26 s, and a 1,000-call
batch held a worker for hours. Now:

- expensive methods run on their own small pool (:class:`CallPool`); the event loop's default executor, which
  block production and QBFT use, never sees them;
- a request (one HTTP body or WebSocket message, a whole batch included) carries one :class:`RequestBudget`:
  a wall-clock budget per call (geth's 5 s ``--rpc.evmtimeout`` is the anchor), checked inside the EVM by
  :class:`BudgetedComputation` (before each precompile too, from its gas), and a gas budget shared by all its
  calls (and all trials of a gas estimate);
- each client (its token's subject, else its address) has at most ``per_client`` calls in flight and the pool at
  most ``queue`` waiting: beyond either, the answer is an immediate -32005 error, never an unbounded queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from eth.abc import ComputationAPI, MessageAPI, StateAPI, TransactionContextAPI
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.opcode_values import JUMP, JUMPI

from node.evm_paths import NodeComputation
from node.exceptions import LimitExceeded
from node.threads import CALL_NICE, lower_thread_priority

T = TypeVar("T")
TIME_CHECK_EVERY = 128  # charges through consume_gas between clock reads (a jump or a dynamic charge: 1 in ~8 opcodes)


@dataclass(frozen=True)
class CallLimits:
    workers: int = 2
    queue: int = 64
    seconds: float = 5.0
    request_gas: int = 150_000_000
    per_client: int = 8


class CallTimeout(LimitExceeded):
    def __init__(self, seconds: float) -> None:
        super().__init__(f"execution aborted (timeout = {seconds:g}s)")


class GasBudgetExhausted(LimitExceeded):
    def __init__(self, gas: int) -> None:
        super().__init__(f"request gas budget exhausted: its calls may use {gas} gas in all")


@dataclass
class RequestBudget:
    """What one request may still spend. Calls of a batch run one after another, so one budget is never charged
    from two threads at once."""

    limits: CallLimits
    gas_left: int = -1
    deadline: float = 0.0
    _charges: int = 0

    def __post_init__(self) -> None:
        if self.gas_left < 0:
            self.gas_left = self.limits.request_gas

    def start_call(self) -> None:
        self.deadline = time.monotonic() + self.limits.seconds
        self._charges = 0

    def require_gas(self) -> None:
        """Before a top-level execution: refuse once the request has used its gas."""
        if self.gas_left <= 0:
            raise GasBudgetExhausted(self.limits.request_gas)

    def spend(self, gas: int) -> None:
        """After a top-level execution: what it used. A request may overrun by at most its last call's gas cap."""
        self.gas_left -= gas

    # seconds one gas of the precompile running now may take (0: no precompile running)
    precompile_rate: float = 0.0

    def tick(self, gas: int = 0) -> None:
        """At every gas charge: the clock is read every ``TIME_CHECK_EVERY`` charges, and at once inside a
        precompile, whose single charge precedes all its work: work that would end past the deadline is refused."""
        self._charges += 1
        if self.precompile_rate:
            if time.monotonic() + gas * self.precompile_rate > self.deadline:
                raise CallTimeout(self.limits.seconds)
        elif self._charges % TIME_CHECK_EVERY == 0 and time.monotonic() > self.deadline:
            raise CallTimeout(self.limits.seconds)

    def check_clock(self) -> None:
        if time.monotonic() > self.deadline:
            raise CallTimeout(self.limits.seconds)


_current = threading.local()


def current_budget() -> RequestBudget | None:
    """The budget of the call this thread runs, if it runs one for a client."""
    return getattr(_current, "budget", None)


@contextlib.contextmanager
def _running(budget: RequestBudget) -> Iterator[None]:
    _current.budget = budget
    budget.start_call()
    try:
        yield
    finally:
        _current.budget = None


# Upper bounds of a precompile's seconds per gas on a slow core (py-evm runs the curve precompiles in pure Python
# through py_ecc; BLAKE2F and MODEXP run natively): one BLAKE2F call of 30M rounds takes about 1.5 s natively
# and a BN254 or BLS12-381 pairing about a second.
_SECONDS_PER_GAS = {
    0x05: 1e-7,  # MODEXP
    0x06: 1e-6,  # BN254 add
    0x07: 1e-6,  # BN254 mul
    0x08: 3e-5,  # BN254 pairing
    0x09: 1e-7,  # BLAKE2F (blake2b-py)
    0x0A: 1e-5,  # KZG point evaluation
}
_BLS_SECONDS_PER_GAS = 3e-5  # 0x0b..0x11, BLS12-381 (EIP-2537)
_DEFAULT_SECONDS_PER_GAS = 1e-6


def _guarded(address: bytes, run: Callable[[ComputationAPI], Any]) -> Callable[[ComputationAPI], Any]:
    """``run`` under the running call's deadline: refused before it starts if its gas says it would end past the
    deadline (a single precompile step never reaches the per-opcode clock check in time), checked after it."""
    number = int.from_bytes(address, "big")
    rate = _SECONDS_PER_GAS.get(number, _BLS_SECONDS_PER_GAS if 0x0B <= number <= 0x11 else _DEFAULT_SECONDS_PER_GAS)

    def guarded(computation: ComputationAPI) -> Any:
        budget = current_budget()
        if budget is None:
            return run(computation)
        budget.check_clock()
        budget.precompile_rate = rate
        try:
            result = run(computation)
        finally:
            budget.precompile_rate = 0.0
        budget.check_clock()
        return result

    return guarded


class BudgetedComputation(NodeComputation):
    """The node's Prague computation (node.evm_paths) under the running call's budget: the clock is checked at gas
    charges made through ``consume_gas`` and each top-level execution's gas used is spent from the request's budget.
    Installed only on the states that RPC calls execute on (never on block building), so consensus execution pays
    nothing for it.

    Plain opcodes keep their inline charge (a method call and a thread-local lookup per opcode were a fifth of an
    ``eth_call``), but for JUMP and JUMPI: every loop passes one, and so does the clock. Between two jumps a message
    runs at most its code once, straight through (24 KiB, 48 KiB of initcode); calls, creates, memory growth and
    every other charge that depends on its operands still come through ``consume_gas``, and precompiles are timed
    apart (``_guarded``)."""

    charged_by_method = frozenset({JUMP, JUMPI})

    _precompiles = {  # noqa: RUF012 (py-evm's own attribute, read-only)
        address: _guarded(address, run) for address, run in PragueComputation.get_precompiles().items()
    }

    def consume_gas(self, amount: int, reason: str) -> None:
        budget = current_budget()
        if budget is not None:
            budget.tick(amount)
        super().consume_gas(amount, reason)

    @classmethod
    def apply_computation(
        cls,
        state: StateAPI,
        message: MessageAPI,
        transaction_context: TransactionContextAPI,
        parent_computation: ComputationAPI | None = None,
    ) -> ComputationAPI:
        budget = current_budget() if message.depth == 0 else None
        if budget is not None:
            budget.require_gas()
        computation = super().apply_computation(state, message, transaction_context, parent_computation)
        if budget is not None:
            budget.spend(message.gas - computation.get_gas_remaining())
        return computation


def budgeted(state: Any) -> Any:
    """``state`` executing with :class:`BudgetedComputation` (an instance attribute shadows the class's)."""
    state.computation_class = BudgetedComputation
    return state


@dataclass
class CallPool:
    """The threads for expensive reads, with a bounded queue and a per-client cap."""

    limits: CallLimits = field(default_factory=CallLimits)

    def __post_init__(self) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=self.limits.workers,
            thread_name_prefix="rpc-call",
            initializer=lower_thread_priority,
            initargs=(CALL_NICE,),
        )
        self._in_flight: dict[str, int] = {}
        self._total = 0
        self.refused = 0  # calls answered "too many" (for /metrics)

    @property
    def in_flight(self) -> int:
        """Calls running or waiting for a thread."""
        return self._total

    async def run(self, client: str, budget: RequestBudget, fn: Callable[..., T], *args: Any) -> T:
        if self._in_flight.get(client, 0) >= self.limits.per_client:
            self.refused += 1
            raise LimitExceeded(f"too many concurrent calls from this client (at most {self.limits.per_client})")
        if self._total >= self.limits.workers + self.limits.queue:
            self.refused += 1
            raise LimitExceeded("node busy: too many calls waiting, try again later")
        self._in_flight[client] = self._in_flight.get(client, 0) + 1
        self._total += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._executor, _call, budget, fn, args)
        finally:
            self._total -= 1
            left = self._in_flight[client] - 1
            if left:
                self._in_flight[client] = left
            else:
                del self._in_flight[client]

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _call(budget: RequestBudget, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
    with _running(budget):
        return fn(*args)
