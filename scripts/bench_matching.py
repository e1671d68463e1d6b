#!/usr/bin/env python3
"""Benchmark the GC matching engine (``gateway.matching.book.Book``) in process: orders/s it sustains and the p99
order-to-match latency with 10,000 resting orders over 12 instruments (2 baskets × ON, TN, 1W, 2W, 1M, 3M).

The book is seeded with ``--resting`` non-crossing LIMIT orders (lenders 3.00–3.49 %, borrowers 2.50–2.99 %) among
``--members`` members with credit limits toward each other. Then ``--orders`` operations run against it: about a
third aggressive (crossing IOC or LIMIT orders that take one to a few resting orders), the rest passive LIMIT orders
and cancels that hold the book near ``--resting``; a few amends. Each operation is timed alone (perf_counter_ns
around the engine call; the random draws are made beforehand). Orders/s is operations over the engine's time.

The machine is shared, so a reference runs in the same process right before: a fixed pure-Python workload (a
heap of ``--orders`` pushes and pops), reported as operations/s, with the one-minute load average.

    .venv/bin/python scripts/bench_matching.py                 # figures and the targets
    .venv/bin/python scripts/bench_matching.py --json          # one JSON object
"""

from __future__ import annotations

import argparse
import enum
import heapq
import json
import os
import random
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.matching.book import Book
from gateway.matching.credit import CreditLimits
from gateway.matching.exceptions import InvalidOrder, OrderNotFound
from gateway.matching.instruments import Basket, EligibleBond, Instrument, Tenor
from gateway.matching.orders import Order, Side, TimeInForce

BP = 10**14
UNIT = 10**6  # cash token smallest units per currency unit
TARGET_ORDERS_PER_S = 5_000
TARGET_P99_MS = 5.0


class Kind(enum.Enum):
    SUBMIT = "submit"
    CANCEL = "cancel"
    AMEND = "amend"


@dataclass(frozen=True)
class Op:
    kind: Kind
    order: Order | None
    pick: int
    rate_e18: int


@dataclass
class Result:
    instruments: int
    members: int
    resting_start: int
    resting_end: int
    operations: int
    submits: int
    cancels: int
    amends: int
    misses: int
    fills: int
    matching_orders: int
    engine_seconds: float
    orders_per_s: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    p99_match_ms: float
    reference_ops_per_s: float
    load_1m: float
    meets_targets: bool


def instruments() -> list[Instrument]:
    baskets = [
        Basket("GC-EUR-A", "EUR", (EligibleBond("DE0001102580", 200), EligibleBond("FR0013508470", 300))),
        Basket("GC-USD-T", "USD", (EligibleBond("US91282CJL54", 200),)),
    ]
    return [Instrument(basket.basket_id, tenor) for basket in baskets for tenor in Tenor]


def make_book(members: list[str], books: list[Instrument]) -> Book:
    credit = CreditLimits()
    for member in members:
        for other in members:
            if member != other:
                credit.set_limit(member=member, counterparty=other, limit_units=10**18)
    return Book(instruments=books, credit=credit)


def passive(rng: random.Random, order_id: str, members: list[str], books: list[Instrument]) -> Order:
    side = rng.choice((Side.LEND, Side.BORROW))
    rate = rng.randint(300, 349) if side is Side.LEND else rng.randint(250, 299)
    size = rng.randint(1, 50) * UNIT
    return Order(order_id, rng.choice(members), rng.choice(books), side, rate * BP, size, rng.choice((1, UNIT)))


def aggressive(rng: random.Random, order_id: str, members: list[str], books: list[Instrument]) -> Order:
    side = rng.choice((Side.LEND, Side.BORROW))
    rate = rng.randint(290, 299) if side is Side.LEND else rng.randint(300, 309)  # crosses the first levels
    tif = rng.choice((TimeInForce.IOC, TimeInForce.LIMIT, TimeInForce.FOK))
    size = rng.randint(1, 60) * UNIT
    return Order(order_id, rng.choice(members), rng.choice(books), side, rate * BP, size, 1, tif)


def plan(rng: random.Random, count: int, members: list[str], books: list[Instrument]) -> list[Op]:
    ops: list[Op] = []
    for n in range(count):
        draw = rng.random()
        order_id = f"m{n}"
        if draw < 0.33:
            ops.append(Op(Kind.SUBMIT, aggressive(rng, order_id, members, books), 0, 0))
        elif draw < 0.66:
            ops.append(Op(Kind.SUBMIT, passive(rng, order_id, members, books), 0, 0))
        elif draw < 0.95:
            ops.append(Op(Kind.CANCEL, None, rng.randrange(1 << 30), 0))
        else:
            ops.append(Op(Kind.AMEND, None, rng.randrange(1 << 30), rng.randint(-3, 3) * BP))
    return ops


def percentile(sorted_ns: list[int], q: float) -> float:
    if not sorted_ns:
        return 0.0
    return sorted_ns[min(len(sorted_ns) - 1, int(q * len(sorted_ns)))] / 1e6


def reference(count: int) -> float:
    """A fixed pure-Python workload, to compare runs on a shared machine: heap pushes and pops per second."""
    rng = random.Random(7)
    values = [rng.random() for _ in range(count)]
    heap: list[float] = []
    start = time.perf_counter()
    for value in values:
        heapq.heappush(heap, value)
    while heap:
        heapq.heappop(heap)
    return 2 * count / (time.perf_counter() - start)


def run(*, resting: int, orders: int, member_count: int, seed: int) -> Result:
    rng = random.Random(seed)
    members = [f"member-{i:02d}" for i in range(member_count)]
    books = instruments()
    book = make_book(members, books)
    live: list[str] = []
    for n in range(resting):
        order = passive(rng, f"r{n}", members, books)
        book.submit(order)
        live.append(order.order_id)
    resting_start = book.live_orders()
    ops = plan(rng, orders, members, books)
    reference_ops = reference(orders)
    latencies: list[int] = []
    match_latencies: list[int] = []
    fills = submits = cancels = amends = misses = 0
    clock = time.perf_counter_ns
    for op in ops:
        if op.kind is Kind.SUBMIT and op.order is not None:
            start = clock()
            outcome = book.submit(op.order)
            took = clock() - start
            submits += 1
            if outcome.fills:
                fills += len(outcome.fills)
                match_latencies.append(took)
            if book.resting(op.order.order_id) is not None:
                live.append(op.order.order_id)
        else:
            index = op.pick % len(live)
            order_id = live[index]
            live[index] = live[-1]
            live.pop()
            start = clock()
            try:
                if op.kind is Kind.CANCEL:
                    book.cancel(order_id)
                    cancels += 1
                else:
                    current = book.resting(order_id)
                    new_rate = None if current is None else current.order.rate_e18 + op.rate_e18
                    outcome = book.amend(order_id, rate_e18=new_rate)
                    amends += 1
                    fills += len(outcome.fills)
                    live.append(order_id)
            except (OrderNotFound, InvalidOrder):
                misses += 1  # already filled or cancelled: the engine still answered
            took = clock() - start
        latencies.append(took)
    engine_seconds = sum(latencies) / 1e9
    latencies.sort()
    match_latencies.sort()
    p99 = percentile(latencies, 0.99)
    p99_match = percentile(match_latencies, 0.99)
    per_s = len(latencies) / engine_seconds
    return Result(
        instruments=len(books),
        members=member_count,
        resting_start=resting_start,
        resting_end=book.live_orders(),
        operations=len(latencies),
        submits=submits,
        cancels=cancels,
        amends=amends,
        misses=misses,
        fills=fills,
        matching_orders=len(match_latencies),
        engine_seconds=round(engine_seconds, 4),
        orders_per_s=round(per_s),
        p50_ms=round(percentile(latencies, 0.50), 4),
        p99_ms=round(p99, 4),
        max_ms=round(latencies[-1] / 1e6, 3),
        p99_match_ms=round(p99_match, 4),
        reference_ops_per_s=round(reference_ops),
        load_1m=round(os.getloadavg()[0], 2),
        meets_targets=per_s >= TARGET_ORDERS_PER_S and max(p99, p99_match) < TARGET_P99_MS,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resting", type=int, default=10_000, help="resting orders before the run")
    parser.add_argument("--orders", type=int, default=50_000, help="operations measured")
    parser.add_argument("--members", type=int, default=40)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    result = run(resting=args.resting, orders=args.orders, member_count=args.members, seed=args.seed)
    if args.json:
        print(json.dumps(asdict(result)))
    else:
        print(
            f"book: {result.instruments} instruments, {result.members} members, "
            f"{result.resting_start} resting at start, {result.resting_end} at end"
        )
        print(
            f"ops: {result.operations} ({result.submits} orders, {result.cancels} cancels, {result.amends} amends, "
            f"{result.misses} cancels/amends of orders already gone), "
            f"{result.fills} fills from {result.matching_orders} matching orders"
        )
        print(
            f"engine: {result.orders_per_s:,} orders/s (target >= {TARGET_ORDERS_PER_S:,}); latency p50 "
            f"{result.p50_ms} ms, p99 {result.p99_ms} ms, p99 of matching orders {result.p99_match_ms} ms "
            f"(target < {TARGET_P99_MS} ms), max {result.max_ms} ms"
        )
        print(f"reference: {result.reference_ops_per_s:,} heap ops/s; load average (1 min) {result.load_1m}")
        print("targets met" if result.meets_targets else "targets NOT met")
    return 0 if result.meets_targets else 1


if __name__ == "__main__":
    raise SystemExit(main())
