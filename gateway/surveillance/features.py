"""The anomaly model's features: per trade (size, rate spread to the reference, tenor, haircut, counterparty
novelty, timing, lifecycle) and per member-day so far (count, notional, counterparties). Computed in one pass in time
order from what was known before each trade, so live scoring and training see the same numbers."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from gateway.surveillance.trades import DAY, Trade

FEATURES: tuple[str, ...] = (
    "log_cash",  # size
    "size_z",  # size against the member's own recent history: robust z-score (median, MAD) of log size
    "spread_bps",  # rate minus the operator's reference rate
    "abs_spread_bps",
    "log_tenor_days",
    "haircut_bps",
    "counterparty_novelty",  # 1 for a first trade with this counterparty, 1/(1+n) after n earlier ones
    "hour",  # time of day (UTC)
    "log_idle_hours",  # since the member's previous trade
    "day_trades",  # member-day: trades so far, this one included
    "day_counterparties",  # member-day: distinct counterparties so far
    "day_log_notional",  # member-day: cash so far
    "reversal",  # lifecycle: a trade the other way with the same counterparty and collateral within the hour
)

REVERSAL_SECONDS = 3_600


SIZE_HISTORY = 250  # trades of a member's history its size is compared with


@dataclass
class _Member:
    log_sizes: deque[float] = field(default_factory=lambda: deque(maxlen=SIZE_HISTORY))
    counterparties: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    last_time: int | None = None
    day: int = -1
    day_trades: int = 0
    day_notional: float = 0.0
    day_counterparties: set[str] = field(default_factory=set)

    def size_z(self, log_cash: float) -> float:
        if len(self.log_sizes) < 5:
            return 0.0
        median = statistics.median(self.log_sizes)
        mad = statistics.median(abs(x - median) for x in self.log_sizes)
        return (log_cash - median) / max(1.4826 * mad, 0.05)


@dataclass
class FeatureState:
    """Each member's running history and the last hour of trades; ``row`` scores one trade, then learns it."""

    members: dict[str, _Member] = field(default_factory=lambda: defaultdict(_Member))
    recent: deque[Trade] = field(default_factory=deque)

    def row(self, trade: Trade) -> list[float]:
        m = self.members[trade.member]
        log_cash = math.log10(max(trade.cash, 1.0))
        if m.day != trade.day:
            m.day, m.day_trades, m.day_notional, m.day_counterparties = trade.day, 0, 0.0, set()
        while self.recent and self.recent[0].time < trade.time - REVERSAL_SECONDS:
            self.recent.popleft()
        reversal = any(
            t.seller == trade.buyer and t.buyer == trade.seller and t.collateral == trade.collateral
            for t in self.recent
        )
        idle = (trade.time - m.last_time) / 3_600 if m.last_time is not None else 24.0 * 30
        spread = trade.rate_bps - trade.reference_bps
        row = [
            log_cash,
            m.size_z(log_cash),
            spread,
            abs(spread),
            math.log1p(trade.tenor_days),
            float(trade.haircut_bps),
            1.0 / (1 + m.counterparties.get(trade.counterparty, 0)),
            (trade.time % DAY) / 3_600,
            math.log1p(idle),
            float(m.day_trades + 1),
            float(len(m.day_counterparties | {trade.counterparty})),
            math.log10(max(m.day_notional + trade.cash, 1.0)),
            float(reversal),
        ]
        self._learn(m, trade, log_cash)
        return row

    def _learn(self, m: _Member, trade: Trade, log_cash: float) -> None:
        m.log_sizes.append(log_cash)
        m.counterparties[trade.counterparty] += 1
        m.last_time = trade.time
        m.day_trades += 1
        m.day_notional += trade.cash
        m.day_counterparties.add(trade.counterparty)
        self.recent.append(trade)


def feature_rows(trades: Iterable[Trade], state: FeatureState | None = None) -> dict[str, list[float]]:
    """Feature rows by trade id, computed in time order."""
    state = state if state is not None else FeatureState()
    return {t.trade_id: state.row(t) for t in sorted(trades, key=lambda t: (t.time, t.trade_id))}
