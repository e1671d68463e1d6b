"""Combining sources into one price per pair: the median of the fresh quotes, behind guards.

- staleness: a quote older than ``max_age_seconds`` does not count; a source with none fresh for a pair it served,
  or that could not be read, raises a ``quiet`` alarm;
- quorum: fewer than ``min_sources`` fresh quotes give no price (alarm ``too_few``);
- disagreement: a fresh quote more than ``max_spread_bps`` from the median raises ``disagrees`` (it still counts:
  the median is what resists one bad source);
- jump: a median more than ``max_jump_bps`` from the last price posted is held (alarm ``jump``) until it has been
  seen on ``jump_rounds`` rounds in a row, within the spread of each other; then it is posted, and the gateway's
  own bound (a second operator person for a large move) and the oracle's on-chain bounds still apply.

Pure: the feed runner keeps the state (``FeedState``) between rounds."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from gateway.risk.feeds.sources import Pair, Quote

BPS = Decimal(10_000)


class AlarmKind(StrEnum):
    QUIET = "quiet"  # a source unreadable, or without a fresh quote for a pair it served
    DISAGREES = "disagrees"  # a source far from the median
    TOO_FEW = "too_few"  # not enough fresh sources for a price
    JUMP = "jump"  # the median moved beyond the jump guard: held


@dataclass(frozen=True)
class Alarm:
    kind: AlarmKind
    pair: Pair | None
    source: str | None
    detail: str


@dataclass(frozen=True)
class Guards:
    max_age_seconds: float = 300.0
    min_sources: int = 2
    max_spread_bps: int = 100
    max_jump_bps: int = 500
    jump_rounds: int = 3


@dataclass
class FeedState:
    """What the feed remembers between rounds: the last price posted per pair, a held jump's run, the pairs each
    source has served."""

    posted: dict[Pair, Decimal] = field(default_factory=dict)
    held: dict[Pair, list[Decimal]] = field(default_factory=dict)
    served: dict[str, set[Pair]] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    prices: dict[Pair, Decimal]  # to post this round
    medians: dict[Pair, Decimal]  # every pair with a quorum (held ones included)
    alarms: list[Alarm]


def median(values: list[Decimal]) -> Decimal:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _bps(a: Decimal, b: Decimal) -> Decimal:
    return abs(a - b) * BPS / b


def combine(
    quotes: dict[str, list[Quote]], unreadable: dict[str, str], *, now: float, guards: Guards, state: FeedState
) -> Decision:
    """One round: ``quotes`` per readable source, ``unreadable`` sources with why. Updates ``state``."""
    alarms = [Alarm(AlarmKind.QUIET, None, name, why) for name, why in sorted(unreadable.items())]
    fresh: dict[Pair, list[Quote]] = {}
    for name, rows in sorted(quotes.items()):
        seen = state.served.setdefault(name, set())
        fresh_pairs = set()
        for q in rows:
            seen.add(q.pair)
            if now - q.at <= guards.max_age_seconds and q.at <= now + 60:
                fresh.setdefault(q.pair, []).append(q)
                fresh_pairs.add(q.pair)
        for pair in sorted(seen - fresh_pairs, key=lambda p: (p.asset, p.quote)):
            alarms.append(Alarm(AlarmKind.QUIET, pair, name, f"no quote younger than {guards.max_age_seconds:g} s"))
    pairs = set(fresh) | {p for served in state.served.values() for p in served}
    prices: dict[Pair, Decimal] = {}
    medians: dict[Pair, Decimal] = {}
    for pair in sorted(pairs, key=lambda p: (p.asset, p.quote)):
        got = fresh.get(pair, [])
        if len(got) < guards.min_sources:
            alarms.append(Alarm(AlarmKind.TOO_FEW, pair, None, f"{len(got)} fresh of {guards.min_sources} needed"))
            state.held.pop(pair, None)
            continue
        mid = median([q.percent for q in got])
        medians[pair] = mid
        for q in got:
            if _bps(q.percent, mid) > guards.max_spread_bps:
                alarms.append(Alarm(AlarmKind.DISAGREES, pair, q.source, f"{q.percent} against the median {mid}"))
        last = state.posted.get(pair)
        if last is not None and mid == last:
            state.held.pop(pair, None)
            continue
        if last is not None and _bps(mid, last) > guards.max_jump_bps:
            run = [m for m in state.held.get(pair, []) if _bps(m, mid) <= guards.max_spread_bps] + [mid]
            state.held[pair] = run
            if len(run) < guards.jump_rounds:
                alarms.append(
                    Alarm(AlarmKind.JUMP, pair, None, f"{mid} from {last}: held ({len(run)} of {guards.jump_rounds})")
                )
                continue
        state.held.pop(pair, None)
        prices[pair] = mid
    return Decision(prices=prices, medians=medians, alarms=alarms)
